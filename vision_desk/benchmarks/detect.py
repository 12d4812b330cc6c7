"""Detection rows: Ultralytics' own tracking loop against ``vision-desk batch`` doing the same job, per model.

The baseline is what Ultralytics users write: ``YOLO(model).track(clip,
stream=True, conf=0.1)`` with the PyTorch model and its defaults (the
checkpoint's own imgsz, ByteTrack), one process, start-up included. Against
it: ``vision-desk batch`` with ``detect`` (conf 0.1, imgsz auto, so the same
size; backend auto: an OpenVINO export run by the PyTorch-free OpenVINO
detector on the CPU, PyTorch FP16 with batches on a GPU) and ``track``
(ByteTrack, the tracker's boxes as Ultralytics reports them), JSONL export on,
once ``--no-video`` and once recording an annotated MP4. Every row is a whole
process timed from the outside; the export is built by an untimed first run.

Two models, each on a 1280x720 clip of its own world (see
:mod:`vision_desk.benchmarks.shapes`): ``shapes640``, trained at 640, in full
(the row that shows a ratio is not bought with a smaller input), and
``shapes320``, trained at 320, against Ultralytics at 320. From a checkout the
committed test models are used (the same models on every machine), elsewhere
they are trained once into the bench cache. Agreement: the share of boxes
paired one to one at IoU >= 0.9 with Ultralytics', out of the larger side's
count (:func:`vision_desk.benchmarks.parity.box_agreement`).
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
BASELINE = "ultralytics YOLO.track loop (PyTorch)"
#: model file -> (profile name, the rows to run besides the baseline)
MODELS = {"shapes640-yolo11n.pt": ("parity-640", ("novideo", "record", "pytorch")),
          "shapes320-yolo11n.pt": ("parity-320", ("novideo",))}

_ULTRALYTICS_LOOP = """
import json, os, sys
os.environ["YOLO_OFFLINE"] = "1"; os.environ["YOLO_AUTOINSTALL"] = "false"; os.environ["YOLO_VERBOSE"] = "false"
from ultralytics import YOLO
model, clip, out, device = sys.argv[1:5]
rows = []
for r in YOLO(model).track(source=clip, stream=True, conf=0.1, tracker="bytetrack.yaml", device=device, verbose=False):
    b = r.boxes
    rows.append(b.xyxy.tolist() if b.id is not None else [])
