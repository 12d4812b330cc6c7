"""Output controls: record on/off (elapsed time and size), snapshot to PNG, export results to JSONL."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QWidget

from vision_desk.errors import VisionDeskError
from vision_desk.gui.session import EngineSession
from vision_desk.gui.settings import Settings


def stamp() -> str:
    return datetime.now().strftime("%Y%m%d-%H%M%S")


def human_size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


class OutputControls(QObject):
    """The record, snapshot and export actions and the recording label for the status bar.

    Args:
        session: the engine session the sinks are attached to.
        settings: where files go and whether recordings carry overlays.
        shown_image: returns the image currently shown (for snapshots), or None.

    Signals:
        message(str): where a file went, or why it did not.
    """

    message = Signal(str)

    def __init__(self, session: EngineSession, settings: Settings, shown_image: Callable[[], np.ndarray | None],
                 parent: QWidget) -> None:
        super().__init__(parent)
        self.session = session
        self.settings = settings
        self.shown_image = shown_image
        self.record_action = QAction("Record", parent, checkable=True, shortcut=QKeySequence("R"))
        self.record_action.setToolTip("Start or stop recording an H.264 MP4 to the output folder (R)")
        self.record_action.toggled.connect(self._on_record)
        self.snapshot_action = QAction("Snapshot", parent, shortcut=QKeySequence("S"))
        self.snapshot_action.setToolTip("Save the shown frame as PNG in the output folder (S)")
        self.snapshot_action.triggered.connect(self.snapshot)
        self.export_action = QAction("Export JSONL", parent, checkable=True)
        self.export_action.setToolTip("Write every frame's results as JSON Lines to the output folder")
        self.export_action.toggled.connect(self._on_export)
        self.label = QLabel()
        self.label.setObjectName("recordLabel")
        self.label.hide()
        self.last_recording: Path | None = None
        self.last_snapshot: Path | None = None
        self.last_export: Path | None = None
        session.recording_changed.connect(lambda on: self._sync(self.record_action, on))
        session.exporting_changed.connect(lambda on: self._sync(self.export_action, on))
        self._timer = QTimer(self)
        self._timer.setInterval(500)
        self._timer.timeout.connect(self._update_label)

    def _sync(self, action: QAction, on: bool) -> None:
        """Reflects a sink that started or stopped on its own (the source ended, the engine was replaced)."""
        if action.isChecked() != on:
            action.blockSignals(True)
            action.setChecked(on)
            action.blockSignals(False)
            if action is self.record_action and not on and self._timer.isActive():
                self._recording_stopped()
        self._update_label()

    def _output_dir(self) -> Path:
        folder = self.settings.output_dir
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _on_record(self, on: bool) -> None:
        if on:
            try:
                path = self._output_dir() / f"vision-desk-{stamp()}.mp4"
                ok = self.session.start_recording(path, self.settings.record_annotated)
            except (OSError, VisionDeskError) as err:
                ok, path = False, None
                self.message.emit(f"Cannot record: {err}")
            if not ok:
                self._sync(self.record_action, False)
                if path is not None:
                    self.message.emit("Nothing to record: open a source first.")
                return
            self.last_recording = path
            self._timer.start()
            self.message.emit(f"Recording to {path}.")
        else:
            self.session.stop_recording()
            self._recording_stopped()
        self._update_label()

    def _recording_stopped(self) -> None:
        self._timer.stop()
        if self.last_recording is not None:
            self.message.emit(f"Recording saved to {self.last_recording}.")

    def _on_export(self, on: bool) -> None:
        if on:
            try:
                path = self._output_dir() / f"vision-desk-{stamp()}.jsonl"
                ok = self.session.start_export(path)
            except OSError as err:
                ok, path = False, None
                self.message.emit(f"Cannot export: {err.strerror or err}.")
            if not ok:
                self._sync(self.export_action, False)
                return
            self.last_export = path
            self.message.emit(f"Exporting results to {path}.")
        else:
            path = self.session.stop_export()
            if path is not None:
                self.message.emit(f"Results saved to {path}.")

    def snapshot(self) -> Path | None:
        image = self.shown_image()
        if image is None:
            self.message.emit("No frame to save yet.")
            return None
        try:
            path = self._output_dir() / f"snapshot-{stamp()}-{int(time.time() * 1000) % 1000:03d}.png"
            if not cv2.imwrite(str(path), image):
                raise OSError("the image could not be written")
        except OSError as err:
            self.message.emit(f"Cannot save the snapshot: {err.strerror or err}.")
            return None
        self.last_snapshot = path
        self.message.emit(f"Snapshot saved to {path}.")
        return path

    def _update_label(self) -> None:
        sink = self.session.recorder
        if sink is None:
            self.label.hide()
            return
        elapsed = int(time.monotonic() - self.session.record_started)
        # what the recording holds, not the file's size on disk, which lags by up to a two-second fragment
        frames, size = sink.recorded()
        self.label.setText(f"\u25cf REC {elapsed // 60:02d}:{elapsed % 60:02d}  {human_size(size)}  ({frames} frames)")
        self.label.show()
