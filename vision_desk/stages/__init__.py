"""Stage families, one module (or sub-package) each; importing them registers the stages.

New families need no edit here: every module in this package is discovered.
"""

from __future__ import annotations

import importlib
import pkgutil

_loaded = False


def load_all() -> None:
    """Imports every stage module once (modules keep heavy imports inside functions)."""
    global _loaded
    if _loaded:
        return
    for info in pkgutil.walk_packages(__path__, prefix=__name__ + "."):
        if not info.name.rsplit(".", 1)[-1].startswith("_"):
            importlib.import_module(info.name)
    _loaded = True
