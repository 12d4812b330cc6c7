"""Batch at scale on one machine: ``vision-desk batch`` with 1 worker against ``--workers auto``.

Each row is a whole ``vision-desk batch`` process timed from the outside, start-up and model loading
included, over a folder of short 640x360 clips (a real photo panned). Speed is frames per second over the
whole folder. The rows show what the cores give: the classical pipeline (``edges``) and a detection
pipeline (the shapes model with ``track``, as in :mod:`.detect`).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

from vision_desk.benchmarks import BenchContext, BenchRow

ORDER = 80
FILES = 8


def _folder(ctx: BenchContext, frames: int) -> Path:
    folder = ctx.workdir / f"scale-{frames}"
    if not folder.is_dir():
        folder.mkdir(parents=True)
        clip = ctx.clip(640, 360, frames)
        for n in range(FILES):
            shutil.copyfile(clip, folder / f"clip{n}.mp4")
    return folder


def _batch(folder: Path, pipeline: Path, out: Path, workers: str, extra: list[str]) -> float:
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "vision_desk.cli", "batch", str(folder), "--pipeline", str(pipeline),
                           "--out", str(out), "--no-video", "--workers", workers, *extra], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "batch failed")
    return time.perf_counter() - started


def rows(ctx: BenchContext) -> Iterator[BenchRow]:
    import yaml

    from vision_desk.benchmarks.detect import bench_model
    from vision_desk.resources import resource_dir

    frames = ctx.frames(240)
    folder = _folder(ctx, frames)
    total = frames * FILES
    detection = ctx.workdir / "scale-detect.yaml"
    detection.write_text(yaml.safe_dump({"name": "detect-track", "stages": [
        {"stage": "detect", "params": {"model": str(bench_model()), "confidence": 0.1}},
        {"stage": "track", "params": {}}]}))
    pipelines = {"edges (classical)": resource_dir("pipelines") / "edges.yaml", "detect + track": detection}
    for name, pipeline in pipelines.items():
        _batch(folder, pipeline, ctx.workdir / "scale-warm", "1", [])  # builds any export once, untimed
        one = _batch(folder, pipeline, ctx.workdir / "scale-out", "1", [])
        yield BenchRow("scale", f"{name}, 1 worker, {FILES} files", total / one, total, note=f"{one:.1f} s")
        auto = _batch(folder, pipeline, ctx.workdir / "scale-out", "auto", [])
        yield BenchRow("scale", f"{name}, auto workers, {FILES} files", total / auto, total,
                       f"{name}, 1 worker, {FILES} files", f"{auto:.1f} s")
