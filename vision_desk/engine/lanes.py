"""Async lanes: an analysing stage works beside the frame loop, and its latest results ride on every frame.

A :class:`Lane` owns one stage on its own thread. The frame loop offers it
each frame as it passes (a snapshot; the newest replaces one not yet taken),
and the lane analyses whichever frame is newest whenever it is free. The loop
never waits for it: on each frame it applies the lane's latest
:class:`LaneResult` through a :class:`Carry`, which moves the result's boxes
from the frame they were found on to the frame at hand (sparse optical flow,
:mod:`vision_desk.engine.motion`) and marks their origin, so every reader sees
how old they are. The loop stays the one owner of order and state: trackers
and counters downstream still run on every frame, in order, on the loop.

Threads, not processes: every stage that may run in a lane (detect on
OpenVINO or PyTorch, MTCNN, EasyOCR, pyzbar, OpenCV's cascades and HOG) spends
its time in native code that releases the GIL, so a thread gives the loop a
core of its own without copying frames between processes or loading each
model twice; the live benchmark (``vision-desk bench --only live``) measures it.

A lane's stage is touched only by its thread from the lane's start until it
has finished: set-up, parameter changes, resets and closing all go through
the lane and happen between two analyses. Only :meth:`Stage.draw` and
:meth:`Stage.summary` are called from the loop meanwhile, and they read the
frame or plain attributes.
"""

from __future__ import annotations

import gc
import itertools
import os
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from vision_desk.engine.frame import Frame, ResultOrigin
from vision_desk.engine.motion import SmallGray, box_shifts, shift_rows
from vision_desk.engine.params import StageParams
from vision_desk.engine.results import Detections
from vision_desk.engine.stage import Stage


#: Motion gating: the width frames are compared at, the grey-level difference that counts as a change and
#: the share of changed pixels below which a frame counts as still (0.2%: a hand in a quarter of a 720p view
#: moving a few pixels changes more; compression noise on a still view changes none at this size).
GATE_WIDTH = 160
STILL_LEVEL = 20
STILL_CHANGE = 0.002

#: Held while a stage sets up (and by anything else that imports model libraries on a thread of its own):
#: two threads importing torchvision, easyocr or facenet-pytorch at once can each find the other's module
#: half-initialised ("cannot import name 'batched_nms' from partially initialized module"), seen when the
#: showcase's faces and OCR loaded side by side. Loading one stage at a time costs nothing: they compete
#: for the same cores.
SETUP_LOCK = threading.RLock()


def set_up(stage: Stage, freeze: bool = True) -> None:
    """Sets a stage up, one at a time (``SETUP_LOCK``), then (``freeze``, for live runs) freezes what its
    loading created for the garbage collector.

    Loading torch, EasyOCR or a YOLO model creates hundreds of thousands of
    long-lived objects; every full collection after it walked them all with the
    GIL held, 200-300 ms in which no frame moved (seen as the longest gap in the
    live benchmark). Frozen, they are skipped by every later collection (the use
    ``gc.freeze`` documents for start-up objects); the GUI's background imports
    do the same. Lossless runs (batch, files) need no smoothness and skip it, so
    cyclic garbage made before a set-up is still collected there.
    """
    with SETUP_LOCK:
        stage.setup()
        if freeze:
            gc.freeze()


@dataclass(frozen=True)
class LaneResult:
    """What a stage found on one frame, as the lane hands it to the loop.

    Attributes:
        seq: counts the lane's results (a newer result has a higher one).
        origin: the frame the results were computed on (or, for a stage that
            carries its own results between analyses, the frame it names).
        detections: the rows the stage added (its own ``source``).
        values: the per-frame values it wrote.
        extras: the ``extras`` entries it wrote (what its ``draw`` reads).
        events: its one-off messages; they go on one frame only.
        seen: the frame it analysed, reduced for optical flow; the rows lie on it.
        seen_at: that frame's (index, capture time).
        took_ms: how long the analysis took.
    """

    seq: int
    origin: ResultOrigin
    detections: Detections
    values: dict[str, Any]
    extras: dict[str, Any]
    events: list[str]
    seen: SmallGray
    seen_at: tuple[int, float]
    took_ms: float

    @property
    def analysed(self) -> bool:
        """The stage analysed the frame it saw (rather than carrying its own results from an earlier one, as
        detect, faces and OCR do between their ``every`` frames): this result is a real analysis."""
        return (self.origin.frame_index, self.origin.capture_time) == self.seen_at


