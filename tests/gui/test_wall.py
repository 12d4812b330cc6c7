"""The wall: each tile paints its own source through its own pipeline, focus retargets the window, layouts, isolation."""

from __future__ import annotations

import re
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests.gui.conftest import qimage_to_array, worker_threads
from tests.media import write_clip
from vision_desk.engine.pipeline import PipelineSpec, StageSpec

#: One solid colour per clip (BGR), saturated enough to tell apart, not so much that H.264 clips them.
COLOURS = [(40, 40, 200), (40, 190, 40), (200, 60, 40), (40, 200, 210)]
#: The pipeline each tile of the 2 x 2 wall runs: tile 2 turns its source gray.
PIPELINES = [PipelineSpec("none"), PipelineSpec("gray", [StageSpec("grayscale")]), PipelineSpec("none"),
             PipelineSpec("blur", [StageSpec("blur", {"ksize": 3})])]
TOLERANCE = 20  # levels: H.264's 4:2:0 colour round trip moves a solid colour by a few


@pytest.fixture(scope="session")
def colour_clips(media_dir: Path) -> list[Path]:
    """Four 20 s clips (15 fps, 96x64), each one solid colour."""
    return [write_clip(media_dir / f"solid{i}.mp4", [np.full((64, 96, 3), c, np.uint8)] * 300, fps=15.0)
            for i, c in enumerate(COLOURS)]


