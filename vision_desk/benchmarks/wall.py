"""Wall rows (``--only wall``): several live streams with detect + track, one process sharing the model against
one process per stream.

Each stream is the 30 fps 1280x720 clip of the live rows (six shapes bouncing
around, the ``shapes640`` model: YOLO11n at its own 640, so a real model's
cost) played live, at its frame rate, keeping only the newest frame. detect
runs in order (``run: sync``), so every frame that comes out was analysed,
and track follows it. 1, 2 and 4 streams run two ways, each in fresh
processes measured over the same 15 s window once every stream has loaded
(each case twice, alternating, and the better run kept):

- **shared**: one process (:class:`vision_desk.engine.multi.MultiEngine`), the
  detector loaded once and its batching front running the frames the streams
  have waiting as one call (concurrent requests on OpenVINO's THROUGHPUT model);
- **a process each**: N processes of one stream each, as N ``vision-desk run``
  would be (each its own copy of everything, OpenVINO's LATENCY model).

The fps is the analysed frames per second of all streams together, and the
ratio shared / a process each (goal 1.3x or more at 4 streams on the CPU).
Notes: the p95 capture-to-output latency per stream, the resident memory
(RSS) of the process or processes, the memory each stream past the first
adds (goal 150 MB or less shared), and with a shared model how many streams
one inference call served on average.

The second group gives analysed frames per CPU-second the process or
processes used (all their threads): what the work costs. On a machine other
jobs share, the scheduler hands N processes a larger part of the cores than
one (it shares by thread), which the fps rows mix into the comparison and
this figure leaves out.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from vision_desk.benchmarks import BenchContext, BenchRow

ORDER = 95
SECONDS = 15.0
STREAMS = (1, 2, 4)
#: Runs of each case, alternating the two ways; the best of each is reported (one with ``--quick``).
REPEATS = 2
#: Frames each stream puts out after loading before the window can open.
WARM_FRAMES = 10


@dataclass
class WallRun:
    """What the processes of one case measured over the window."""

    fps: float  # analysed frames per second, all streams together
    per_cpu_s: float  # analysed frames per CPU-second the process(es) used (all their threads)
    p95_ms: float  # the worst stream's p95 capture-to-output latency
    rss_mb: float  # resident memory of the process(es), summed
    per_call: float  # streams one inference call served on average (0 where not shared)


def measure(sources: list[str], spec_dict: dict, seconds: float, go: threading.Event) -> dict:
    """Runs the sources live in this process, one engine each; once every stream has put out a frame, says READY
    on stdout and waits for ``go``, then counts frames for ``seconds``. Returns the figures as a dict."""
    import numpy as np
    import psutil

    from vision_desk.engine import model_pool
    from vision_desk.engine.multi import MultiEngine
    from vision_desk.engine.pipeline import spec_from_dict

    window: dict[str, float] = {}
    outs: list[tuple[int, float, float]] = []  # (stream, capture time, output time) inside the window
    warm = [0] * len(sources)  # frames each stream put out since its stages loaded
    lock = threading.Lock()

    def on_frame(stream, frame) -> None:  # noqa: ANN001
        now = time.perf_counter()
        k = multi.streams.index(stream)
        with lock:
            if not stream.engine.pipeline.loading():
                warm[k] += 1
            if window.get("start", float("inf")) <= now <= window.get("end", float("inf")):
                outs.append((k, frame.capture_time, now))

    multi = MultiEngine(sources, spec_from_dict(spec_dict), live=True, realtime=True, duration=seconds + 600,
                        on_frame=on_frame)
    multi.start()
    while min(warm) < WARM_FRAMES:  # loaded, and past the first batches (OpenVINO compiles its THROUGHPUT model then)
        if len(multi.running) < len(sources):
            raise RuntimeError(f"a stream ended before it started: {[str(s.error) for s in multi.streams]}")
        time.sleep(0.05)
    print("READY", flush=True)
    go.wait()
    before = {row.key: (row.calls, row.requests) for row in model_pool.snapshot()}
    me = psutil.Process()
    cpu0 = sum(me.cpu_times()[:2])
    with lock:
        window["start"] = time.perf_counter()
        window["end"] = window["start"] + seconds
    time.sleep(seconds)
    cpu_s = sum(me.cpu_times()[:2]) - cpu0
    rss = me.memory_info().rss / 2**20
    calls = requests = 0
    for row in model_pool.snapshot():
        c0, r0 = before.get(row.key, (0, 0))
        calls, requests = calls + row.calls - c0, requests + row.requests - r0
    multi.stop()
    multi.join(60)
    with lock:
        rows = np.array(outs) if outs else np.zeros((0, 3))
    p95 = max((float(np.percentile((rows[rows[:, 0] == k, 2] - rows[rows[:, 0] == k, 1]) * 1000, 95))
               for k in range(len(sources)) if (rows[:, 0] == k).any()), default=float("nan"))
    return {"fps": len(rows) / seconds, "frames": len(rows), "cpu_s": cpu_s, "p95_ms": p95, "rss_mb": rss,
            "per_call": requests / calls if calls and len(sources) > 1 else 0.0}


def run_case(processes: int, streams_each: int, clip: Path, spec_dict: dict, seconds: float) -> WallRun:
    """``processes`` worker processes of ``streams_each`` streams each, started together and measured over the
    same window once all have loaded."""
    args = [sys.executable, "-m", "vision_desk.benchmarks.wall", "--worker", str(streams_each), str(seconds), str(clip),
            json.dumps(spec_dict)]
    workers = [subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for _ in range(processes)]
    try:
        for w in workers:
            _line_of(w, lambda line: line.strip() == "READY")
        for w in workers:
            w.stdin.write("GO\n")  # type: ignore[union-attr]
            w.stdin.flush()  # type: ignore[union-attr]
        results = [json.loads(_line_of(w, lambda line: line.startswith("{"))) for w in workers]
    finally:
        for w in workers:
            w.wait(120)
    return WallRun(fps=sum(r["fps"] for r in results),
                   per_cpu_s=sum(r["frames"] for r in results) / max(sum(r["cpu_s"] for r in results), 1e-9),
                   p95_ms=max(r["p95_ms"] for r in results),
                   rss_mb=sum(r["rss_mb"] for r in results), per_call=max(r["per_call"] for r in results))


def prepare(clip: Path, spec_dict: dict) -> None:
    """Runs the pipeline on the clip's first frames here, so the model's export for the clip's frame shape is built
    and cached before any measured process starts (a live run does not wait for it: the clip would play on)."""
    from vision_desk.engine.pipeline import Pipeline, spec_from_dict
    from vision_desk.engine.runner import Engine

    Engine(str(clip), Pipeline(spec_from_dict(spec_dict)), annotate=False, max_frames=2).run()


def _line_of(worker: subprocess.Popen, wanted) -> str:  # noqa: ANN001 - a predicate on a line
    """The next line of the worker's stdout that ``wanted`` accepts (a library may print lines of its own)."""
    while True:
        line = worker.stdout.readline()  # type: ignore[union-attr]
        if not line:
            raise RuntimeError(f"a wall worker ended early (exit code {worker.wait(30)})")
        if wanted(line):
            return line


