"""Output controls: record the focused tile or all tiles (elapsed time and size), snapshot to PNG, export to JSONL.

Files are named after their source, credentials left out (``cam1-stream-20261201-101500.mp4``).
"""

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

from vision_desk.engine.uri import source_stem
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
    """The record, record-all, snapshot and export actions and the recording label for the status bar.

    Args:
        settings: where files go and whether recordings carry overlays.
        current: the session of the focused tile (record, snapshot and export act on it).
        everyone: the sessions of every tile (record all).
        shown_image: returns the image the focused tile shows (for snapshots), or None.

    Signals:
        message(str): where a file went, or why it did not.
    """

    message = Signal(str)

    def __init__(self, settings: Settings, current: Callable[[], EngineSession], everyone: Callable[[], list[EngineSession]],
                 shown_image: Callable[[], np.ndarray | None], parent: QWidget) -> None:
        super().__init__(parent)
        self.settings = settings
        self.current = current
        self.everyone = everyone
        self.shown_image = shown_image
        self.record_action = QAction("Record", parent, checkable=True, shortcut=QKeySequence("R"))
        self.record_action.setToolTip("Start or stop recording the focused tile as an H.264 MP4 in the output folder (R)")
        self.record_action.toggled.connect(self._on_record)
        self.record_all_action = QAction("Record all", parent, checkable=True, shortcut=QKeySequence("Shift+R"))
        self.record_all_action.setToolTip("Start or stop recording every tile, each to its own MP4 named after its source (Shift+R)")
        self.record_all_action.toggled.connect(self._on_record_all)
        self.snapshot_action = QAction("Snapshot", parent, shortcut=QKeySequence("S"))
        self.snapshot_action.setToolTip("Save the focused tile's frame as PNG in the output folder (S)")
        self.snapshot_action.triggered.connect(self.snapshot)
        self.export_action = QAction("Export JSONL", parent, checkable=True)
        self.export_action.setToolTip("Write every frame's results of the focused tile as JSON Lines to the output folder")
        self.export_action.toggled.connect(self._on_export)
        self.label = QLabel()
        self.label.setObjectName("recordLabel")
        self.label.hide()
        self.last_recording: Path | None = None
        self.last_recordings: list[Path] = []
        self.last_snapshot: Path | None = None
        self.last_export: Path | None = None
        self._recordings: dict[EngineSession, Path] = {}
        self._timer = QTimer(self)
        self._timer.setInterval(500)
        self._timer.timeout.connect(self._update_label)

    def watch(self, session: EngineSession) -> None:
        """Follows a tile's sinks that start or stop on their own (the source ended, the engine was replaced)."""
        session.recording_changed.connect(lambda on, s=session: self._recording_changed(s, on))
        session.exporting_changed.connect(lambda _on: self.refresh())

    def refresh(self) -> None:
        """Shows the focused tile's sinks on the actions (the focus moved, or a sink started or stopped)."""
        current = self.current()
        running = [s for s in self.everyone() if s.running]
        for action, on in ((self.record_action, current.recorder is not None),
                           (self.export_action, current.exporter is not None),
                           (self.record_all_action, bool(running) and all(s.recorder is not None for s in running))):
            if action.isChecked() != on:
                action.blockSignals(True)
                action.setChecked(on)
                action.blockSignals(False)
        self._update_label()

    def _recording_changed(self, session: EngineSession, on: bool) -> None:
        path = None if on else self._recordings.pop(session, None)
        if path is not None:
            self.message.emit(f"Recording saved to {path}.")
        self.refresh()

    def _output_dir(self) -> Path:
        folder = self.settings.output_dir
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _named(self, session: EngineSession, suffix: str) -> Path:
        """A new file in the output folder named after the session's source; -2, -3 ... when two tiles share a source."""
        base = f"{source_stem(session.uri)}-{stamp()}"
        taken = {p.name for p in self._recordings.values()}
        path, n = self._output_dir() / f"{base}{suffix}", 1
        while path.exists() or path.name in taken:
            n += 1
            path = path.with_name(f"{base}-{n}{suffix}")
        return path

    def _record(self, session: EngineSession) -> Path | None:
        """Starts recording one session; None (and the reason said) when it cannot."""
        try:
            path = self._named(session, ".mp4")
            ok = session.start_recording(path, self.settings.record_annotated)
        except (OSError, VisionDeskError) as err:
            self.message.emit(f"Cannot record: {err}")
            return None
        if not ok:
            return None
        self._recordings[session] = self.last_recording = path
        return path

    def _on_record(self, on: bool) -> None:
        session = self.current()
        if not on:
            session.stop_recording()
        elif (path := self._record(session)) is not None:
            self.message.emit(f"Recording to {path}.")
        elif not session.running:
            self.message.emit("Nothing to record: open a source first.")
        self.refresh()

    def _on_record_all(self, on: bool) -> None:
        if not on:
            stopped = [s for s in self.everyone() if s.recorder is not None]
            for session in stopped:
                session.stop_recording()
            if len(stopped) > 1:
                self.message.emit(f"{len(stopped)} recordings saved to {self.settings.output_dir}.")
        else:
            started = [p for s in self.everyone() if s.running and s.recorder is None and (p := self._record(s)) is not None]
            self.last_recordings = started
            recording = sum(s.recorder is not None for s in self.everyone())
            if recording:
                self.message.emit(f"Recording {recording} tile(s) to {self.settings.output_dir}.")
            else:
                self.message.emit("Nothing to record: open a source first.")
        self.refresh()

    def _on_export(self, on: bool) -> None:
        session = self.current()
        if on:
            try:
                path = self._named(session, ".jsonl")
                ok = session.start_export(path)
            except OSError as err:
                ok, path = False, None
                self.message.emit(f"Cannot export: {err.strerror or err}.")
            if ok:
                self.last_export = path
                self.message.emit(f"Exporting results to {path}.")
        else:
            path = session.stop_export()
            if path is not None:
                self.message.emit(f"Results saved to {path}.")
        self.refresh()

    def snapshot(self) -> Path | None:
        image = self.shown_image()
        if image is None:
            self.message.emit("No frame to save yet.")
            return None
        try:
            path = self._named(self.current(), f"-{int(time.time() * 1000) % 1000:03d}.png")
            if not cv2.imwrite(str(path), image):
                raise OSError("the image could not be written")
        except OSError as err:
            self.message.emit(f"Cannot save the snapshot: {err.strerror or err}.")
            return None
        self.last_snapshot = path
        self.message.emit(f"Snapshot saved to {path}.")
        return path

    def _update_label(self) -> None:
        recording = [s for s in self.everyone() if s.recorder is not None]
        if not recording:
            self._timer.stop()
            self.label.hide()
            return
        if not self._timer.isActive():
            self._timer.start()
        others = f"  + {len(recording) - 1} more tile(s)" if len(recording) > 1 else ""
        session = self.current() if self.current().recorder is not None else recording[0]
        elapsed = int(time.monotonic() - session.record_started)
        # what the recording holds, not the file's size on disk, which lags by up to a two-second fragment
        frames, size = session.recorder.recorded()
        self.label.setText(f"\u25cf REC {elapsed // 60:02d}:{elapsed % 60:02d}  {human_size(size)}  ({frames} frames){others}")
        self.label.show()
