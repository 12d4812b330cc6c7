"""Teach projects: a named folder holding a teach set and the model taught from it (GUI-free).

A project is ``<root>/<name>/`` with ``samples/`` (a :class:`~vision_desk.teach.dataset.TeachSet`)
and ``model/`` (the taught model folder :func:`~vision_desk.teach.train.train` writes). The
Teach panel keeps its projects under :func:`~vision_desk.teach.dataset.teach_root`;
retraining a project rewrites the same ``model/`` folder, so a ``classify`` stage
pointing at it picks up the new model. A project is readable by its user only;
:func:`open_project` tightens one that is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vision_desk.errors import VisionDeskError
from vision_desk.private import private_dir, private_tree
from vision_desk.teach.dataset import TeachSet, check_class_name
from vision_desk.teach.model import is_taught_model


@dataclass(frozen=True)
class TeachProject:
    """One project folder: ``samples/`` and ``model/``."""

    folder: Path

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def samples(self) -> TeachSet:
        return TeachSet(self.folder / "samples")

    @property
    def model(self) -> Path:
        return self.folder / "model"

    def has_model(self) -> bool:
        """Whether a complete taught model is in ``model/``."""
        return is_taught_model(self.model)


def list_projects(root: Path) -> list[str]:
    """The project names under ``root``, sorted (hidden folders skipped)."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted((p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")), key=str.casefold)


def create_project(root: Path, name: str) -> TeachProject:
    """Makes the project ``name`` under ``root`` (names follow the class-name rules); one sentence if it exists."""
    try:
        name = check_class_name(name)
    except VisionDeskError:
        raise VisionDeskError(f"'{name.strip()}' cannot name a project; use letters, digits, spaces, '-', '+', '.' "
                              "or '_' (up to 64, starting with a letter or digit).") from None
    folder = Path(root) / name
    if folder.exists():
        raise VisionDeskError(f"a project named '{name}' already exists; open it or choose another name.")
    private_dir(folder / "samples")  # the project folder too
    return TeachProject(folder)


def open_project(root: Path, name: str) -> TeachProject:
    """The project ``name`` under ``root``, its folders and files tightened to the user only (see
    :mod:`vision_desk.private`): a project made by an older Vision Desk, or copied in, may allow more."""
    project = TeachProject(Path(root) / name)
    private_tree(project.folder)
    return project


def rename_class(teach_set: TeachSet, old: str, new: str) -> str:
    """Renames a class (its folder) and returns the new name; one sentence when the name is bad or taken."""
    new = check_class_name(new)
    source, target = teach_set.root / old, teach_set.root / new
    if new == old:
        return new
    if target.exists() and new.casefold() != old.casefold():
        raise VisionDeskError(f"there is already a class named '{new}'; choose another name or delete that class.")
    try:
        source.rename(target)
    except OSError as err:
        raise VisionDeskError(f"could not rename class '{old}' to '{new}' ({err.strerror or type(err).__name__}).") from None
    return new
