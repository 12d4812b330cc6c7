"""Paths of the files that ship beside the code: ui/, pipelines/, models/manifest/.

In a checkout they are at the repository's top level; in an installed wheel
hatch puts them under ``vision_desk/_data/`` (see pyproject.toml).
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """The folder ``ui``, ``pipelines`` or ``models/manifest``, wherever this install keeps it."""
    for base in (_PACKAGE / "_data", _PACKAGE.parent):
        path = base / name
        if path.is_dir():
            return path
    raise FileNotFoundError(f"Vision Desk's {name}/ folder is missing from {_PACKAGE}; reinstall the package.")


def pipelines_dir() -> Path:
    return resource_dir("pipelines")


def ui_dir() -> Path:
    return resource_dir("ui")
