"""The app driven as a user drives it (issue 19): real clips, real widgets, QTest mouse and key events.

Each test follows one path a user reported as broken: dragging the seek bar while
paused, a source that fails to open, a pipeline slower than one frame every two
seconds, picking a stage by typing its name, tuning a parameter on a paused frame,
watching a recording grow and adding a heavy stage without the window freezing.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import av
import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QSlider, QStyle, QStyleOptionSlider

from tests.engine.test_engine import SlowStage  # noqa: F401 - registers the 'test_slow' stage
from tests.media import panning_frames, write_clip
from vision_desk.engine.pipeline import PipelineSpec, StageSpec
from vision_desk.gui.loop_probe import INTERVAL_MS
from vision_desk.gui.stage_picker import STAGE_ROLE

#: How long a test waits for the engine to show what it should (generous: the CI machine may be loaded).
WAIT_MS = 30000


def shown_index(window) -> int | None:  # noqa: ANN001
    frame = window._last_frame
    return None if frame is None else frame.index


def open_paused(qtbot, window, clip: Path) -> None:  # noqa: ANN001
    """Opens a clip, waits for its first frames, and pauses it with the Space shortcut."""
    assert window.open_source(str(clip))
    qtbot.waitUntil(lambda: window._last_frame is not None and window._last_frame.source_id.endswith(clip.name),
                    timeout=WAIT_MS)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert window.session.paused
    # the bar knows the clip's length once the first statistics arrive
    qtbot.waitUntil(lambda: window.playback.slider.maximum() > 0, timeout=WAIT_MS)


def handle_centre(slider: QSlider) -> QPoint:
    """Where the slider's handle is drawn, in the slider's coordinates."""
    option = QStyleOptionSlider()
    slider.initStyleOption(option)
    rect = slider.style().subControlRect(QStyle.ComplexControl.CC_Slider, option, QStyle.SubControl.SC_SliderHandle, slider)
    return rect.center()


def wait_still_at(qtbot, window, index: int) -> None:  # noqa: ANN001
    """The paused view shows frame ``index`` and stays there (it does not run on past it)."""
    qtbot.waitUntil(lambda: shown_index(window) == index, timeout=WAIT_MS)
    # The engine is alive (it just showed the frame sought); leftover steps would show the next frames now.
    qtbot.wait(1000)
    assert shown_index(window) == index


# -- 2. seeking while paused --------------------------------------------------------------------------
def test_dragging_the_seek_handle_while_paused_shows_the_frame_released_on(qtbot, window, clip_300) -> None:
    open_paused(qtbot, window, clip_300)
    slider = window.playback.slider
    seeks: list[int] = []
    window.playback.seek.connect(seeks.append)
    start = handle_centre(slider)
    QTest.mousePress(slider, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    assert slider.isSliderDown()
    for step in range(1, 21):  # a drag a third of the way along the bar, in 20 mouse moves
        QTest.mouseMove(slider, start + QPoint(step * slider.width() // 60, 0))
    QTest.mouseRelease(slider, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       start + QPoint(20 * slider.width() // 60, 0))
    target = slider.value()
    assert target > 20
    assert seeks == [target]  # one seek, on release; not one per mouse move
    wait_still_at(qtbot, window, target)
    qtbot.keyClick(window, Qt.Key.Key_Period)  # step: the very next frame
    qtbot.waitUntil(lambda: shown_index(window) == target + 1, timeout=WAIT_MS)


def test_several_quick_seeks_while_paused_show_the_last_one_and_stop_there(qtbot, window, clip_300) -> None:
    open_paused(qtbot, window, clip_300)
    slider = window.playback.slider
    slider.setFocus()
    seeks: list[int] = []
    window.playback.seek.connect(seeks.append)
    for _ in range(5):  # five presses of the right arrow on the seek bar: five seeks, one frame each
        qtbot.keyClick(slider, Qt.Key.Key_Right)
    assert len(seeks) == 5 and seeks[-1] == slider.value()
    wait_still_at(qtbot, window, seeks[-1])


# -- 3. a source that fails says why in the view ---------------------------------------------------------
def corrupt_clip(tmp_path: Path, small_clip: Path) -> str:
    """The first 2 KB of a real MP4 (its index is at the end): a file that cannot be decoded."""
    path = tmp_path / "corrupt.mp4"
    path.write_bytes(small_clip.read_bytes()[:2048])
    return str(path)


@pytest.mark.parametrize("make_uri", [corrupt_clip, lambda tmp_path, small_clip: "rtsp://127.0.0.1:9/live"],
                         ids=["corrupt-mp4", "unreachable-stream"])
def test_a_failed_source_shows_its_error_in_the_view(qtbot, window, tmp_path, small_clip, make_uri) -> None:
    assert window.frames_shown > 0  # the demo was showing frames: the view must not keep them, nor "Opening ..."
    assert window.open_source(make_uri(tmp_path, small_clip))
    assert window.view.message().startswith("Opening ")
    qtbot.waitUntil(lambda: window.state_label.text() == "failed" and not window.session.running, timeout=WAIT_MS)
    error = window.statusBar().currentMessage()
    assert error and "Traceback" not in error and "\n" not in error
    qtbot.waitUntil(lambda: window.view.message() == error, timeout=WAIT_MS)
    assert window.view.image() is None and window._last_frame is None


# -- 4. a pipeline slower than 0.5 fps still has a rate -----------------------------------------------------
def test_fps_out_of_a_pipeline_slower_than_half_a_frame_per_second(qtbot, settings) -> None:
    from vision_desk.gui.main_window import MainWindow

    spec = PipelineSpec("slow", [StageSpec("test_slow", {"ms": 2200})])  # 0.45 fps: below the old 2 s window
    window = MainWindow(settings, "demo:?fps=10", spec)
    qtbot.addWidget(window)
    window.show()
    seen: dict[int, float] = {}  # frame index -> capture time, for each frame the view showed

    def collect() -> int:
        frame = window._last_frame
        if frame is not None:
            seen.setdefault(frame.index, frame.capture_time)
        return len(seen)

    fps_text = window.monitor.numbers["fps_out"]
    pattern = r"1 frame per (\d+\.\d) s"
    qtbot.waitUntil(lambda: collect() >= 3 and re.fullmatch(pattern, fps_text.text()) is not None, timeout=60000)
    seconds = float(re.fullmatch(pattern, fps_text.text()).group(1))
    rate = window.session.last_stats.fps_out
    # one more frame, so the interval the shown rate was measured in is among those seen
    count = len(seen)
    qtbot.waitUntil(lambda: collect() > count, timeout=60000)
    window.close()
    times = sorted(seen.values())
    intervals = [b - a for a, b in zip(times, times[1:])]
    assert min(intervals) * 0.8 <= seconds <= max(intervals) * 1.2, (seconds, intervals)
    assert rate == pytest.approx(1 / seconds, rel=0.1)


# -- 6. typing a stage's name and pressing Enter adds that stage ------------------------------------------
@pytest.mark.parametrize(("typed", "added"), [("blur", "blur"), ("Blur", "blur"), ("sketch", "sketch"),
                                              ("equal", "equalize")])
def test_typing_a_stage_name_and_enter_adds_the_best_match(qtbot, window, typed, added) -> None:
    editor = window.editor
    qtbot.mouseClick(editor.add_button, Qt.MouseButton.LeftButton)  # "Add stage..." opens the picker, search focused
    qtbot.keyClicks(editor.stage_picker.search, typed)
    assert added in editor.stage_picker.visible_ids()
    assert editor.stage_picker.tree.currentItem().data(0, STAGE_ROLE) == added  # highlighted before Enter
    qtbot.keyClick(editor.stage_picker.search, Qt.Key.Key_Return)
    assert [s.stage for s in editor.spec().stages] == ["motion", added]


# -- 7. tuning a parameter on a paused frame ---------------------------------------------------------------
def test_changing_a_parameter_while_paused_redraws_the_paused_frame(qtbot, window, clip_300) -> None:
    window.editor.set_spec(PipelineSpec("black", [StageSpec("threshold", {"value": 255})]))  # every pixel black
    open_paused(qtbot, window, clip_300)
    slider = window.playback.slider
    slider.setFocus()
    qtbot.keyClick(slider, Qt.Key.Key_PageUp)  # a known frame: the engine shows it and stays paused there
    paused_at = slider.value()
    qtbot.waitUntil(lambda: shown_index(window) == paused_at, timeout=WAIT_MS)
    assert window.view.image().mean() < 5
    control = window.editor.panel.controls["value"]
    control.slider.setFocus()
    qtbot.keyClick(control.slider, Qt.Key.Key_Home)  # threshold 0: nearly every pixel white
    assert window.editor.spec().stages[0].params["value"] == 0
    qtbot.waitUntil(lambda: window.view.image().mean() > 200, timeout=WAIT_MS)
    assert window.session.paused and shown_index(window) == paused_at


# -- 7. the recording label tells the recording's size --------------------------------------------------------
REC_LABEL = re.compile(r"REC \d\d:\d\d  ([\d.]+) (B|KB|MB|GB)  \((\d+) frames\)")
UNITS = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}


@pytest.fixture(scope="module")
def clip_720p_5s(media_dir: Path) -> Path:
    """150 frames of 1280x720 at 30 fps: five seconds, keyframes of a recording at 0, 2 and 4 s."""
    return write_clip(media_dir / "pan720-150.mp4", panning_frames(150))


def packet_sizes(path: Path) -> list[int]:
    with av.open(str(path)) as container:
        return [p.size for p in container.demux(video=0) if p.size]


def test_recording_label_size_matches_the_frames_it_counts(qtbot, window, clip_720p_5s) -> None:
    window.editor.set_spec(PipelineSpec("none"))
    assert window.open_source(str(clip_720p_5s))
    qtbot.waitUntil(lambda: window._last_frame is not None and window._last_frame.index >= 1, timeout=WAIT_MS)
    qtbot.keyClick(window, Qt.Key.Key_R)
    sink = window.session.recorder
    # Record about 2.7 s (into the second 2-second fragment of the MP4), then pause: the recording stops growing.
    qtbot.waitUntil(lambda: sink.frames >= 80, timeout=WAIT_MS)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: (m := REC_LABEL.search(window.output.label.text())) is not None and int(m.group(3)) >= 10,
                    timeout=WAIT_MS)
    size, unit, frames = REC_LABEL.search(window.output.label.text()).groups()
    shown = float(size) * UNITS[unit]
    qtbot.keyClick(window, Qt.Key.Key_R)
    qtbot.waitUntil(lambda: not any(t.name == "recorder" and t.is_alive() for t in threading.enumerate()), timeout=WAIT_MS)
    # What those frames take in the finished file (its small MP4 header and fragment headers aside).
    expected = sum(packet_sizes(window.output.last_recording)[: int(frames)])
    assert shown == pytest.approx(expected, rel=0.1), (window.output.label.text(), expected)


# -- heavy stage journey (defect 5) ---------------------------------------------------------------------------
#: Ticks of calm running measured first: at least two seconds (ticks come at most every 20 ms), which hold
#: eight of the window's largest regular task (the monitor's refresh with its plots, every 250 ms).
BASELINE_TICKS = 100
#: The bound on the worst delay while the stage loads, relative to the calm baseline's worst delay measured a
#: moment earlier in the same test (a loaded machine raises both alike). The baseline's maximum, not its p95:
#: the monitor's refresh is about 8% of the ticks, so a p95 lands on it or beside it by chance, while the
#: maximum over its eight repeats is steady. The factor: while a stage loads, the engine thread runs Python
#: too, and the window's handlers get the GIL in turns with it and the capture thread (CPython hands it over
#: every 5 ms), so the same refresh takes several times longer; measured here 2-5x on two cores with other
#: work running. The slack: two timer periods, so a calm baseline of a few ms does not make one ordinary
#: late tick a failure. The freezes this guards against were GIL holds of 200-500 ms (issue 19).
FREEZE_FACTOR = 4
FREEZE_SLACK_MS = 2 * INTERVAL_MS
#: Importing torch and loading MTCNN, then MTCNN's first 720p frame: minutes on a loaded 2-core machine.
HEAVY_WAIT_MS = 240000


def faces_ran(window) -> bool:  # noqa: ANN001
    """The newest frame went through the faces stage."""
    frame = window._last_frame
    return frame is not None and "faces_count" in frame.values


def test_adding_a_heavy_stage_keeps_the_window_responsive(qtbot, window) -> None:
    from vision_desk.gui.preload import preloader

    probe = window.loop_probe
    # As a user looking at the first frames, the test gives the app the time to import torch & co.,
    # which it starts as the first frame shows (gui/preload.py); adding the stage is what must not freeze.
    qtbot.waitUntil(lambda: preloader.done, timeout=HEAVY_WAIT_MS)
    probe.reset()
    qtbot.waitUntil(lambda: probe.ticks >= BASELINE_TICKS, timeout=WAIT_MS)  # the demo through the motion stage
    calm = probe.delays_ms()
    bound = FREEZE_FACTOR * float(calm.max()) + FREEZE_SLACK_MS

    editor = window.editor
    qtbot.mouseClick(editor.add_button, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(editor.stage_picker.search, "faces")
    qtbot.keyClick(editor.stage_picker.search, Qt.Key.Key_Return)
    assert [s.stage for s in editor.spec().stages] == ["motion", "faces"]
    # From here the engine loads the stage. The editor's own work for the Enter (building the stage's controls,
    # 30-50 ms here for any stage, blur as much as faces) has just run and is not part of the load.
    probe.reset()
    qtbot.waitUntil(lambda: faces_ran(window), timeout=HEAVY_WAIT_MS)  # loaded, and its first frame is through
    loading = probe.delays_ms()
    worst = np.sort(loading)[-5:].round().tolist()
    assert loading.max() <= bound, (
        f"the window froze while the faces stage loaded: worst event-loop delays {worst} ms over {len(loading)} "
        f"ticks; bound {bound:.0f} ms = {FREEZE_FACTOR} x the calm baseline's worst {calm.max():.0f} ms "
        f"+ {FREEZE_SLACK_MS} ms (calm p95 {np.percentile(calm, 95):.0f} ms over {len(calm)} ticks)")
    qtbot.waitUntil(lambda: window._last_frame.values.get("faces_count", 0) > 0, timeout=WAIT_MS)  # the demo's faces
