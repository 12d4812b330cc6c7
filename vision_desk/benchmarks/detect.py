"""Detection rows: Ultralytics' own tracking loop against ``vision-desk batch`` doing the same job.

The baseline is what Ultralytics users write: ``YOLO(model).track(clip,
stream=True)`` with the PyTorch model (its defaults: imgsz 640, conf 0.1,
ByteTrack), one process, start-up included. Against it: ``vision-desk batch``
with ``detect`` (conf 0.1, imgsz 640, backend auto: an OpenVINO export at
384x640 run by the PyTorch-free OpenVINO detector on the CPU, PyTorch FP16
with batches on a GPU) and ``track``
(ByteTrack, the same settings, the tracker's boxes as Ultralytics reports them), JSONL export on, once ``--no-video`` and once
recording an annotated MP4. Every row is a whole process timed from the
outside; the export is built by an untimed first run (its cost is shown in
that row's note).

The model is the shapes YOLO11n the tests use (no COCO weights offline;
speed does not depend on the weights, and a trained model makes the box
agreement meaningful): the committed one in a checkout, else trained once. Agreement: the share of Ultralytics' tracked boxes that
vision-desk also reports with the same class at IoU >= 0.9.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

import numpy as np

from vision_desk.benchmarks import BenchContext, BenchRow

ORDER = 30
GROUP = "detect 720p"
BASELINE = "ultralytics YOLO.track loop (PyTorch)"

_ULTRALYTICS_LOOP = """
import json, os, sys
os.environ["YOLO_OFFLINE"] = "1"; os.environ["YOLO_AUTOINSTALL"] = "false"; os.environ["YOLO_VERBOSE"] = "false"
from ultralytics import YOLO
model, clip, out, device = sys.argv[1:5]
rows = []
for r in YOLO(model).track(source=clip, stream=True, imgsz=640, tracker="bytetrack.yaml", device=device, verbose=False):
    b = r.boxes
    rows.append([[*map(float, xyxy), int(c)] for xyxy, c in zip(b.xyxy.tolist(), b.cls.tolist())])