def expected_rgb(i: int, gray: bool = False) -> np.ndarray:
    bgr = np.array([[COLOURS[i]]], np.uint8)
    if gray:
        bgr = cv2.cvtColor(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    return bgr[0, 0, ::-1].astype(int)


def painted_rgb(tile) -> np.ndarray:  # noqa: ANN001 - WallTile
    """The median colour the tile's view painted inside the frame's rectangle (letterbox excluded)."""
    view = tile.view
    rect = view.target_rect().toAlignedRect().adjusted(3, 3, -3, -3)
    if rect.width() <= 0 or rect.height() <= 0:
        return np.full(3, -999)
    return np.median(qimage_to_array(view.grab(rect).toImage()).reshape(-1, 3), axis=0).astype(int)


def cell_rgb(wall, row: int, col: int) -> np.ndarray:  # noqa: ANN001 - Wall
    """The median colour at the centre of a grid cell in a picture of the whole wall: where the tile stands counts."""
    image = qimage_to_array(wall.grab().toImage())
    h, w = image.shape[:2]
    y, x = int(h * (row + 0.5) / wall.rows), int(w * (col + 0.5) / wall.cols)
    return np.median(image[y - 5:y + 5, x - 5:x + 5].reshape(-1, 3), axis=0).astype(int)


def paints(tile, rgb: np.ndarray) -> bool:  # noqa: ANN001
    return bool(np.all(np.abs(painted_rgb(tile) - rgb) <= TOLERANCE))


def click(qtbot, tile) -> None:  # noqa: ANN001
    qtbot.mouseClick(tile.view, Qt.MouseButton.LeftButton)


@pytest.fixture
def wall_window(qtbot, settings, colour_clips):  # noqa: ANN001, ANN201
    """A 2 x 2 wall built as a user does: grid, then per tile a click, a pipeline and a source."""
    from vision_desk.gui.main_window import MainWindow

    w = MainWindow(settings, str(colour_clips[0]), PipelineSpec("none"))
    qtbot.addWidget(w)
    w.show()
    w.set_grid(2, 2)
    for i, tile in enumerate(w.wall.tiles):
        click(qtbot, tile)
        assert w.tile is tile
        w.editor.set_spec(PIPELINES[i])
        if i:
            assert w.open_source(str(colour_clips[i]))
    qtbot.waitUntil(lambda: all(t.frames_shown >= 2 for t in w.wall.tiles), timeout=30000)
    yield w
    w.close()


def test_each_tile_paints_its_own_source_through_its_own_pipeline(qtbot, wall_window) -> None:
    tiles = wall_window.wall.tiles
    assert [wall_window.wall.position(t) for t in tiles] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    qtbot.waitUntil(lambda: all(paints(t, expected_rgb(i, gray=i == 1)) for i, t in enumerate(tiles)), timeout=20000)
    for i, (row, col) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
        assert np.all(np.abs(cell_rgb(wall_window.wall, row, col) - expected_rgb(i, gray=i == 1)) <= TOLERANCE)
    qtbot.waitUntil(lambda: all(re.search(r"running · [\d.]+ fps · \d+ ms", t.caption_text()) for t in tiles), timeout=10000)
    assert "solid2.mp4" in tiles[2].caption_text()


def test_clicking_a_tile_points_the_editor_record_and_snapshot_at_it(qtbot, wall_window) -> None:
    window, tiles = wall_window, wall_window.wall.tiles
    click(qtbot, tiles[2])
    assert window.tile is tiles[2] and window.session is tiles[2].session
    assert window.editor.spec().stages == [] and window.editor.pipeline is tiles[2].pipeline
    assert "solid2.mp4" in window.source_bar.label.text()
    window.editor.add_stage("grayscale")  # edits the focused tile's pipeline only
    qtbot.waitUntil(lambda: paints(tiles[2], expected_rgb(2, gray=True)), timeout=20000)
    assert paints(tiles[0], expected_rgb(0)) and paints(tiles[3], expected_rgb(3))

    click(qtbot, tiles[3])
    assert [s.stage for s in window.editor.spec().stages] == ["blur"] and window.editor.pipeline is tiles[3].pipeline
    click(qtbot, tiles[2])  # the edit made while it was focused is still its pipeline
    assert [s.stage for s in window.editor.spec().stages] == ["grayscale"]

    qtbot.keyClick(window, Qt.Key.Key_R)
    assert tiles[2].session.recorder is not None and all(t.session.recorder is None for t in tiles if t is not tiles[2])
    assert window.output.last_recording.name.startswith("solid2-")
    qtbot.keyClick(window, Qt.Key.Key_R)
    qtbot.keyClick(window, Qt.Key.Key_S)
    shot = cv2.imread(str(window.output.last_snapshot))
    assert window.output.last_snapshot.name.startswith("solid2-") and shot.shape == (64, 96, 3)
    assert np.all(np.abs(np.median(shot.reshape(-1, 3), axis=0)[::-1] - expected_rgb(2, gray=True)) <= TOLERANCE)


def test_the_teach_capture_region_is_drawn_on_the_focused_tile_and_follows_the_focus(qtbot, wall_window, data_dir) -> None:
    window, tiles = wall_window, wall_window.wall.tiles
    window.teach_action.trigger()
    panel = window.teach
    qtbot.waitUntil(panel.capture.isVisible, timeout=10000)
    assert panel.new_project("tiles") and panel.classes.add("red")
    click(qtbot, tiles[1])
    panel.capture.set_mode("region")  # with a frame on screen, choosing the mode starts the pick on the focused tile
    assert tiles[1].view.picking == "rect"
    window.wall.cancel_pick()
    panel.capture.set_region((0.25, 0.25, 0.5, 0.5))
    assert [t.view.guide() for t in tiles] == [None, ((0.25, 0.25, 0.5, 0.5), "capture"), None, None]

    def amber_on_left_edge(tile) -> bool:  # noqa: ANN001 - the solid clips have no amber: each is far from it
        view = tile.view
        centre = view.to_widget((0.25 * 96, 0.5 * 64)).toPoint()
        patch = qimage_to_array(view.grab().toImage())[centre.y() - 3:centre.y() + 4, centre.x() - 3:centre.x() + 4]
        r, g, b = (patch[..., i].astype(int) for i in range(3))
        return bool(np.any((r > 240) & (g > 170) & (g < 230) & (b < 25)))

    assert amber_on_left_edge(tiles[1]) and not amber_on_left_edge(tiles[0])
    click(qtbot, tiles[3])  # captures now come from tile 3: so does the region drawn
    assert [t.view.guide() is not None for t in tiles] == [False, False, False, True]
    assert amber_on_left_edge(tiles[3]) and not amber_on_left_edge(tiles[1])
    window.teach_dock.hide()  # no capture controls on screen, no region over the video
    assert all(t.view.guide() is None for t in tiles)


def test_one_pipeline_for_all_tiles_takes_every_edit(qtbot, wall_window) -> None:
    window, tiles = wall_window, wall_window.wall.tiles
    click(qtbot, tiles[0])
    window.wall_menu.shared_action.trigger()
    assert window.wall.shared
    window.editor.add_stage("grayscale")
    qtbot.waitUntil(lambda: all(paints(t, expected_rgb(i, gray=True)) for i, t in enumerate(tiles)), timeout=20000)
    assert len({id(t.pipeline) for t in tiles}) == 4  # one chain, but each tile keeps its own pipeline (trackers, counters)
    click(qtbot, tiles[3])
    assert [s.stage for s in window.editor.spec().stages] == ["grayscale"]


def test_a_layout_saved_and_reopened_gives_the_same_sources_pipelines_and_positions(qtbot, wall_window, colour_clips) -> None:
    window, wall = wall_window, wall_window.wall
    click(qtbot, wall.tiles[1])
    assert window.wall_menu.save_layout("four clips").name == "four-clips.yaml"
    window.store_specs()
    saved = [(wall.position(t), t.source, t.spec.as_dict()) for t in wall.tiles]
    window.wall_menu.grid_actions[(1, 1)].trigger()  # Wall > Single view: three tiles stop, the first keeps running
    window.open_source(str(colour_clips[3]))
    assert len(wall.tiles) == 1

    window.wall_menu._fill_recent()
    recent = [a for a in window.wall_menu.recent_menu.actions() if a.text() == "four-clips"]
    recent[0].trigger()  # File > Wall > Recent layouts > four-clips
    assert (wall.rows, wall.cols) == (2, 2) and window.statusBar().currentMessage() == "Opened layout 'four clips'."
    window.store_specs()
    assert [(wall.position(t), t.source, t.spec.as_dict()) for t in wall.tiles] == saved
    qtbot.waitUntil(lambda: all(paints(t, expected_rgb(i, gray=i == 1)) for i, t in enumerate(wall.tiles)), timeout=20000)


def test_a_malformed_layout_is_one_sentence_and_the_wall_stays(qtbot, wall_window, tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nrows: 2\ncols: 2\ntiles:\n  - {row: 0, col: 5, source: 'demo:'}\n")
    assert not wall_window.wall_menu.open_layout(bad)
    message = wall_window.statusBar().currentMessage()
    assert message == (f"{bad}: field 'tiles[0]' is at row 0, column 5, outside the 2 x 2 grid (rows and columns count "
                       "from 0); fix the file or save the layout again from the app.")
    assert all(t.session.running for t in wall_window.wall.tiles)


def test_a_failed_source_shows_its_masked_state_while_the_others_keep_playing(qtbot, settings, colour_clips) -> None:
    from vision_desk.gui.main_window import MainWindow

    window = MainWindow(settings, str(colour_clips[0]), PipelineSpec("none"))
    qtbot.addWidget(window)
    window.show()
    window.set_grid(1, 2)
    good, bad = window.wall.tiles
    click(qtbot, bad)
    assert window.open_source("rtsp://bob:secret@127.0.0.1:9/live")
    qtbot.waitUntil(lambda: bad.state() == "failed", timeout=30000)
    shown = good.frames_shown
    qtbot.waitUntil(lambda: good.frames_shown >= shown + 10, timeout=20000)
    for text in (bad.caption_text(), bad.view.message(), window.statusBar().currentMessage()):
        assert "***:***@127.0.0.1:9" in text and "secret" not in text and "bob" not in text, text
    assert "failed" in bad.caption_text() and "running" in good.caption_text()
    window.close()


def test_double_click_shows_one_tile_alone_and_esc_brings_the_wall_back(qtbot, wall_window) -> None:
    window, tiles = wall_window, wall_window.wall.tiles
    qtbot.mouseDClick(tiles[3].view, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.isFullScreen(), timeout=5000)
    assert window.tile is tiles[3] and [t.isVisible() for t in tiles] == [False, False, False, True]
    qtbot.waitUntil(lambda: tiles[3].width() > window.wall.width() * 0.9 and tiles[3].height() > window.wall.height() * 0.9,
                    timeout=5000)  # the whole wall, once the layout has run
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not window.isFullScreen(), timeout=5000)
    assert all(t.isVisible() for t in tiles)


def test_record_all_names_each_file_after_its_source_and_closing_finalises_them_and_leaves_no_thread(
        qtbot, settings, colour_clips) -> None:
    from vision_desk.gui.main_window import MainWindow

    before = set(worker_threads())
    window = MainWindow(settings, str(colour_clips[0]), PipelineSpec("none"))
    qtbot.addWidget(window)
    window.show()
    window.set_grid(1, 3)
    for tile, clip in zip(window.wall.tiles[1:], (colour_clips[1], "rtsp://bob:secret@127.0.0.1:9/live")):
        click(qtbot, tile)
        window.open_source(str(clip))
    qtbot.waitUntil(lambda: window.wall.tiles[2].state() == "failed", timeout=30000)
    window.output.record_all_action.trigger()  # the tiles that run: the failed one has nothing to record
    sinks = [t.session.recorder for t in window.wall.tiles[:2]]
    assert all(sinks) and window.output.record_all_action.isChecked()
    qtbot.waitUntil(lambda: all(s.frames >= 5 for s in sinks), timeout=30000)
    window.close()
    qtbot.waitUntil(lambda: not set(worker_threads()) - before, timeout=10000)
    paths = sorted(window.settings.output_dir.glob("*.mp4"))
    assert [p.name.split("-")[0] for p in paths][:2] == ["solid0", "solid1"]
    for sink in sinks:
        with av.open(str(sink.path)) as container:
            assert sum(1 for _ in container.decode(video=0)) == sink.frames


def test_a_pipeline_files_source_key_opens_its_source(qtbot, window, colour_clips) -> None:
    preset = colour_clips[2].parent / "with-source.yaml"
    PipelineSpec("gray", [StageSpec("grayscale")], source=colour_clips[2].name).save(preset)  # relative to the file
    assert window.editor.load_file(preset)
    assert window.session.uri == str(colour_clips[2])
    qtbot.waitUntil(lambda: paints(window.tile, expected_rgb(2, gray=True)), timeout=20000)