def snapshot(frame: Frame, image: np.ndarray | None = None) -> Frame:
    """A copy of a frame for a lane, so neither side sees the other's changes: its own results and dicts, and
    a copy of the image (``image``: one made already, which lanes share, as they only read it)."""
    return Frame(image=frame.image.copy() if image is None else image, index=frame.index, timestamp=frame.timestamp,
                 capture_time=frame.capture_time, source_id=frame.source_id, detections=frame.detections,
                 values=dict(frame.values), extras=dict(frame.extras), origins=dict(frame.origins))


def _result_of(seq: int, stage: Stage, before: Frame, after: Frame, took_ms: float) -> LaneResult:
    """What ``stage`` added to ``before`` to make ``after`` (the same snapshot, processed)."""
    det = after.detections
    mine = det[np.flatnonzero(det.source == stage.id)]
    values = {k: v for k, v in after.values.items() if k not in before.values or before.values[k] is not v}
    extras = {k: v for k, v in after.extras.items() if k not in before.extras or before.extras[k] is not v}
    origin = after.origin(stage.id) or ResultOrigin(stage.id, after.index, after.capture_time)
    return LaneResult(seq, origin, mine, values, extras, list(after.events), SmallGray.of(after.image),
                      (after.index, after.capture_time), took_ms)


