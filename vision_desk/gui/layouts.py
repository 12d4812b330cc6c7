"""Named wall layouts: the grid, each tile's source and pipeline, saved as YAML in the user data folder.

A layout file is a :class:`LayoutFile` (pydantic) with each pipeline written as
in a pipeline file, so one layout carries everything a wall needs. Sources are
kept as the user typed them, credentials included, because reopening a camera
needs them: the file is written readable by its owner only (0600) and the app
shows sources masked. Nothing here imports Qt: a layout can be read and checked
without a display.
"""

from __future__ import annotations

import copy
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from vision_desk.config_files import read_yaml
from vision_desk.engine.pipeline import PipelineSpec, spec_from_dict
from vision_desk.errors import PipelineError, VisionDeskError

#: The most rows or columns a wall has (36 tiles is already more engines than a desktop runs well).
MAX_SIDE = 6
LAYOUT_SUFFIX = ".yaml"


class LayoutError(VisionDeskError):
    """A layout file is missing, unreadable or malformed."""


@dataclass
class TileSetup:
    """One tile: the source as typed ('' for an empty tile) and the pipeline it runs."""

    source: str = ""
    spec: PipelineSpec = field(default_factory=lambda: PipelineSpec("none"))


@dataclass
class WallSetup:
    """A whole wall: its grid, whether one pipeline serves all tiles, and the tiles row by row."""

    name: str
    rows: int = 1
    cols: int = 1
    shared: bool = False
    tiles: list[TileSetup] = field(default_factory=list)  # row-major, rows * cols of them


class TileEntry(BaseModel):
    """A tile as written in a layout file."""

    model_config = ConfigDict(extra="forbid")
    row: int = Field(ge=0)
    col: int = Field(ge=0)
    source: str = ""
    pipeline: dict[str, Any] | None = None


class LayoutFile(BaseModel):
    """A layout file: ``name``, ``rows``, ``cols``, ``shared_pipeline`` (+ ``pipeline``) and ``tiles``."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    rows: int = Field(1, ge=1, le=MAX_SIDE)
    cols: int = Field(1, ge=1, le=MAX_SIDE)
    shared_pipeline: bool = False
    pipeline: dict[str, Any] | None = None
    tiles: list[TileEntry] = Field(default_factory=list)

    @model_validator(mode="after")
    def _tiles_fit(self) -> "LayoutFile":
        seen: set[tuple[int, int]] = set()
        for i, tile in enumerate(self.tiles):
            if tile.row >= self.rows or tile.col >= self.cols:
                raise ValueError(f"field 'tiles[{i}]' is at row {tile.row}, column {tile.col}, outside the "
                                 f"{self.rows} x {self.cols} grid (rows and columns count from 0)")
            if (tile.row, tile.col) in seen:
                raise ValueError(f"field 'tiles[{i}]' is at row {tile.row}, column {tile.col}, where another tile already is")
            seen.add((tile.row, tile.col))
        return self


def layouts_dir() -> Path:
    """``layouts/`` in the user data folder (``VISION_DESK_DATA`` overrides the folder), private to the user."""
    from vision_desk.weights import data_dir

    folder = data_dir() / "layouts"
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    return folder


def layout_path(name: str) -> Path:
    """Where the layout called ``name`` is saved: its name made safe for a file name."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")[:80] or "layout"
    return layouts_dir() / f"{stem}{LAYOUT_SUFFIX}"


def _field(loc: tuple) -> str:
    """A pydantic location as written in the file: ``tiles[1].row``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text


def _sentence(path: Path, err: ValidationError) -> str:
    first = err.errors()[0]
    where = _field(first["loc"])
    msg = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        msg = "is not a layout field (allowed: name, rows, cols, shared_pipeline, pipeline, tiles; a tile has row, col, " \
              "source, pipeline)"
    elif first["type"] == "missing":
        msg = "is missing"
    elif where:
        got = first.get("input")
        msg = msg.replace("Input should", "should", 1)
        msg = f"{msg[0].lower() + msg[1:]}" + ("" if isinstance(got, (dict, list)) else f" (got {got!r})")
    field_text = f"field '{where}' " if where else ""
    return f"{path}: {field_text}{msg}; fix the file or save the layout again from the app."


def load_layout(path: str | Path) -> WallSetup:
    """Reads and checks a layout file; every problem is one sentence naming the file and the field."""
    path = Path(path)
    if not path.is_file():
        raise LayoutError(f"{path}: layout file not found; save a wall with Wall > Save layout... first.")
    data = read_yaml(path, "layout", LayoutError)
    if not isinstance(data, dict):
        raise LayoutError(f"{path}: expected a mapping with name, rows, cols and tiles; save a wall from the app to see one.")
    try:
        layout = LayoutFile.model_validate(data)
    except ValidationError as err:
        raise LayoutError(_sentence(path, err)) from None
    try:
        shared = spec_from_dict(layout.pipeline, f"{path}: field 'pipeline'") if layout.pipeline else PipelineSpec("none")
        tiles = [TileSetup(spec=copy.deepcopy(shared)) for _ in range(layout.rows * layout.cols)]
        for i, entry in enumerate(layout.tiles):
            spec = copy.deepcopy(shared)
            if not layout.shared_pipeline and entry.pipeline is not None:
                spec = spec_from_dict(entry.pipeline, f"{path}: field 'tiles[{i}].pipeline'")
            tiles[entry.row * layout.cols + entry.col] = TileSetup(entry.source.strip(), spec)
    except PipelineError as err:  # already one sentence naming the file, the field, the stage and the parameter
        raise LayoutError(str(err)) from None
    return WallSetup(layout.name, layout.rows, layout.cols, layout.shared_pipeline, tiles)


def layout_dict(setup: WallSetup) -> dict[str, Any]:
    """The file's content for a wall: every tile with a source, and each pipeline (or the shared one once)."""
    tiles = []
    for i, tile in enumerate(setup.tiles):
        if not tile.source and (setup.shared or not tile.spec.stages):
            continue  # an empty cell with nothing to remember
        entry: dict[str, Any] = {"row": i // setup.cols, "col": i % setup.cols, "source": tile.source}
        if not setup.shared:
            entry["pipeline"] = tile.spec.as_dict()
        tiles.append(entry)
    data: dict[str, Any] = {"name": setup.name, "rows": setup.rows, "cols": setup.cols, "shared_pipeline": setup.shared}
    if setup.shared and setup.tiles:
        data["pipeline"] = setup.tiles[0].spec.as_dict()
    data["tiles"] = tiles
    return LayoutFile.model_validate(data).model_dump(exclude_none=True)


def save_layout(setup: WallSetup, path: str | Path | None = None) -> Path:
    """Writes the layout (to the layouts folder under its name unless ``path`` is given), readable by the user only.

    Written to a private temporary file and renamed over the old one, so a crash
    never leaves half a layout, and the credentials in it are never readable by others.
    """
    path = Path(path) if path is not None else layout_path(setup.name)
    text = "# A Vision Desk wall layout. Sources are kept as typed (passwords too): keep this file private.\n"
    text += yaml.safe_dump(layout_dict(setup), sort_keys=False, allow_unicode=True)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".tmp", dir=path.parent)  # mode 0600
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except OSError as err:
        raise LayoutError(f"cannot save the layout to {path}: {err.strerror or err}.") from None
    return path
