"""Core rows: bare cv2.VideoCapture against the engine with no stages, blur -> canny, and recording."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Iterator

import cv2

from vision_desk.benchmarks import BenchContext, BenchRow

ORDER = 0


def bare_read(path: Path) -> int:
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    n = 0
    while True:
        ok, _ = cap.read()
        if not ok:
            break
        n += 1
    cap.release()
    return n


def engine_run(path: Path, stages: list[dict], record: Path | None = None) -> int:
    from vision_desk.engine.pipeline import Pipeline, spec_from_dict
    from vision_desk.engine.runner import Engine
    from vision_desk.engine.sinks.recorder import RecorderSink

    sinks = [RecorderSink(record, None)] if record else []
    engine = Engine(str(path), Pipeline(spec_from_dict({"stages": stages})), sinks=sinks, live=False, annotate=bool(record))
    return engine.run().frames_out


def measure(fn, *args) -> tuple[int, float]:  # noqa: ANN001
    t0 = time.perf_counter()
    n = fn(*args)
    return n, time.perf_counter() - t0


def best_of(rounds: int, *runs) -> list[tuple[int, float]]:  # noqa: ANN002
    """Runs each (fn, *args) once per round, interleaved, and keeps each one's fastest round.

    Interleaving spreads background load evenly over the variants being compared.
    """
    best: list[tuple[int, float]] = [(0, float("inf"))] * len(runs)
    for _ in range(rounds):
        for i, (fn, *args) in enumerate(runs):
            n, t = measure(fn, *args)
            if t < best[i][1]:
                best[i] = (n, t)
    return best


def rows(ctx: BenchContext) -> Iterator[BenchRow]:
    clip = ctx.clip(1920, 1080, ctx.frames(300))
    group = "core 1080p"
    base = "cv2.VideoCapture read loop"
    bare_read(clip)  # warm the page cache and FFmpeg's first open
    engine_run(clip, [])  # and the engine's imports
    edges = [{"stage": "blur", "params": {"ksize": 5}}, {"stage": "canny"}]
    (nb, tb), (ne, te), (nc, tc) = best_of(1 if ctx.quick else 5, (bare_read, clip), (engine_run, clip, []), (engine_run, clip, edges))
    yield BenchRow(group, base, nb / tb, nb)
    yield BenchRow(group, "engine, no stages", ne / te, ne, baseline=base)
    yield BenchRow(group, "engine, blur -> canny", nc / tc, nc, baseline=base)
    with tempfile.TemporaryDirectory() as tmp:
        n, t = measure(engine_run, clip, edges, Path(tmp) / "rec.mp4")
    yield BenchRow(group, "engine, blur -> canny + recording", n / t, n, baseline=base)