class Lane:
    """One stage analysing the newest frame on its own thread.

    Args:
        stage: the stage; the lane's thread owns it until :attr:`finished`.
        ready: the stage is set up already (a lane restarted after a pause).
        name: the thread's name.
        background: run below the frame loop's priority (see ``LANE_NICENESS``); False for a stage that
            only loads here and then runs on the loop, whose thread pools must not inherit a low priority.
    """

    def __init__(self, stage: Stage, *, ready: bool = False, name: str = "", background: bool = True) -> None:
        self.stage = stage
        self.background = background  # lower the thread's priority (a lane; not a stage loading to run in order)
        self.ready = ready
        self.torch_threads: int | None = None  # set by the pipeline (see torch_threads_per_lane); None: torch's own
        self.error: BaseException | None = None  # set-up or analysis failure, for the loop to report
        self._cond = threading.Condition()
        self._pending: Frame | None = None
        self._pending_generation = 0
        self._generation = 0  # bumped by reset: results of frames offered before it are dropped
        self._params: StageParams | None = None
        self._reset = False
        self._stop = False
        self._close = False
        self._result: LaneResult | None = None
        self._seq = itertools.count(1)
        self._done_at: deque[float] = deque(maxlen=30)
        self._gate_gray: np.ndarray | None = None  # the last analysed frame, small (motion gating)
        self._thread = threading.Thread(target=self._work, name=name or f"lane-{stage.id}", daemon=True)
        self._thread.start()

    # -- the loop's side ---------------------------------------------------------
    def offer(self, frame: Frame) -> None:
        """Hands the lane a frame (a :func:`snapshot`); one it has not taken yet is replaced (newest wins)."""
        with self._cond:
            self._pending, self._pending_generation = frame, self._generation
            self._cond.notify()

    def latest(self) -> LaneResult | None:
        """The newest result since the last reset, or None."""
        with self._cond:
            return self._result

    def set_params(self, params: StageParams) -> None:
        """Applies new parameters before the next analysis."""
        with self._cond:
            self._params = params
            self._cond.notify()

    def reset(self) -> None:
        """The stage forgets per-video state before the next analysis; results of earlier frames are dropped."""
        with self._cond:
            self._reset = True
            self._generation += 1
            self._pending = None
            self._result = None
            self._cond.notify()

    def stop(self, close: bool = False) -> None:
        """Finishes after the analysis under way (never waits for it); ``close`` also closes the stage."""
        with self._cond:
            self._stop = True
            self._close = self._close or close
            self._cond.notify()

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return self.finished

    @property
    def finished(self) -> bool:
        return not self._thread.is_alive()

    @property
    def loading(self) -> bool:
        return not self.ready and self.error is None and not self.finished

    def analysis_fps(self) -> float:
        """Analyses per second over the recent ones (0 before two are done)."""
        with self._cond:
            done = list(self._done_at)
        if len(done) < 2 or done[-1] <= done[0]:
            return 0.0
        return (len(done) - 1) / (done[-1] - done[0])

    # -- the lane's thread -------------------------------------------------------
    def _work(self) -> None:
        if self.background:
            lower_thread_priority()
        try:
            if not self.ready:
                set_up(self.stage)
                self.ready = True
            while True:
                with self._cond:
                    while self._pending is None and not self._stop and self._params is None and not self._reset:
                        self._cond.wait()
                    params, self._params = self._params, None
                    reset, self._reset = self._reset, False
                    if self._stop:
                        break
                    frame, generation = self._pending, self._pending_generation
                    self._pending = None
                if params is not None:
                    self.stage.update_params(params)
                if reset:
                    self.stage.reset()
                    self._gate_gray = None  # the result went with the reset: the next frame is analysed, still or not
                if frame is None:
                    continue
                if getattr(self.stage.params, "motion_gate", False) and self._still(frame):
                    continue
                self._pin_threads()
                self._analyse(frame, generation)
        except Exception as err:  # noqa: BLE001 - reported by the loop as the stage's failure
            self.error = err
        finally:
            with self._cond:
                params, reset, close = self._params, self._reset, self._close
            if params is not None:  # the loop takes the stage back with every edit made meanwhile
                self.stage.update_params(params)
            if reset:
                self.stage.reset()
            if close:
                try:
                    self.stage.close()
                except Exception:  # noqa: BLE001 - closing must never mask the real outcome
                    pass

    def _still(self, frame: Frame) -> bool:
        """Whether the frame looks like the one last analysed (motion gating): under ``STILL_CHANGE`` of its
        pixels differ by more than ``STILL_LEVEL`` grey levels, at a small size that evens out sensor noise."""
        small = SmallGray.of(frame.image, GATE_WIDTH).gray
        last, self._gate_gray = self._gate_gray, small
        if last is None or last.shape != small.shape:
            return False
        if float((cv2.absdiff(small, last) > STILL_LEVEL).mean()) < STILL_CHANGE:
            self._gate_gray = last  # compare with the analysed frame: a slow drift adds up until it counts
            return True
        return False

    def _pin_threads(self) -> None:
        """Gives torch (once a stage has imported it) the lane's share of the cores, from this thread, where
        torch's OpenMP pool takes the setting."""
        torch = sys.modules.get("torch")
        if torch is None or not self.torch_threads:
            return
        # not while a stage sets up: torch may be half-imported by it (its module is in sys.modules from the start)
        if not SETUP_LOCK.acquire(blocking=False):
            return
        try:
            if getattr(torch, "get_num_threads", None) and torch.get_num_threads() != self.torch_threads:
                torch.set_num_threads(self.torch_threads)
        finally:
            SETUP_LOCK.release()

    def _analyse(self, frame: Frame, generation: int) -> None:
        before = snapshot(frame, frame.image)  # for what the stage adds; the image is not compared
        t0 = time.perf_counter()
        self.stage.process(frame)
        took = (time.perf_counter() - t0) * 1000.0
        result = _result_of(next(self._seq), self.stage, before, frame, took)
        with self._cond:
            # Only real analyses replace the result: between its ``every`` frames a stage puts its last rows
            # back unmoved (detect, faces) or moves them itself (OCR), so they lie on no one frame the carry
            # could catch them up from; the carry moves the real result's rows instead.
            if result.analysed:
                if generation == self._generation:  # not from before a reset (a seek): those frames are gone
                    self._result = result
                self._done_at.append(time.perf_counter())


