"""Recording, snapshots and export from the window, and a clean shutdown that leaves no threads."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import av
import cv2
from PySide6.QtCore import Qt

from tests.gui.conftest import worker_threads


def decoded_frames(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def recorder_running() -> bool:
    return any(t.name == "recorder" and t.is_alive() for t in threading.enumerate())


def test_record_shortcut_produces_a_playable_mp4(qtbot, window) -> None:
    qtbot.keyClick(window, Qt.Key.Key_R)
    assert window.output.record_action.isChecked()
    sink = window.session.recorder
    qtbot.waitUntil(lambda: sink.frames >= 8, timeout=30000)
    qtbot.waitUntil(lambda: window.output.label.isVisible() and "REC" in window.output.label.text(), timeout=5000)
    qtbot.keyClick(window, Qt.Key.Key_R)
    assert not window.output.record_action.isChecked()
    qtbot.waitUntil(lambda: not recorder_running(), timeout=20000)  # the engine thread finalised the file
    path = window.output.last_recording
    assert path.parent == window.settings.output_dir and path.suffix == ".mp4"
    assert decoded_frames(path) == sink.frames >= 8
    assert "Recording saved" in window.statusBar().currentMessage()


def test_snapshot_and_jsonl_export(qtbot, window) -> None:
    qtbot.keyClick(window, Qt.Key.Key_S)
    shot = window.output.last_snapshot
    image = cv2.imread(str(shot))
    assert image is not None and image.shape == window.view.image().shape
    window.output.export_action.trigger()
    sink = window.session.exporter
    qtbot.waitUntil(lambda: sink.lines >= 3, timeout=30000)
    window.output.export_action.trigger()
    qtbot.waitUntil(lambda: sink._file.closed, timeout=10000)
    records = [json.loads(line) for line in window.output.last_export.read_text().splitlines()]
    assert len(records) >= 3 and {"frame", "time", "objects", "values"} <= set(records[0])
    assert "motion_count" in records[-1]["values"]


def test_closing_while_recording_finalises_and_leaves_no_threads(qtbot, settings) -> None:
    from vision_desk.gui.app import default_spec
    from vision_desk.gui.main_window import MainWindow

    before = set(worker_threads())
    window = MainWindow(settings, "demo:?fps=15", default_spec())
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.frames_shown >= 2, timeout=30000)
    window.open_source("demo:?fps=20")  # the replaced engine winds down in the background
    window.output.record_action.trigger()
    window.output.export_action.trigger()
    sink = window.session.recorder
    qtbot.waitUntil(lambda: sink.frames >= 5, timeout=30000)
    assert worker_threads()
    window.close()
    assert set(worker_threads()) - before == set()
    assert decoded_frames(window.output.last_recording) == sink.frames
    assert window.settings.window_state()[0] is not None  # geometry remembered
