"""CLI sub-commands: each module defines ``register(subparsers)`` and optionally ``ORDER``."""