json.dump(rows, open(out, "w"))
"""


def bench_cache() -> Path:
    """Where the trained shapes model and the clip are kept between bench runs."""
    from vision_desk.weights import models_dir

    path = Path(os.environ.get("VISION_DESK_BENCH_CACHE") or models_dir().parent / "bench")
    path.mkdir(parents=True, exist_ok=True)
    return path


def bench_model() -> Path:
    """The shapes model: a copy of the repository's committed test model when run from a checkout (no training,
    and the same model on every machine), else one trained into the bench cache (a few minutes, once)."""
    import hashlib
    import shutil

    from vision_desk.benchmarks.shapes import prune_cache, train_shapes_model

    fixture = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "shapes-yolo11n.pt"
    if fixture.is_file():
        model = bench_cache() / f"shapes-{hashlib.sha256(fixture.read_bytes()).hexdigest()[:16]}" / fixture.name
        if not model.is_file():
            model.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(fixture, model.with_name(model.name + ".part"))
            os.replace(model.with_name(model.name + ".part"), model)
    else:
        model = train_shapes_model(bench_cache())
    prune_cache(bench_cache(), model)
    return model


def bench_clip(folder: Path, frames: int) -> Path:
    """A 1280x720 clip of shapes at the size the model learned (objects 22-48 px at 720p, i.e. 11-24 px at 640)."""
    from vision_desk.benchmarks.shapes import CLASSES, Mover

    rng = np.random.default_rng(7)
    movers = []
    for k in range(10):
        r = float(rng.uniform(12, 24))
        angle = rng.uniform(0, 2 * np.pi)
        speed = float(rng.uniform(1.0, 3.0))
        movers.append(Mover(CLASSES[k % 3], float(rng.uniform(60, 1220)), float(rng.uniform(60, 660)),
                            speed * np.cos(angle), speed * np.sin(angle), r, k + 1, turn=frames // 2))
    from vision_desk.benchmarks.shapes import write_movers_clip

    return write_movers_clip(folder / f"shapes720_{frames}.mp4", movers, frames, (1280, 720), bg="coffee")


def _run(cmd: list[str]) -> float:
    env = {**os.environ, "YOLO_OFFLINE": "1", "YOLO_AUTOINSTALL": "false", "YOLO_VERBOSE": "false"}
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} ... failed: {proc.stderr.strip()[-800:]}")
    return elapsed


def agreement(reference: list[list[list[float]]], jsonl: Path) -> tuple[float, int]:
    """Share of reference boxes (x1, y1, x2, y2, class) matched at IoU >= 0.9 with the same class, and their count."""
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    matched = total = 0
    for ref, rec in zip(reference, records):
        ours = [(o["xyxy"], o.get("class_id", -1)) for o in rec["objects"] if o.get("track_id") is not None]
        for *box, cls in ref:
            total += 1
            for xyxy, c in ours:
                if c == cls and _iou(box, xyxy) >= 0.9:
                    matched += 1
                    break
    return (matched / total if total else 0.0), total


def _iou(a: list[float], b: list[float]) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def rows(ctx: BenchContext) -> Iterator[BenchRow]:
    from vision_desk.weights import pick_device

    model = bench_model()
    n = ctx.frames(300)
    clip_dir = ctx.workdir / f"detect-clip-{n}"  # batch takes the whole folder: one clip in it
    clip = bench_clip(clip_dir, n)
    short_dir = ctx.workdir / "detect-clip-short"
    short = bench_clip(short_dir, 2)  # start-up alone: the same processes on a 2-frame clip
    device = pick_device("auto")
    reps = 1 if ctx.quick else 3
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)

        def ultralytics(video: Path, out: Path) -> float:
            return _run([sys.executable, "-c", _ULTRALYTICS_LOOP, str(model), str(video), str(out), device])

        def vision_desk(name: str, folder: Path, *extra: str, backend: str = "auto") -> float:
            pipeline = tmp / f"{name}.yaml"
            pipeline.write_text(json.dumps({"name": name, "stages": [
                {"stage": "detect", "params": {"model": str(model), "imgsz": 640, "confidence": 0.1, "backend": backend}},
                # Ultralytics' track() reports the tracker's boxes and the latest class of each track.
                {"stage": "track", "params": {"tracker": "bytetrack", "boxes": "tracker", "class_smoothing": 0}},
            ]}))
            return _run([sys.executable, "-m", "vision_desk.cli", "batch", str(folder), "-p", str(pipeline), "--out", str(tmp / f"out-{name}"), *extra])

        build = vision_desk("build", short_dir, "--no-video")  # builds (or finds) the cached export
        configs = {  # row -> (output folder key, run)
            BASELINE: ("", lambda: ultralytics(clip, tmp / "ultralytics.json")),
            "vision-desk batch --no-video": ("novideo", lambda: vision_desk("novideo", clip_dir, "--no-video")),
            "vision-desk batch, recording MP4": ("record", lambda: vision_desk("record", clip_dir)),
            "vision-desk batch --no-video, backend pytorch": ("pytorch", lambda: vision_desk("pytorch", clip_dir, "--no-video", backend="pytorch")),
        }
        times: dict[str, list[float]] = {name: [] for name in configs}
        for _ in range(reps):  # round robin, so a busy spell on a shared machine hits every row alike
            for name, (_, run) in configs.items():
                times[name].append(run())
        startup = {"ultralytics": float(np.median([ultralytics(short, tmp / "short.json") for _ in range(reps)])),
                   "vision-desk": float(np.median([vision_desk("short", short_dir, "--no-video") for _ in range(reps)]))}
        reference = json.loads((tmp / "ultralytics.json").read_text())
        base_t = float(np.median(times[BASELINE]))
        yield BenchRow(GROUP, BASELINE, n / base_t, n, note=f"device {device}; median of {reps}, whole process {base_t:.1f} s, "
                       f"start-up {startup['ultralytics']:.1f} s")
        steady_base = n / max(1e-9, base_t - startup["ultralytics"])
        for name, (key, _) in list(configs.items())[1:]:
            t = float(np.median(times[name]))
            share, total = agreement(reference, tmp / f"out-{key}" / (clip.stem + ".jsonl"))
            steady = n / max(1e-9, t - startup["vision-desk"]) / steady_base
            note = f"{share * 100:.1f}% of {total} boxes agree (IoU>=0.9); without start-up {steady:.2f}x"
            if key == "novideo":
                note += f"; start-up {startup['vision-desk']:.1f} s (export cached; the run that built it took {build:.1f} s)"
            yield BenchRow(GROUP, name, n / t, n, baseline=BASELINE, note=note)
