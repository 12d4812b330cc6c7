"""Soak runs: a pipeline on a source for minutes or days, with its memory, speed and latency sampled, and a verdict.

``vision-desk soak`` runs the engine as ``run`` does, samples every few seconds
what a long unattended run must keep flat (resident memory, analysed frames per
second, latency p95, drops, reconnects, threads and open files), and ends with a
verdict: the memory slope in MB per hour after the warm-up (a least-squares line
through the samples, with its 95% margin), and whether latency drifted (the last
tenth's p95 within 1.2 times the first tenth's).
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

from vision_desk.engine.pipeline import Pipeline
from vision_desk.engine.runner import Engine
from vision_desk.engine.sources.base import Source

#: The issue's bounds: memory may grow at most this many MB an hour after warm-up ...
MAX_SLOPE_MB_PER_H = 5.0
#: ... and the last tenth's latency p95 may be at most this many times the first tenth's.
MAX_LATENCY_RATIO = 1.2
#: In the app, the GUI thread may be at most this late after warm-up: a longer stall is a window the user sees freeze.
MAX_GUI_LATE_MS = 500.0


@dataclass(frozen=True)
class SoakSample:
    """What the run looked like at one moment."""

    t_s: float
    rss_mb: float
    frames: int
    fps: float
    latency_p95_ms: float
    dropped: int
    reconnects: int
    threads: int
    open_files: int
    source_state: str
    #: In the app only (``soak --gui``): frames painted on screen, and the GUI event loop's worst lateness since
    #: the last sample (what a user feels as a frozen window; see gui/loop_probe.py).
    frames_shown: int | None = None
    gui_late_max_ms: float | None = None


@dataclass(frozen=True)
class SoakVerdict:
    """The run judged against the bounds, from the samples after the warm-up."""

    memory_slope_mb_per_h: float
    latency_first_ms: float
    latency_last_ms: float
    threads_added: int
    open_files_added: int
    #: analysed fps in the same two tenths: latency that rises as fps falls is most often a busier machine, not drift
    fps_first: float = 0.0
    fps_last: float = 0.0
    gui_late_max_ms: float | None = None  # in the app only
    #: half the 95% interval of the slope: a short run's noisy samples leave it wide (see ``fit_per_hour``)
    memory_margin_mb_per_h: float = 0.0
    max_slope_mb_per_h: float = MAX_SLOPE_MB_PER_H
    max_latency_ratio: float = MAX_LATENCY_RATIO
    max_gui_late_ms: float = MAX_GUI_LATE_MS

    @property
    def latency_ratio(self) -> float:
        return self.latency_last_ms / self.latency_first_ms if self.latency_first_ms > 0 else 1.0

    @property
    def memory_flat(self) -> bool:
        return self.memory_slope_mb_per_h <= self.max_slope_mb_per_h

    @property
    def memory_word(self) -> str:
        """flat; GROWING when even the interval's low end is over the bound; else too short to tell."""
        if self.memory_flat:
            return "flat"
        if self.memory_slope_mb_per_h - self.memory_margin_mb_per_h > self.max_slope_mb_per_h:
            return "GROWING"
        return "NOT SETTLED: too noisy or too short to tell from the bound; run longer"

    @property
    def latency_flat(self) -> bool:
        return self.latency_ratio <= self.max_latency_ratio

    @property
    def gui_responsive(self) -> bool:
        return self.gui_late_max_ms is None or self.gui_late_max_ms <= self.max_gui_late_ms

    @property
    def passed(self) -> bool:
        return self.memory_flat and self.latency_flat and self.gui_responsive

    def lines(self) -> list[str]:
        """The verdict for people: one line per measure, with its bound."""
        return [
            f"memory: {signed(self.memory_slope_mb_per_h)} MB/hour after warm-up, "
            f"95% interval {signed(self.memory_slope_mb_per_h - self.memory_margin_mb_per_h)} to "
            f"{signed(self.memory_slope_mb_per_h + self.memory_margin_mb_per_h)} "
            f"({self.memory_word}; bound {self.max_slope_mb_per_h:g} MB/hour)",
            f"latency p95: {self.latency_first_ms:.0f} ms in the first tenth, {self.latency_last_ms:.0f} ms in the last "
            f"({self.latency_ratio:.2f}x; {'flat' if self.latency_flat else 'DRIFTING'}; bound {self.max_latency_ratio:g}x; "
            f"analysed fps {self.fps_first:.1f} then {self.fps_last:.1f})",
            f"threads {self.threads_added:+d}, open files {self.open_files_added:+d} from the end of warm-up to the end",
        ] + ([] if self.gui_late_max_ms is None else [
            f"GUI event loop: at most {self.gui_late_max_ms:.0f} ms late after warm-up "
            f"({'responsive' if self.gui_responsive else 'FROZE'}; bound {self.max_gui_late_ms:g} ms)"])


def signed(value: float) -> str:
    """``+1.2``, ``-3.4``; a value that rounds to zero is ``+0.0``, never ``-0.0``."""
    return f"{round(value, 1) + 0.0:+.1f}"


