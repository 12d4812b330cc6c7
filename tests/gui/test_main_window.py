"""The window on the demo source: frames arrive with overlays, the editor changes what is shown, files play."""

from __future__ import annotations

import re

import numpy as np
from PySide6.QtCore import Qt

from tests.gui.conftest import qimage_to_array


def shown_pixels(window) -> np.ndarray:  # noqa: ANN001
    """The pixels the view actually painted, inside the frame's rectangle (letterbox excluded)."""
    view = window.view
    rect = view.target_rect().toAlignedRect().adjusted(2, 2, -2, -2)
    return qimage_to_array(view.grab(rect).toImage())


def gray_fraction(pixels: np.ndarray) -> float:
    spread = pixels.max(axis=2).astype(int) - pixels.min(axis=2).astype(int)
    return float(np.mean(spread <= 2))


def test_window_opens_on_demo_with_live_overlays(qtbot, window) -> None:
    assert "demo:" in window.source_bar.label.text()
    assert window.editor.spec().stages[0].stage == "motion"
    # The motion stage finds the drifting tiles within a few frames, and the overlay is drawn on the shown image.
    qtbot.waitUntil(lambda: len(window.last_frame.detections) > 0, timeout=30000)
    frame = window.last_frame
    assert window.view.image().shape == (720, 1280, 3)
    assert not np.array_equal(frame.display, frame.image)
    qtbot.waitUntil(lambda: window.monitor.numbers["fps_out"].text() not in ("-", "0.0"), timeout=10000)
    assert window.monitor.stage_bar_texts()[0][0] == "motion"
    assert re.fullmatch(r"\d+\.\d ms  \(max \d+\.\d\)", window.monitor.stage_bar_texts()[0][1])  # "12.3 ms  (max 15.0)"


def test_adding_grayscale_in_the_editor_turns_the_shown_image_gray(qtbot, window) -> None:
    assert gray_fraction(shown_pixels(window)) < 0.5  # the demo's photos are in colour
    editor = window.editor
    editor.show_picker()
    qtbot.keyClicks(editor.stage_picker.search, "graysc")
    assert editor.stage_picker.visible_ids() == ["grayscale"]
    qtbot.keyClick(editor.stage_picker.search, Qt.Key.Key_Return)
    assert [s.stage for s in editor.spec().stages] == ["motion", "grayscale"]
    # Only the motion overlay (thin coloured boxes) stays in colour.
    qtbot.waitUntil(lambda: gray_fraction(shown_pixels(window)) > 0.9, timeout=20000)


def test_overlay_toggle_shows_the_raw_processed_image(qtbot, window) -> None:
    qtbot.waitUntil(lambda: len(window.last_frame.detections) > 0, timeout=30000)
    window.overlay_action.trigger()
    assert window.view.image() is window.last_frame.image
    window.overlay_action.trigger()
    assert window.view.image() is window.last_frame.display


def test_bad_source_is_one_sentence_in_the_status_bar(window) -> None:
    assert not window.open_source("/no/such/clip.mp4")
    message = window.statusBar().currentMessage()
    assert "not found" in message and "Traceback" not in message
    assert window.session.running  # the demo keeps running


def test_file_playback_pause_seek_step_speed_and_end(qtbot, window, small_clip) -> None:
    assert window.open_source(str(small_clip))  # real time: 40 frames at 20 fps
    assert window.playback.isVisible()
    qtbot.waitUntil(lambda: window.last_frame is not None and window.last_frame.source_id.endswith("small40.mp4"), timeout=20000)
    window.toggle_pause()
    assert window.session.paused
    window.playback.seek.emit(20)
    qtbot.waitUntil(lambda: window.last_frame.index == 20, timeout=10000)
    window.playback.step.emit()
    qtbot.waitUntil(lambda: window.last_frame.index == 21, timeout=10000)
    qtbot.waitUntil(lambda: window.playback.slider.maximum() == 39 and window.playback.slider.value() == 21, timeout=5000)
    # Switching to "as fast as possible" restarts the file where it was, still paused.
    window.playback.speed.setCurrentIndex(1)
    assert window.session.paused and not window.session.realtime and not window.settings.realtime
    window.toggle_pause()
    qtbot.waitUntil(lambda: "End of" in window.statusBar().currentMessage(), timeout=20000)
    assert window.last_frame.index == 39


def test_a_file_that_ended_stays_on_screen_and_seekable(qtbot, window, small_clip) -> None:
    """As in any player: at the end the last frame stays, and the seek bar, step and play still work."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    window.playback.speed.setCurrentIndex(1)  # as fast as possible: the end comes at once
    assert window.open_source(str(small_clip))
    qtbot.waitUntil(lambda: "End of" in window.statusBar().currentMessage(), timeout=20000)
    assert window.last_frame.index == 39 and window.session.running and window.session.at_end
    assert window.view.image() is not None
    slider = window.playback.slider
    qtbot.waitUntil(lambda: slider.isEnabled() and slider.maximum() == 39, timeout=5000)
    slider.setFocus()
    QTest.keyClick(slider, Qt.Key.Key_Home)  # the keyboard's seek to the first frame
    qtbot.waitUntil(lambda: window.last_frame.index == 0, timeout=10000)
    assert window.session.paused and not window.session.at_end
    QTest.mouseClick(window.playback.step_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.last_frame.index == 1, timeout=10000)
    QTest.mouseClick(window.playback.play_button, Qt.MouseButton.LeftButton)  # play from here to the end
    qtbot.waitUntil(lambda: window.session.at_end and window.last_frame.index == 39, timeout=20000)
    # Play at the end plays the whole clip again from the start. Counted in frames processed, not by catching an
    # early frame on screen: at full speed a loaded machine may show frame 39 next, the view keeping only the newest.
    engine = window.session.engine
    before = engine.stats().frames_out
    QTest.mouseClick(window.playback.play_button, Qt.MouseButton.LeftButton)
    # at_end is the engine's; the last frame reaches the view a moment later through the queued signal
    qtbot.waitUntil(lambda: engine.stats().frames_out >= before + 40 and window.session.at_end
                    and window.last_frame.index == 39, timeout=20000)


def test_dead_stream_reports_failure_with_credentials_masked(qtbot, window) -> None:
    assert window.open_source("rtsp://bob:secret@127.0.0.1:9/live")
    assert "secret" not in window.source_bar.label.text() and "***" in window.source_bar.label.text()
    qtbot.waitUntil(lambda: "cannot connect" in window.statusBar().currentMessage(), timeout=20000)
    assert "secret" not in window.statusBar().currentMessage()
    assert window.state_label.text() == "failed"