#: Frames of reduced images a carry keeps to catch a result up frame by frame (two seconds at 30 fps).
HISTORY = 60


#: How much nicer than the frame loop a lane's thread (and the threads it starts) is on Linux: when the
#: cores are all busy, the loop, the reader and the window get them first, and the lanes use what is left.
#: +10 starved lanes on a machine loaded by other processes (a CFS weight of a tenth); +5 gives them a third.
LANE_NICENESS = 5


def lower_thread_priority() -> None:
    """Lowers the calling thread's scheduling priority (Linux, where each thread has its own nice value;
    threads it starts, such as OpenVINO's or torch's workers, inherit it). Elsewhere nothing changes."""
    if sys.platform != "linux":
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + LANE_NICENESS))
    except OSError:  # a container that forbids it: the lane runs at the loop's priority
        pass


def torch_threads_per_lane(lanes: int, cores: int | None = None) -> int:
    """Torch threads for each of ``lanes`` async lanes, so that they and the frame loop fit the cores.

    Each lane that calls into torch runs its own team of torch's threads; with
    torch's default (one per core) in each of two lanes, two cores ran four
    busy threads beside the loop, and the loop got its turn late: on the
    showcase (faces, codes, OCR on ``demo:``), one torch thread per lane took
    the share of camera frames shown from 0.92 to 0.97-0.98 (docs/live.md).
    """
    cores = cores or os.cpu_count() or 1
    return max(1, (cores - 1) // max(1, lanes))


@dataclass
class Carry:
    """Puts a lane's latest result on each frame the loop passes, moved to where the scene is now.

    A new result is first caught up from the frame it was found on to the
    current one: by optical flow from each frame to the next since then (small
    steps that pyramidal Lucas-Kanade follows well, where one jump of a
    fraction of a second may be too far), or in one step once that frame is
    older than the history kept. On the frames until the next result, its rows
    follow the scene frame by frame: by flow, or, with ``follow="tracker"``
    (a track stage downstream tracks this stage's rows), left where they are
    for the tracker's motion prediction to move, as it does for any carried rows.
    """

    follow: str = "flow"
    result: LaneResult | None = None
    rows: Detections = field(default_factory=Detections)
    history: deque = field(default_factory=lambda: deque(maxlen=HISTORY))  # ((index, capture time), SmallGray)
    applied: int = 0  # frames the current result went on

    def apply(self, frame: Frame, result: LaneResult | None, gray: SmallGray) -> None:
        """Adds the lane's rows, values and overlays to ``frame`` and marks their origin."""
        last = self.history[-1][1] if self.history else None
        self.history.append(((frame.index, frame.capture_time), gray))
        if result is None:
            self.result = None
            return
        if self.result is None or result.seq != self.result.seq:
            self.result, self.applied = result, 0
            self.rows = shift_rows(result.detections, self._catch_up(result), frame.shape)
        elif self.follow == "flow" and last is not None:
            self.rows = shift_rows(self.rows, box_shifts(last, gray, self.rows.xyxy), frame.shape)
        frame.add(self.rows[np.arange(len(self.rows))])  # a copy: later stages may change their rows
        frame.values.update(result.values)
        frame.extras.update(result.extras)
        if self.applied == 0:
            frame.events.extend(result.events)
        self.applied += 1
        frame.mark(result.origin.stage, result.origin)

    def _catch_up(self, result: LaneResult) -> np.ndarray:
        """How far each of the result's rows moved from the frame it was found on to the newest frame."""
        xyxy = result.detections.xyxy
        keys = [key for key, _ in self.history]
        if not len(xyxy):
            return np.zeros((0, 2), np.float32)
        if result.seen_at not in keys:  # older than the history: one step
            return box_shifts(result.seen, self.history[-1][1], xyxy)
        steps = [gray for _, gray in list(self.history)[keys.index(result.seen_at):]]
        total = np.zeros((len(xyxy), 2), np.float32)
        for before, after in zip(steps, steps[1:]):
            moved = box_shifts(before, after, xyxy + np.tile(total, 2))
            total += moved
        return total