def rows(ctx: BenchContext) -> Iterator[BenchRow]:
    from vision_desk.benchmarks.detect import bench_cache, bench_model
    from vision_desk.benchmarks.live import bouncing_clip

    seconds = 8.0 if ctx.quick else SECONDS
    model = bench_model("shapes640-yolo11n.pt", "parity-640")
    clip = bouncing_clip(bench_cache(), int(30 * (seconds + 60)))  # long enough for loading + the window
    spec = {"stages": [{"stage": "detect", "params": {"model": str(model), "confidence": 0.1, "run": "sync"}},
                       {"stage": "track"}]}
    prepare(clip, spec)
    group, cpu_group = "wall: detect + track, 720p live", "wall: frames per CPU-second"
    repeats = 1 if ctx.quick else REPEATS
    one = best(run_case(1, 1, clip, spec, seconds) for _ in range(repeats))
    yield BenchRow(group, "1 stream", one.fps, note=f"p95 latency {one.p95_ms:.0f} ms, RSS {one.rss_mb:.0f} MB")
    yield BenchRow(cpu_group, "1 stream", one.per_cpu_s)
    for n in STREAMS[1:]:
        runs = [(run_case(n, 1, clip, spec, seconds), run_case(1, n, clip, spec, seconds)) for _ in range(repeats)]
        apart, shared = best(a for a, _ in runs), best(s for _, s in runs)
        base = f"{n} streams, a process each"
        yield BenchRow(group, base, apart.fps, note=f"p95 latency {apart.p95_ms:.0f} ms, RSS {apart.rss_mb:.0f} MB "
                                                   f"(+{(apart.rss_mb - one.rss_mb) / (n - 1):.0f} MB per stream)")
        yield BenchRow(group, f"{n} streams, one process, shared model", shared.fps, baseline=base,
                       note=f"p95 latency {shared.p95_ms:.0f} ms, RSS {shared.rss_mb:.0f} MB "
                            f"(+{(shared.rss_mb - one.rss_mb) / (n - 1):.0f} MB per stream), "
                            f"{shared.per_call:.1f} streams per inference call")
        yield BenchRow(cpu_group, base, apart.per_cpu_s)
        yield BenchRow(cpu_group, f"{n} streams, one process, shared model", shared.per_cpu_s, baseline=base)


def best(runs) -> WallRun:  # noqa: ANN001 - an iterable of WallRun
    """The run with the most frames per second: the one other jobs on the machine disturbed least."""
    return max(runs, key=lambda r: r.fps)


def _worker(argv: list[str]) -> None:
    """``python -m vision_desk.benchmarks.wall --worker N SECONDS CLIP SPEC_JSON``: N streams of CLIP, measured
    once GO comes on stdin; the figures go to stdout as one JSON line."""
    streams, seconds, clip, spec = int(argv[0]), float(argv[1]), argv[2], json.loads(argv[3])
    go = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.readline(), go.set()), daemon=True).start()
    result = measure([clip] * streams, spec, seconds, go)
    print(json.dumps(result), flush=True)
    sys.stdout.flush()
    os._exit(0)  # skip the libraries' slow teardown: the figures are out


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        _worker(sys.argv[2:])
