"""Batch at scale: ``vision-desk batch`` with 1 worker against ``--workers auto`` and against a Ray cluster.

Each throughput row is a whole ``vision-desk batch`` process timed from the outside, start-up and model
loading included, over a folder of short 640x360 clips (a real photo panned). Speed is frames per second
over the whole folder, for the classical pipeline (``edges``) and a detection pipeline (the shapes model
with ``track``, as in :mod:`.detect`). The Ray rows run the same batch on a local cluster on loopback
(started once, not timed), so they show what Ray adds on one machine.

The overhead rows time what a distributed batch pays per worker and per work item: starting a worker
process, building the pipeline (model load), a Ray task round trip, finding the keyframes of a file and
joining segments; ``docs/scale.md`` projects efficiency at 8, 64 and 512 workers from them.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

from vision_desk.benchmarks import BenchContext, BenchRow
from vision_desk.benchmarks.scale_model import Overheads, many_files, one_long_file

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


def _seconds(name: str, seconds: float, what: str) -> BenchRow:
    return BenchRow("scale", name, 0.0, note=f"{seconds * 1000:.1f} ms {what}")


def _spawn_worker() -> float:
    """A spawned worker process ready to run batch items (interpreter start, imports), as batch_workers starts one."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    started = time.perf_counter()
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        pool.submit(_import_batch).result()
    return time.perf_counter() - started


def _import_batch() -> None:
    importlib.import_module("vision_desk.engine.batch")  # what a worker imports before its first file


def _model_load(pipeline: Path, clip: Path) -> float:
    """Building the pipeline and its first frame (models load in setup), less one steady frame."""
    from vision_desk.engine.batch import BatchItem, process_item
    from vision_desk.engine.pipeline import Pipeline, load_spec

    started = time.perf_counter()
    built = Pipeline(load_spec(pipeline), stage_errors="raise")
    first = time.perf_counter() - started
    try:
        item = process_item(BatchItem(clip, Path(clip.name), [clip.parent / "scale-load.jsonl"], span=(0, 1)), built,
                            video=False)
        return first + item.seconds
    finally:
        built.close()


def _cut_and_join(ctx: BenchContext, frames: int) -> tuple[float, float, float, int]:
    """(seconds to find the cuts, MP4 join seconds, JSONL join seconds, frames) for one clip cut into 4 segments."""
    from vision_desk.engine.batch import BatchItem
    from vision_desk.engine.batch_segments import join, join_mp4, segment_starts
    from vision_desk.engine.frame import Frame
    from vision_desk.engine.sinks.recorder import RecorderSink
    from vision_desk.engine.sources.files import VideoFileSource
    from vision_desk.engine.uri import SourceURI

    clip = ctx.clip(640, 360, frames)
    segment_starts(clip, frames / 30 / 4)  # once untimed: the first call also imports and loads FFmpeg
    started = time.perf_counter()
    segment_starts(clip, frames / 30 / 4)  # 4 segments
    scan = time.perf_counter() - started
    parts, starts, quarter = [], [], frames // 4
    for n in range(4):  # four recorded segments, as workers write them
        source = VideoFileSource(SourceURI("file", str(clip), {}, str(clip)), span=(n * quarter, (n + 1) * quarter))
        source.open()
        sink = RecorderSink(ctx.workdir / f"scale-seg{n}.mp4", source.fps)
        while (read := source.read()) is not None:
            image, at = read
            frame = Frame(image=image, index=source.position - 1, timestamp=at, capture_time=0.0, source_id="bench")
            sink.write(frame)
        sink.close()
        source.close()
        parts.append(sink.path)
        starts.append(n * quarter / source.fps)
    started = time.perf_counter()
    join_mp4(parts, starts, ctx.workdir / "scale-joined.mp4")
    mp4 = time.perf_counter() - started
    record = '{"frame":%d,"time":%.4f,"objects":[{"box":[101.5,52.25,180.75,140.0],"label":"car","score":0.87,' \
             '"track_id":7}],"values":{"detect_count":1}}\n'
    pieces = []
    for n in range(4):  # a detection's worth of results per frame, as segments write them
        lines = ctx.workdir / f"scale-seg{n}.jsonl"
        lines.write_text("".join(record % (i, i / 30) for i in range(n * quarter, (n + 1) * quarter)))
        pieces.append(BatchItem(clip, Path(clip.name), [lines]))
    started = time.perf_counter()
    join(pieces, [ctx.workdir / "scale-joined.jsonl"])
    return scan, mp4, time.perf_counter() - started, frames


