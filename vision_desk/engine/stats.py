"""Live statistics: fps in and out, drops, end-to-end latency, per-stage timing."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class StatsSnapshot:
    """An immutable view of the engine's counters at one moment."""

    frames_in: int = 0
    frames_out: int = 0
    dropped: int = 0
    fps_in: float = 0.0
    fps_out: float = 0.0
    latency_ms: float = 0.0  # end-to-end, capture to processed and drawn (mean of the last second or so)
    latency_p95_ms: float = 0.0
    stages: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    elapsed_s: float = 0.0
    device: str = "CPU"
    source_state: str = ""
    source_message: str = ""
    position: int = 0
    total: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


class RateMeter:
    """Events per second over a sliding window that always reaches back to the last two events.

    A fixed window alone reads 0 for anything slower than two events per
    window (OCR at 2.7 s a frame looked stalled); keeping the last two events
    gives slow pipelines their real rate. Time since the last event counts once
    it is longer than the usual interval, so the rate falls as a pipeline slows
    down, and it reads 0 once no event came for both the window and
    ``stall_intervals`` usual intervals (stalled, paused or ended).
    """

    def __init__(self, window_s: float = 2.0, stall_intervals: float = 3.0) -> None:
        self.window_s = window_s
        self.stall_intervals = stall_intervals
        self._times: deque[float] = deque(maxlen=4096)

    def tick(self, now: float | None = None) -> None:
        self._times.append(time.perf_counter() if now is None else now)

    def rate(self, now: float | None = None) -> float:
        now = time.perf_counter() if now is None else now
        while len(self._times) > 2 and now - self._times[0] > self.window_s:
            self._times.popleft()
        if len(self._times) < 2:
            return 0.0
        first, last, events = self._times[0], self._times[-1], len(self._times) - 1
        interval = max((last - first) / events, 1e-6)
        since = now - last
        if since > max(self.window_s, self.stall_intervals * interval):
            return 0.0
        # the events' own span; the wait for the next event counts only past one usual interval
        return events / max(last - first, now - first - interval, 1e-6)


class StatsCollector:
    """Thread-safe counters written by the reader and the worker, read by anyone."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.start = time.perf_counter()
        self.frames_in = 0
        self.frames_out = 0
        self._in = RateMeter()
        self._out = RateMeter()
        self._latency: deque[float] = deque(maxlen=120)

    def frame_in(self) -> None:
        with self._lock:
            self.frames_in += 1
            self._in.tick()

    def frame_out(self, capture_time: float) -> None:
        now = time.perf_counter()
        with self._lock:
            self.frames_out += 1
            self._out.tick(now)
            self._latency.append((now - capture_time) * 1000.0)

    def snapshot(self, **extra: Any) -> StatsSnapshot:
        with self._lock:
            lat = np.fromiter(self._latency, float) if self._latency else np.zeros(1)
            return StatsSnapshot(
                frames_in=self.frames_in,
                frames_out=self.frames_out,
                fps_in=self._in.rate(),
                fps_out=self._out.rate(),
                latency_ms=float(lat[-30:].mean()),
                latency_p95_ms=float(np.percentile(lat, 95)),
                elapsed_s=time.perf_counter() - self.start,
                **extra,
            )