def resident_mb() -> float:
    """This process's resident memory now, in MB (Linux: /proc; elsewhere the peak, which only grows)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    except OSError:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def open_files() -> int:
    """File descriptors open in this process (-1 where /proc is missing)."""
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return -1


def threads() -> int:
    """Threads of this process, native ones included (FFmpeg's decoders, OpenMP's pool): /proc/self/task where it
    exists, else the Python threads only."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def fit_per_hour(times_s: list[float], values: list[float]) -> tuple[float, float]:
    """The least-squares slope of values over time, per hour, and half its 95% interval ((0, 0) with fewer than 3
    samples). The margin is 1.96 standard errors of the slope: it takes the samples' scatter as independent, which
    slowly wandering memory is not quite, so read it as the least uncertainty there is."""
    if len(times_s) < 3:
        return 0.0, 0.0
    t, v = np.asarray(times_s, dtype=float), np.asarray(values, dtype=float)
    (slope, intercept), spread = np.polyfit(t, v, 1), float(np.sum((t - t.mean()) ** 2))
    residual = v - (slope * t + intercept)
    se = np.sqrt(float(np.sum(residual**2)) / (len(t) - 2) / spread) if spread > 0 else 0.0
    return float(slope) * 3600.0, 1.96 * float(se) * 3600.0


def judge(samples: list[SoakSample], warmup_s: float) -> SoakVerdict:
    """Judges the samples taken after ``warmup_s`` (all of them when the run was shorter)."""
    settled = [s for s in samples if s.t_s >= warmup_s] or samples
    tenth = max(1, len(settled) // 10)

    def p95(part: list[SoakSample]) -> float:
        return float(np.median([s.latency_p95_ms for s in part]))

    def fps(part: list[SoakSample]) -> float:
        return float(np.median([s.fps for s in part]))

    slope, margin = fit_per_hour([s.t_s for s in settled], [s.rss_mb for s in settled])
    return SoakVerdict(
        memory_slope_mb_per_h=slope,
        memory_margin_mb_per_h=margin,
        latency_first_ms=p95(settled[:tenth]),
        latency_last_ms=p95(settled[-tenth:]),
        threads_added=settled[-1].threads - settled[0].threads,
        open_files_added=settled[-1].open_files - settled[0].open_files,
        fps_first=fps(settled[:tenth]),
        fps_last=fps(settled[-tenth:]),
        gui_late_max_ms=max((s.gui_late_max_ms for s in settled if s.gui_late_max_ms is not None), default=None),
    )


def take_sample(engines: list[Engine], t_s: float, **app: float | int | None) -> SoakSample:
    """What the engines look like now, ``t_s`` seconds into the run (``app``: the app-only fields).

    Several engines (the tiles of a wall) are one sample: their frames, fps, drops and reconnects added up, the
    worst latency p95, and their states counted ("4 running", "3 running, 1 reconnecting"); one engine's state is
    its own. Memory, threads and files are the process's, shared by all.
    """
    stats = [engine.stats() for engine in engines]
    states = Counter(s.source_state for s in stats)
    state = stats[0].source_state if len(stats) == 1 else ", ".join(f"{n} {name}" for name, n in states.most_common())
    return SoakSample(round(t_s, 2), round(resident_mb(), 1), sum(s.frames_out for s in stats),
                      round(sum(s.fps_out for s in stats), 2), round(max(s.latency_p95_ms for s in stats), 1),
                      sum(s.dropped for s in stats), sum(e.source.status.reconnects for e in engines), threads(),
                      open_files(), state, **app)


def soak(source: Source, pipeline: Pipeline, seconds: float, *, interval_s: float = 10.0,
         on_sample: Callable[[SoakSample], None] | None = None, stop: threading.Event | None = None,
         live: bool | None = None) -> list[SoakSample]:
    """Runs ``pipeline`` on ``source`` for ``seconds`` (or until the source ends or ``stop`` is set), sampling.

    Raises the engine's error, as ``run`` does, when the source or a stage fails for good.
    """
    engine = Engine(source, pipeline, live=live)
    samples: list[SoakSample] = []
    started = time.monotonic()
    engine.start()
    try:
        next_at = started + interval_s
        while True:
            ended = engine.join(max(0.0, min(next_at, started + seconds) - time.monotonic()))
            now = time.monotonic()
            if now >= next_at or ended or now - started >= seconds:
                samples.append(take_sample([engine], now - started))
                if on_sample:
                    on_sample(samples[-1])
                next_at += interval_s
            if ended or now - started >= seconds or (stop is not None and stop.is_set()):
                break
    finally:
        engine.stop()
        engine.join(30)
    if engine.error:
        raise engine.error
    return samples


def report(source_name: str, pipeline_name: str, samples: list[SoakSample], verdict: SoakVerdict) -> dict:
    """The whole run as a JSON-ready dict (the source name masked by the caller)."""
    return {"source": source_name, "pipeline": pipeline_name, "samples": [asdict(s) for s in samples],
            "verdict": {**asdict(verdict), "latency_ratio": verdict.latency_ratio, "memory_flat": verdict.memory_flat,
                        "latency_flat": verdict.latency_flat, "gui_responsive": verdict.gui_responsive,
                        "passed": verdict.passed}}
