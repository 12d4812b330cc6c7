"""Wall layout files: a round trip keeps sources, pipelines and positions; malformed files are one sentence."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from vision_desk.engine.pipeline import PipelineSpec, StageSpec
from vision_desk.gui.layouts import LayoutError, TileSetup, WallSetup, layout_path, load_layout, save_layout

SECRET_URL = "rtsp://bob:s3cret@127.0.0.1:8554/door"


def shop_wall() -> WallSetup:
    """A 2 x 3 wall with three sources (one with credentials), each with its own pipeline, and three empty cells."""
    tiles = [TileSetup() for _ in range(6)]
    tiles[0] = TileSetup("demo:?fps=15", PipelineSpec("motion", [StageSpec("motion", {"min_area": 500})]))
    tiles[4] = TileSetup(SECRET_URL, PipelineSpec("edges", [StageSpec("blur", {"ksize": 5}), StageSpec("canny", {"low": 40},
                                                                                                             enabled=False)]))
    tiles[5] = TileSetup("/videos/yard.mp4", PipelineSpec("gray", [StageSpec("grayscale")]))
    return WallSetup("shop", rows=2, cols=3, tiles=tiles)


def test_a_saved_layout_loads_back_the_same_in_a_file_only_its_owner_reads(private_data_dir: Path) -> None:
    wall = shop_wall()
    path = save_layout(wall)
    assert path == layout_path("shop") and path.parent == private_data_dir / "layouts"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # the password is in it, as typed, to reconnect
    assert SECRET_URL in path.read_text()
    back = load_layout(path)
    assert (back.name, back.rows, back.cols, back.shared) == ("shop", 2, 3, False)
    assert [t.source for t in back.tiles] == [t.source for t in wall.tiles]
    assert [t.spec.as_dict() for t in back.tiles] == [t.spec.as_dict() for t in wall.tiles]


def test_one_pipeline_for_all_is_written_once_and_given_to_every_tile(tmp_path: Path) -> None:
    spec = PipelineSpec("cartoon", [StageSpec("cartoon", {"levels": 6})])
    wall = WallSetup("lab", rows=1, cols=2, shared=True, tiles=[TileSetup("demo:", spec), TileSetup("cam:1", spec)])
    path = save_layout(wall, tmp_path / "lab.yaml")
    assert path.read_text().count("cartoon") == 2  # the pipeline's name and its one stage: written once
    back = load_layout(path)
    assert back.shared and [t.source for t in back.tiles] == ["demo:", "cam:1"]
    assert all(t.spec.as_dict() == spec.as_dict() for t in back.tiles)


BAD_LAYOUTS = [
    ("name: x\nrows: 2\ncols: 2\ntiles:\n  - {row: 2, col: 0, source: 'demo:'}\n",
     "field 'tiles[0]' ", "is at row 2, column 0, outside the 2 x 2 grid"),
    ("name: x\nrows: 2\ncols: 2\ntiles:\n  - {row: 0, col: 0}\n  - {row: 0, col: 0}\n", "field 'tiles[1]' ", "where another tile already is"),
    ("name: x\nrows: 9\ncols: 1\n", "field 'rows' ", "less than or equal to 6 (got 9)"),
    ("name: x\nrows: two\n", "field 'rows' ", "valid integer"),
    ("name: x\ntiles:\n  - {row: 0, col: 0, camera: 1}\n", "field 'tiles[0].camera' ", "is not a layout field"),
    ("name: x\ncolumns: 2\n", "field 'columns' ", "is not a layout field"),
    ("rows: 1\n", "field 'name' ", "is missing"),
    ("name: x\ntiles:\n  - {row: 0, col: 0, source: 'demo:', pipeline: {stages: [{stage: blur, params: {ksize: -3}}]}}\n",
     "field 'tiles[0].pipeline': stage 1 'blur'", "'ksize'"),
    ("name: x\ntiles: [\n", "invalid YAML at line", "syntax"),
    ("- just\n- a list\n", "expected a mapping", "save a wall"),
]


@pytest.mark.parametrize(("text", "where", "why"), BAD_LAYOUTS)
def test_a_malformed_layout_is_one_sentence_naming_the_file_and_the_field(tmp_path: Path, text: str, where: str, why: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(LayoutError) as caught:
        load_layout(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and where in message and why in message, message
    assert "\n" not in message and message.endswith(".") and "Traceback" not in message


def test_a_missing_layout_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(LayoutError, match=r"layout file not found; save a wall with Wall > Save layout"):
        load_layout(tmp_path / "nope.yaml")