def _ray_task_overhead(address: str) -> tuple[float, float]:
    """(first task on a fresh worker, a warm task's round trip), both doing nothing, in seconds."""
    import ray

    from vision_desk.engine.batch_ray import connect

    connect(address)
    nothing = ray.remote(num_cpus=1)(_import_batch)
    started = time.perf_counter()
    ray.get(nothing.remote())
    first = time.perf_counter() - started
    started = time.perf_counter()
    ray.get([nothing.remote() for _ in range(20)])
    return first, (time.perf_counter() - started) / 20


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
    per_worker: dict[str, float] = {}  # frames per second of one worker while every core is busy
    for name, pipeline in pipelines.items():
        _batch(folder, pipeline, ctx.workdir / "scale-warm", "1", [])  # builds any export once, untimed
        one = _batch(folder, pipeline, ctx.workdir / "scale-out", "1", [])
        yield BenchRow("scale", f"{name}, 1 worker, {FILES} files", total / one, total, note=f"{one:.1f} s")
        auto = _batch(folder, pipeline, ctx.workdir / "scale-out", "auto", [])
        yield BenchRow("scale", f"{name}, auto workers, {FILES} files", total / auto, total,
                       f"{name}, 1 worker, {FILES} files", f"{auto:.1f} s")
        per_worker[name] = total / auto / min(FILES, os.cpu_count() or 1)
    spawn = _spawn_worker()
    yield _seconds("worker process start (spawn + imports)", spawn, "per worker")
    loads = {name: _model_load(pipeline, folder / "clip0.mp4") for name, pipeline in pipelines.items()}
    for name, seconds in loads.items():
        yield _seconds(f"model load: {name}", seconds, "per worker")
    scan, join_video, join_results, joined = _cut_and_join(ctx, ctx.frames(2400))
    yield _seconds("find the cuts of 4 segments (3 seeks)", scan, f"per file of {joined} frames")
    yield _seconds("join 4 segments: MP4 (packets copied)", join_video, f"per file of {joined} frames, 640x360")
    yield _seconds("join 4 segments: JSONL", join_results, f"per file of {joined} frames")
    task = [0.0]
    yield from _ray_rows(ctx, folder, pipelines, total, task)
    for name, rate in per_worker.items():
        video = Overheads(spawn + loads[name], task[0], scan / 3, (join_video + join_results) / joined)
        results = Overheads(spawn + loads[name], task[0], scan / 3, join_results / joined)
        for workers in (8, 64, 512):
            yield BenchRow("scale", f"projection: {name}, {workers} workers", 0.0, note=(
                f"efficiency {many_files(workers, rate, video):.3f} for 1,000 one-hour files; one 100-hour file: "
                f"{one_long_file(workers, rate, video):.3f} with video, {one_long_file(workers, rate, results):.3f} "
                f"results only ({rate:.0f} fps per worker; a projection from the rows above)"))


def _ray_rows(ctx: BenchContext, folder: Path, pipelines: dict[str, Path], total: int,
              task: list[float]) -> Iterator[BenchRow]:
    """The same batches through a local Ray cluster (one node with every core, on loopback, token auth on).

    ``task[0]`` is set to a warm Ray task's round trip, for the projection.
    """
    try:
        import ray
    except ImportError:
        yield BenchRow("scale", "Ray rows skipped: Ray is not installed (pip install 'vision-desk[cluster]')", 0.0)
        return
    from vision_desk.benchmarks.ray_cluster import RayCluster

    cluster = RayCluster(cpus=os.cpu_count() or 1, nodes=1)
    started = time.perf_counter()
    cluster.start()
    yield _seconds("Ray cluster start (head node)", time.perf_counter() - started, "once, not in the rows below")
    saved = cluster.use_here()
    try:
        first, warm = _ray_task_overhead(cluster.address)
        task[0] = warm
        yield _seconds("Ray task on a fresh worker (process + imports)", first, "per worker")
        yield _seconds("Ray task round trip, warm worker", warm, "per work item")
        ray.shutdown()
        for name, pipeline in pipelines.items():
            seconds = _batch(folder, pipeline, ctx.workdir / "scale-out", "1", ["--ray", cluster.address])
            yield BenchRow("scale", f"{name}, Ray (local cluster), {FILES} files", total / seconds, total,
                           f"{name}, 1 worker, {FILES} files", f"{seconds:.1f} s")
    finally:
        if ray.is_initialized():
            ray.shutdown()
        cluster.stop()
        cluster.restore(saved)
