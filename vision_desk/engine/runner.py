"""The engine: source -> stages -> sinks, on a reader thread and a processing thread.

The processing thread owns the pipeline (so stateful stages need no locks),
draws overlays on a copy at the end, feeds the sinks and hands each finished
frame to ``on_frame`` (the GUI bridge keeps only the newest). Stop, pause,
step and seek are requests any thread may make; none of them blocks on a stage.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

from vision_desk.engine.annotate import annotate as draw_overlays
from vision_desk.engine.capture import END, CaptureError, CaptureThread
from vision_desk.engine.frame import Frame
from vision_desk.engine.pipeline import Pipeline
from vision_desk.engine.sinks import Sink
from vision_desk.engine.sources import Source, open_source
from vision_desk.engine.stats import StatsCollector, StatsSnapshot
from vision_desk.errors import SourceError, VisionDeskError
from vision_desk.weights import device_label


def wait_or_stop(runner: "Engine | Any") -> None:
    """Waits for a started runner (an :class:`Engine`, a :class:`~vision_desk.engine.multi.MultiEngine`) to
    finish; Ctrl+C stops it and gives it 30 s to close its outputs."""
    try:
        while not runner.join(0.2):
            pass
    except KeyboardInterrupt:
        runner.stop()
        runner.join(30)


class Engine:
    """Runs one source through one pipeline.

    Args:
        source: a Source or a source URI.
        pipeline: the stages (an empty pipeline when None).
        sinks: recorder, exporters; each gets every processed frame.
        live: override the source's buffer policy (True: newest frame only,
            False: lossless); None keeps the source's nature.
        realtime: pace finite sources at their frame rate (GUI playback).
        annotate: draw overlays (needed by annotated recordings and the view).
        max_frames: stop after this many processed frames.
        duration: stop after this many seconds.
        on_frame: called on the processing thread with each finished frame.
        close_pipeline: close the stages when the run ends (batch reuses them).
        hold_at_end: a seekable source that ends does not end the run: the
            engine pauses on the last frame (``at_end``) and a seek plays on,
            as in any player. Stop it with ``stop``.
        sink_errors: a sink whose write fails (a recording on a full disk):
            ``"raise"`` ends the run with its error (CLI, batch: the output is
            incomplete); ``"drop"`` closes and detaches that sink, puts its
            sentence in ``pipeline.errors`` and in ``failed_sinks``, and the
            frames go on to the others and the view (GUI).
    """

    def __init__(
        self,
        source: Source | str,
        pipeline: Pipeline | None = None,
        *,
        sinks: list[Sink] | tuple[Sink, ...] = (),
        live: bool | None = None,
        realtime: bool = False,
        annotate: bool = True,
        max_frames: int | None = None,
        duration: float | None = None,
        on_frame: Callable[[Frame], None] | None = None,
        close_pipeline: bool = True,
        hold_at_end: bool = False,
        sink_errors: str = "raise",
    ) -> None:
        self.source = open_source(source) if isinstance(source, (str, int)) else source
        self.pipeline = pipeline if pipeline is not None else Pipeline()
        self.annotate = annotate
        self.max_frames = max_frames
        self.duration = duration
        self.on_frame = on_frame
        self.close_pipeline = close_pipeline
        self.error: VisionDeskError | None = None
        self._sinks: list[Sink] = list(sinks)
        self.sink_errors = sink_errors
        self.failed_sinks: list[Sink] = []  # dropped after a failed write (sink_errors="drop"), oldest first
        self._sink_edits: list[tuple[str, Sink]] = []
        self._stats = StatsCollector()
        self.capture = CaptureThread(self.source, live=live, realtime=realtime, on_frame_in=self._stats.frame_in,
                                     hold_at_end=hold_at_end)
        self.pipeline.live = self.capture.live  # a live run loads stages in the background and runs them async
        self._stop = threading.Event()
        self._paused = threading.Event()
        self._at_end = threading.Event()
        self._steps = 0
        self._holding = self._drop_held = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._work, name="engine", daemon=True)
        self._position = 0
        self._done = threading.Event()
        self._attached = False

    # -- control (any thread) -------------------------------------------------
    def start(self) -> "Engine":
        self.capture.start()
        self._thread.start()
        return self

    def stop(self) -> None:
        """Asks both threads to finish; sinks are closed by the processing thread."""
        self._stop.set()
        self.capture.stop()

    def join(self, timeout: float | None = None) -> bool:
        """Waits for the run to finish; True when it has."""
        return self._done.wait(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def run(self) -> StatsSnapshot:
        """Starts, waits until the source ends (or a limit is hit) and raises the run's error, if any."""
        wait_or_stop(self.start())
        if self.error:
            raise self.error
        return self.stats()

    def pause(self) -> None:
        self._paused.set()

    def resume(self) -> None:
        """Plays on; at the end of a held file nothing comes until a seek."""
        with self._lock:
            self._steps = 0  # steps are a paused engine's; one left over would skip a frame at the next pause
        self._paused.clear()

    @property
    def paused(self) -> bool:
        return self._paused.is_set()

    @property
    def at_end(self) -> bool:
        """A held file has ended: the engine is paused on its last frame and waits for a seek."""
        return self._at_end.is_set()

    def step(self) -> None:
        """While paused, processes exactly one more frame (nothing at the end of a held file)."""
        with self._lock:
            if not self._at_end.is_set():
                self._steps += 1

    def seek(self, index: int) -> None:
        """Continues a file from frame index; stages forget their per-video state.

        While paused, the frame sought is shown (one step); a held file that had
        ended plays on from there.
        """
        if self.source.seekable:
            with self._lock:
                self._at_end.clear()
                self.capture.seek(index)
                self.pipeline.request_reset()
                self._drop_held = self._holding  # a frame held since before the seek is stale
                if self.paused:
                    self._steps = 1  # show the frame sought, however many seeks a drag made

    def add_sink(self, sink: Sink) -> None:
        with self._lock:
            self._sink_edits.append(("add", sink))

    def remove_sink(self, sink: Sink) -> None:
        """Detaches a sink; the processing thread closes it (a recording is finalised)."""
        with self._lock:
            self._sink_edits.append(("remove", sink))

    def stats(self) -> StatsSnapshot:
        status = self.source.status
        return self._stats.snapshot(
            dropped=self.capture.dropped,
            stages=tuple(self.pipeline.stage_rows()),
            device=device_label(),
            source_state=status.state.value,
            source_message=status.message,
            position=self._position,
            total=self.source.frame_count,
        )

    # -- processing thread ----------------------------------------------------
    def _apply_sink_edits(self) -> None:
        with self._lock:
            edits, self._sink_edits = self._sink_edits, []
        for op, sink in edits:
            if op == "add":
                self._sinks.append(sink)
                self._attached = False
            elif sink in self._sinks:
                self._sinks.remove(sink)
                try:
                    sink.close(ok=True)
                except VisionDeskError as err:
                    self.pipeline.errors.append(err)

    def _await_buffer_policy(self) -> None:
        """Waits until the source has said whether it is live (a web video says so once connected), then tells the stages."""
        while not self.capture.policy_known.wait(0.05):
            if self._stop.is_set() or not self.capture.is_alive():
                break
        self.pipeline.live = self.capture.live

    def _take_step(self) -> bool:
        with self._lock:
            if self._steps > 0:
                self._steps -= 1
                return True
            return False

    def _work(self) -> None:
        ok = False
        processed = 0
        deadline = None
        held: Frame | None = None  # a frame that arrived just after a pause: it waits for the next step
        try:
            self._await_buffer_policy()
            self.pipeline.setup()
            while not self._stop.is_set():
                if deadline is None and self.duration is not None and not self.pipeline.loading():
                    # the duration counts from when the stages are ready, not from model loading
                    deadline = time.monotonic() + self.duration
                self._apply_sink_edits()
                stepping = False
                if self._paused.is_set():
                    if not self._take_step():
                        self.pipeline.apply_edits()
                        time.sleep(0.02)
                        continue
                    stepping = True
                with self._lock:
                    if self._drop_held:
                        held = None
                    self._holding = self._drop_held = False
                generation = self.capture.generation
                item, held = (held, None) if held is not None else (self.capture.get(0.1), None)
                if item is None:
                    if stepping:  # nothing came yet (a slow seek): keep the step for the next try
                        with self._lock:
                            self._steps += 1
                    if not self.capture.is_alive():
                        break
                    continue
                if item is END:
                    if self._hold_end(generation):
                        continue
                    break
                if isinstance(item, CaptureError):
                    raise SourceError(item.message)
                assert isinstance(item, Frame)
                if not stepping and self._paused.is_set():
                    with self._lock:  # paused while waiting for it: show it on the next step, not now
                        held, self._holding = item, True
                    continue
                frames, pending = self._gather(item, processed)
                self._process_batch(frames)
                processed += len(frames)
                if pending is END:
                    if self._hold_end(generation):
                        continue
                    break
                if isinstance(pending, CaptureError):
                    raise SourceError(pending.message)
                if self.max_frames is not None and processed >= self.max_frames:
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    break
            ok = True
        except VisionDeskError as err:
            self.error = err
        except Exception as err:  # noqa: BLE001 - never let the thread die without a message
            self.error = VisionDeskError(f"processing failed: {type(err).__name__}: {err}")
        finally:
            self.capture.stop()
            self._apply_sink_edits()
            for sink in self._sinks:
                try:
                    sink.close(ok=ok)
                except VisionDeskError as err:
                    self.error = self.error or err
            if self.close_pipeline:
                self.pipeline.close()
            self.capture.join(5.0)
            self._done.set()

    def _drop_sink(self, sink: Sink, err: VisionDeskError) -> None:
        """Detaches a sink that failed; what it wrote before stays (a recording is kept, cut at its last fragment)."""
        self._sinks.remove(sink)
        try:
            sink.close(ok=False)
        except Exception:  # noqa: BLE001 - its failure is already the message
            pass
        self.pipeline.errors.append(err)
        self.failed_sinks.append(sink)

    def _hold_end(self, generation: int) -> bool:
        """At the end of a held file: pause on the last frame and keep running (True); else False.

        An END from before a seek made meanwhile (generation changed) is ignored:
        the frames sought are on their way.
        """
        if not self.capture.hold_at_end:
            return False
        with self._lock:
            if self.capture.generation != generation:
                return True
            self._at_end.set()
            self._paused.set()
            self._steps = 0
        return True

    def _gather(self, first: Frame, processed: int) -> tuple[list[Frame], object | None]:
        """The first frame plus the frames already waiting, up to the pipeline's batch size (lossless only).

        Never waits for a frame that is not there yet, so a slow reader gives
        smaller batches rather than added latency. Returns the frames and the
        END/error item that stopped the gathering, if any.
        """
        want = 1 if self.capture.live or self._paused.is_set() else self.pipeline.batch_size()
        if self.max_frames is not None:
            want = min(want, self.max_frames - processed)
        if want <= 1:
            return [first], None
        self.capture.reserve(2 * want)
        frames: list[Frame] = [first]
        while len(frames) < want:
            item = self.capture.get(0)
            if item is None:
                break
            if not isinstance(item, Frame):
                return frames, item
            frames.append(item)
        return frames, None

    def _process_batch(self, frames: list[Frame]) -> None:
        if len(frames) > 1:
            self.pipeline.process_batch(frames)
        for frame in frames:
            self._process(frame, done=len(frames) > 1)

    def _process(self, frame: Frame, done: bool = False) -> None:
        if not done:
            self.pipeline.process(frame)
        if self.annotate:
            frame.annotated = draw_overlays(frame, self.pipeline)
        if not self._attached:
            for sink in self._sinks:
                sink.attach(self.source, live=self.capture.live)
            self._attached = True
        for sink in list(self._sinks):
            try:
                sink.write(frame)
            except VisionDeskError as err:
                if self.sink_errors == "raise":
                    raise
                self._drop_sink(sink, err)
        self._position = frame.index
        self._stats.frame_out(frame.capture_time)
        if self.on_frame is not None:
            self.on_frame(frame)
