"""Vision Desk: real-time video vision on the desktop."""

__version__ = "0.1.0"