json.dump(rows, open(out, "w"))
"""


def bench_cache() -> Path:
    """Where the trained models and the clips are kept between bench runs."""
    from vision_desk.weights import models_dir

    path = Path(os.environ.get("VISION_DESK_BENCH_CACHE") or models_dir().parent / "bench")
    path.mkdir(parents=True, exist_ok=True)
    return path


def bench_model(name: str = "shapes-yolo11n.pt", profile: str = "fixture") -> Path:
    """A shapes model: a copy of the repository's committed test model when run from a checkout (no training,
    and the same model on every machine), else one trained into the bench cache with the profile (once)."""
    import hashlib
    import shutil

    from vision_desk.benchmarks.shapes import PROFILES, prune_cache, train_shapes_model

    fixture = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / name
    prefix = name.split("-")[0]
    if fixture.is_file():
        model = bench_cache() / f"{prefix}-{hashlib.sha256(fixture.read_bytes()).hexdigest()[:16]}" / fixture.name
        if not model.is_file():
            model.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(fixture, model.with_name(model.name + ".part"))
            os.replace(model.with_name(model.name + ".part"), model)
    else:
        model = train_shapes_model(bench_cache(), settings=PROFILES[profile])
    prune_cache(bench_cache(), model, prefix=prefix if fixture.is_file() else "shapes")
    return model


def bench_clip(folder: Path, frames: int, profile: str) -> Path:
    """A 1280x720 clip of eight shapes drifting and turning back, at the scale of the profile's world."""
    from vision_desk.benchmarks.shapes import CLASSES, Mover, world_scale, write_movers_clip

    scale = world_scale(profile, 1280)
    rng = np.random.default_rng(7)
    movers = []
    for k in range(8):
        r = float(rng.uniform(28, 48)) * scale
        angle = rng.uniform(0, 2 * np.pi)
        speed = float(rng.uniform(1.0, 3.0)) * scale
        movers.append(Mover(CLASSES[k % 3], float(rng.uniform(r, 1280 - r)), float(rng.uniform(r, 720 - r)),
                            speed * np.cos(angle), speed * np.sin(angle), r, k + 1, turn=frames // 2))
    return write_movers_clip(folder / f"{profile}_720p_{frames}.mp4", movers, frames, (1280, 720), bg="coffee")


def _run(cmd: list[str]) -> float:
    env = {**os.environ, "YOLO_OFFLINE": "1", "YOLO_AUTOINSTALL": "false", "YOLO_VERBOSE": "false"}
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} ... failed: {proc.stderr.strip()[-800:]}")
    return elapsed


def agreement(reference: list[list[list[float]]], jsonl: Path) -> tuple[float, int]:
    """Share of boxes paired with Ultralytics' at IoU >= 0.9 (see module doc), and the larger side's box count."""
    from vision_desk.benchmarks.parity import TrackRun, box_agreement

    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    ours = TrackRun([np.array([o["xyxy"] for o in r["objects"] if o.get("track_id") is not None], float).reshape(-1, 4)
                     for r in records], [], [])
    theirs = TrackRun([np.array(boxes, float).reshape(-1, 4) for boxes in reference], [], [])
    return box_agreement(ours, theirs)


def rows(ctx: BenchContext) -> Iterator[BenchRow]:
    for name, (profile, configs) in MODELS.items():
        yield from model_rows(ctx, name, profile, configs)


def model_rows(ctx: BenchContext, name: str, profile: str, wanted: tuple[str, ...]) -> Iterator[BenchRow]:
    """The baseline and the wanted vision-desk rows for one model, each at the model's own input size."""
    from vision_desk.stages.detection.model_cache import model_info
    from vision_desk.weights import pick_device

    model = bench_model(name, profile)
    imgsz = model_info(model).imgsz
    group = f"detect 720p, {name.split('-')[0]} at its imgsz {imgsz}"
    n = ctx.frames(300)
    clip_dir = ctx.workdir / f"detect-{profile}-{n}"  # batch takes the whole folder: one clip in it
    clip = bench_clip(clip_dir, n, profile)
    short_dir = ctx.workdir / f"detect-{profile}-short"
    short = bench_clip(short_dir, 2, profile)  # start-up alone: the same processes on a 2-frame clip
    device = pick_device("auto")
    reps = 1 if ctx.quick else 3
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)

        def ultralytics(video: Path, out: Path) -> float:
            return _run([sys.executable, "-c", _ULTRALYTICS_LOOP, str(model), str(video), str(out), device])

        def vision_desk(key: str, folder: Path, *extra: str, backend: str = "auto") -> float:
            pipeline = tmp / f"{key}.yaml"
            pipeline.write_text(json.dumps({"name": key, "stages": [
                {"stage": "detect", "params": {"model": str(model), "confidence": 0.1, "backend": backend}},
                # Ultralytics' track() reports the tracker's boxes and the latest class of each track.
                {"stage": "track", "params": {"tracker": "bytetrack", "boxes": "tracker", "class_smoothing": 0}},
            ]}))
            return _run([sys.executable, "-m", "vision_desk.cli", "batch", str(folder), "-p", str(pipeline), "--out", str(tmp / f"out-{key}"), *extra])

        build = vision_desk("build", short_dir, "--no-video")  # builds (or finds) the cached export
        every = {  # row -> (key, run)
            "vision-desk batch --no-video": ("novideo", lambda: vision_desk("novideo", clip_dir, "--no-video")),
            "vision-desk batch, recording MP4": ("record", lambda: vision_desk("record", clip_dir)),
            "vision-desk batch --no-video, backend pytorch": ("pytorch", lambda: vision_desk("pytorch", clip_dir, "--no-video", backend="pytorch")),
        }
        configs = {BASELINE: ("", lambda: ultralytics(clip, tmp / "ultralytics.json")),
                   **{row: (key, run) for row, (key, run) in every.items() if key in wanted}}
        times: dict[str, list[float]] = {row: [] for row in configs}
        for _ in range(reps):  # round robin, so a busy spell on a shared machine hits every row alike
            for row, (_, run) in configs.items():
                times[row].append(run())
        startup = {"ultralytics": float(np.median([ultralytics(short, tmp / "short.json") for _ in range(reps)])),
                   "vision-desk": float(np.median([vision_desk("short", short_dir, "--no-video") for _ in range(reps)]))}
        reference = json.loads((tmp / "ultralytics.json").read_text())
        base_t = float(np.median(times[BASELINE]))
        yield BenchRow(group, BASELINE, n / base_t, n, note=f"device {device}; median of {reps}, whole process {base_t:.1f} s, "
                       f"start-up {startup['ultralytics']:.1f} s")
        steady_base = n / max(1e-9, base_t - startup["ultralytics"])
        for row, (key, _) in list(configs.items())[1:]:
            t = float(np.median(times[row]))
            share, total = agreement(reference, tmp / f"out-{key}" / (clip.stem + ".jsonl"))
            steady = n / max(1e-9, t - startup["vision-desk"]) / steady_base
            note = f"{share * 100:.1f}% of {total} boxes agree (IoU>=0.9); without start-up {steady:.2f}x"
            if key == "novideo":
                note += f"; start-up {startup['vision-desk']:.1f} s (export cached; the run that built it took {build:.1f} s)"
            yield BenchRow(group, row, n / t, n, baseline=BASELINE, note=note)
