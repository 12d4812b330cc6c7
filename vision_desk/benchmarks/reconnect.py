"""Reconnect rows (``--only reconnect``): a real RTSP camera killed and restarted 20 times during one run.

The GStreamer RTSP server of the tests (``servers/rtsp_server.py``: a live
15 fps test pattern, H.264 over RTSP/TCP) is killed and started again 20 times
while one engine reads it, with outages of 1 to 5 s. For each cycle:

- how long after the server was up again the first frame came (goal: within
  3 s every time);
- the gap in the frames, from the last frame before the kill to the first after;
- the process's threads (native ones included) and open file descriptors,
  counted from ``/proc/self`` once frames flow again (goal: no growth over the run).

These are seconds, not speeds, so the rows have no fps and no ratio. CI runs
the same measurement with three outages
(``tests/engine/test_sources.py``); this is the long version the issue asks for.
"""

from __future__ import annotations

import bisect
import time
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

from vision_desk.benchmarks import BenchContext, BenchRow

ORDER = 97
#: Outages in seconds, one per cycle: 1 to 5 s, four times over.
OUTAGES = (1.0, 2.0, 3.0, 4.0, 5.0) * 4
#: The issue's bound on how soon frames must come back after the server does.
RESUME_GOAL_S = 3.0
#: Give up on a cycle after this long without frames (it is then reported as not resumed).
RESUME_WAIT_S = 30.0
#: Frames that must arrive after a return before the threads and files are counted (the new reader has settled).
SETTLE_FRAMES = 5


@dataclass(frozen=True)
class Cycle:
    """One kill and restart of the server, as the reading process saw it."""

    outage_s: float
    resumed_after_s: float | None  # from the server's return to the first frame; None: no frame within RESUME_WAIT_S
    gap_s: float | None  # from the last frame before the kill to the first frame after
    threads: int
    open_files: int


def outage_cycles(server, outages: Sequence[float]) -> tuple[tuple[int, int], list[Cycle]]:  # noqa: ANN001 (RtspServer)
    """Reads ``server`` with an engine and kills and restarts it once per outage.

    Returns the (threads, open files) counted once the first frames flowed, and one :class:`Cycle` per outage.
    Raises ``RuntimeError`` when the server gives no frames to begin with.
    """
    from vision_desk.engine.pipeline import Pipeline
    from vision_desk.engine.runner import Engine
    from vision_desk.engine.soak import open_files, threads
    from vision_desk.engine.sources import SourceState

    arrivals: list[float] = []
    engine = Engine(server.url, Pipeline(), on_frame=lambda frame: arrivals.append(time.monotonic()),
                    annotate=False).start()
    cycles: list[Cycle] = []
    try:
        if not _wait_for(lambda: len(arrivals) >= SETTLE_FRAMES, 20):
            raise RuntimeError(f"no frames from the RTSP server at {server.url} within 20 s")
        start_counts = (threads(), open_files())
        for outage in outages:
            last_before = arrivals[-1]
            dropped = time.monotonic()
            server.stop()
            _wait_for(lambda: engine.source.status.state == SourceState.RECONNECTING, 10)
            time.sleep(max(0.0, dropped + outage - time.monotonic()))  # the outage itself is what is measured
            server.start()
            up = time.monotonic()
            first = None
            if _wait_for(lambda: arrivals[-1] > up, RESUME_WAIT_S):
                first = arrivals[bisect.bisect_right(arrivals, up)]  # arrivals are in order: one thread appends them
                _wait_for(lambda: sum(1 for t in arrivals[-SETTLE_FRAMES:] if t > up) >= SETTLE_FRAMES, 10)
            cycles.append(Cycle(outage, None if first is None else first - up,
                                None if first is None else first - last_before, threads(), open_files()))
    finally:
        engine.stop()
        engine.join(15)
    return start_counts, cycles


def _wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return bool(condition())


def rows(ctx: BenchContext) -> Iterator[BenchRow]:
    from vision_desk.benchmarks.servers.rtsp import RtspServer, rtsp_available

    reason = rtsp_available()
    if reason:
        yield BenchRow("reconnect", f"skipped: {reason}", 0.0)
        return
    outages = OUTAGES[:5] if ctx.quick else OUTAGES
    server = RtspServer(credentials="viewer:s3cret")
    server.start()
    try:
        start_counts, cycles = outage_cycles(server, outages)
    finally:
        server.stop()
    for i, c in enumerate(cycles, 1):
        resumed = "no frames within 30 s" if c.resumed_after_s is None else (
            f"resumed {c.resumed_after_s:.2f} s after the server's return, frames missing for {c.gap_s:.1f} s")
        yield BenchRow("reconnect", f"cycle {i:2d}: {c.outage_s:g} s outage", 0.0,
                       note=f"{resumed}; threads {c.threads}, open files {c.open_files}")
    delays = sorted(c.resumed_after_s for c in cycles if c.resumed_after_s is not None)
    within = sum(1 for d in delays if d <= RESUME_GOAL_S)
    summary = (f"{within} of {len(cycles)} resumed within {RESUME_GOAL_S:g} s (goal: all)"
               + (f"; median {delays[len(delays) // 2]:.2f} s, slowest {delays[-1]:.2f} s" if delays else "")
               + f"; threads {start_counts[0]} -> {cycles[-1].threads}, open files {start_counts[1]} -> "
                 f"{cycles[-1].open_files} (first frames -> last cycle; goal: no growth)")
    yield BenchRow("reconnect", f"{len(cycles)} kill-and-restart cycles, one run", 0.0, note=summary)
