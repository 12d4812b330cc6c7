"""The GUI's handle on the engine: one running engine at a time, and its sinks.

Switching sources builds a new :class:`~vision_desk.engine.runner.Engine` and
asks the old one to stop; the old one winds down on its own threads (it is
only joined at shutdown), so the GUI thread never waits for a stage or a
reader. A timer polls the engine's statistics and notices when a run ends.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, QTimer, Signal, SignalInstance

from vision_desk.engine.pipeline import Pipeline, PipelineSpec
from vision_desk.engine.runner import Engine
from vision_desk.engine.sinks import Sink
from vision_desk.engine.sinks.export import JsonlSink
from vision_desk.engine.sinks.recorder import RecorderSink
from vision_desk.engine.sources import open_source
from vision_desk.engine.stats import StatsSnapshot
from vision_desk.engine.uri import mask_uri
from vision_desk.gui.bridge import FrameBridge

POLL_MS = 250


class EngineSession(QObject):
    """Owns the current engine, the retiring ones, and the recording and export sinks.

    Signals:
        stats(StatsSnapshot): every poll while an engine runs.
        ended(str): the run ended; the message is the error ('' when the source just ended). A file
            that ends stays open on its last frame (the engine holds it), so it can still be sought.
        recording_changed(bool), exporting_changed(bool): a sink started or stopped.
        message(str): a one-sentence notice or error for the status bar.
    """

    stats = Signal(object)
    ended = Signal(str)
    recording_changed = Signal(bool)
    exporting_changed = Signal(bool)
    message = Signal(str)

    def __init__(self, bridge: FrameBridge, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.engine: Engine | None = None
        self.uri = ""
        self.realtime = True
        self.recorder: RecorderSink | None = None
        self.exporter: JsonlSink | None = None
        self.record_started = 0.0
        self.last_stats: StatsSnapshot | None = None
        self._retiring: list[Engine] = []
        self._orphans: list[Sink] = []
        self._ended_reported = False
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self.poll)
        self._timer.start()

    # -- engine lifecycle ------------------------------------------------------------
    def open(self, uri: str, spec: PipelineSpec, start_at: int | None = None) -> Pipeline:
        """Starts ``uri`` through a new pipeline built from ``spec``; raises VisionDeskError for a bad URI."""
        source = open_source(uri)  # parses only; opening happens on the reader thread
        pipeline = Pipeline(spec, stage_errors="disable")
        self.close_engine()
        generation = self.bridge.new_generation()
        # a recording that fails (disk full) stops alone: the view and the other sinks go on
        self.engine = Engine(source, pipeline, realtime=self.realtime, annotate=True, hold_at_end=True, sink_errors="drop",
                             on_frame=lambda frame: self.bridge.push(generation, frame))
        if start_at and source.seekable:
            self.engine.seek(start_at)
        self.engine.start()
        self.uri = uri
        self.last_stats = None
        self._ended_reported = False
        return pipeline

    def close_engine(self) -> None:
        """Stops the current engine without waiting (its own thread closes its sinks)."""
        if self.engine is None:
            return
        self.engine.stop()
        self._detach("recorder", self.recording_changed)
        self._detach("exporter", self.exporting_changed)
        self._retiring.append(self.engine)
        self.engine = None

    @property
    def running(self) -> bool:
        return self.engine is not None and self.engine.running

    @property
    def source_name(self) -> str:
        return mask_uri(self.uri)

    @property
    def seekable(self) -> bool:
        return self.engine is not None and self.engine.source.seekable

    # -- playback ------------------------------------------------------------------
    def pause(self) -> None:
        if self.engine is not None:
            self.engine.pause()

    def resume(self) -> None:
        if self.engine is not None:
            self.engine.resume()

    @property
    def paused(self) -> bool:
        return self.engine is not None and self.engine.paused

    @property
    def at_end(self) -> bool:
        """The file has ended and waits on its last frame for a seek or play."""
        return self.engine is not None and self.engine.at_end

    def step(self) -> None:
        if self.engine is not None:
            if not self.engine.paused:
                self.engine.pause()
            self.engine.step()

    def seek(self, index: int) -> None:
        if self.engine is not None:
            self.engine.seek(index)

    # -- sinks ---------------------------------------------------------------------
    def _attach(self, attr: str, make: Callable[[], Sink], changed: SignalInstance) -> bool:
        if self.engine is None or not self.engine.running or getattr(self, attr) is not None:
            return False
        sink = make()
        setattr(self, attr, sink)
        self.engine.add_sink(sink)
        changed.emit(True)
        return True

    def _detach(self, attr: str, changed: SignalInstance) -> Path | None:
        """Detaches a sink; the engine thread closes it (a recording is finalised)."""
        sink = getattr(self, attr)
        if sink is None:
            return None
        setattr(self, attr, None)
        if self.engine is not None:
            self.engine.remove_sink(sink)
        self._orphans.append(sink)
        changed.emit(False)
        return sink.path

    def start_recording(self, path: Path, annotated: bool) -> bool:
        """Records an H.264 MP4 (with or without overlays); False when no source is running."""
        started = self._attach("recorder", lambda: RecorderSink(path, fps=None, annotated=annotated), self.recording_changed)
        if started:
            self.record_started = time.monotonic()
        return started

    def stop_recording(self) -> Path | None:
        return self._detach("recorder", self.recording_changed)

    def start_export(self, path: Path) -> bool:
        """Writes every processed frame's results as JSON Lines; False when no source is running."""
        return self._attach("exporter", lambda: JsonlSink(path), self.exporting_changed)

    def stop_export(self) -> Path | None:
        return self._detach("exporter", self.exporting_changed)

    # -- polling -------------------------------------------------------------------
    def poll(self) -> None:
        """Emits statistics, reports a run that ended, and forgets engines that have finished."""
        self._retiring = [e for e in self._retiring if not e.join(0)]
        if not self._retiring:
            self._close_orphans()
        engine = self.engine
        if engine is None:
            return
        for attr, changed in (("recorder", self.recording_changed), ("exporter", self.exporting_changed)):
            if getattr(self, attr) is not None and getattr(self, attr) in engine.failed_sinks:
                # the engine closed it; its sentence is in the pipeline's errors, shown with the stats below,
                # so it comes after (and stays over) the button's own "saved" message
                setattr(self, attr, None)
                changed.emit(False)
        self.last_stats = engine.stats()
        self.stats.emit(self.last_stats)
        if engine.at_end and engine.running:
            if self.bridge.pending:
                return  # the last frame is still on its way to the view: report the end once it is shown
            if not self._ended_reported:  # once per arrival at the end; a seek from there plays on
                self._ended_reported = True
                self._detach("recorder", self.recording_changed)  # a recording of the file ends with it
                self._detach("exporter", self.exporting_changed)
                self.ended.emit("")
            return
        if engine.running:
            self._ended_reported = False
        elif engine.join(0) and not self._ended_reported:
            self._ended_reported = True
            self._detach("recorder", self.recording_changed)  # the engine closed them as it ended
            self._detach("exporter", self.exporting_changed)
            self.ended.emit(str(engine.error) if engine.error else "")

    def _close_orphans(self) -> None:
        """Closes sinks no engine will close (added after its run ended); engines close the others."""
        engine = self.engine
        if engine is not None and engine.running:
            return
        for sink in self._orphans:
            try:
                sink.close(ok=True)
            except Exception as err:  # noqa: BLE001 - a sink's failure is a message, not a crash
                self.message.emit(str(err))
        self._orphans.clear()

    def shutdown(self, timeout: float = 10.0) -> bool:
        """Stops everything and waits (at exit only) so recordings are finalised; True when all stopped."""
        self._timer.stop()
        self.close_engine()
        deadline = time.monotonic() + timeout
        ok = all(e.join(max(0.0, deadline - time.monotonic())) for e in self._retiring)
        if ok:
            self._retiring.clear()
            self._close_orphans()
        return ok
