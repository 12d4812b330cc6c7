"""Stage families, one module (or sub-package) each; importing them registers the stages.

New families need no edit here: every module in this package is discovered.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

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


def load_declaring(stage_id: str) -> None:
    """Imports only the modules whose source declares ``id = "<stage_id>"``.

    Importing all ~60 stage modules (each with its parameter models) takes about 0.3 s;
    a command-line run of a two-stage pipeline needs two modules. The search is
    on the source text, so nothing is imported to find them; a stage it misses
    (an id given by a constant) is found by :func:`load_all`.
    """
    root = Path(__file__).parent
    declares = re.compile(rf"""^\s+id\s*=\s*["']{re.escape(stage_id)}["']""", re.M)
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if any(part.startswith("_") for part in parts):
            continue
        if declares.search(path.read_text(encoding="utf-8")):
            importlib.import_module(".".join((__name__, *parts)))
