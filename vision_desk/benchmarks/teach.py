"""Teaching: quick training time per backbone, live classification speed, and Grad-CAM's cost per frame.

The backbones start from untrained weights here (the bench never downloads):
the arithmetic, and so the time, is the same as with the pulled ImageNet
weights. The training set is the goal's: 3 classes x 50 hand-held views of
real photos at 224 px.
"""

from __future__ import annotations

import importlib
import tempfile
import time
from pathlib import Path
from typing import Iterator

import numpy as np

from vision_desk.benchmarks import BenchContext, BenchRow

ORDER = 75
PHOTOS = {"astronaut": "astronaut", "cat": "chelsea", "coffee": "coffee"}
#: The issue's goal for quick training of 3 classes x 50 samples on 2 cores.
QUICK_GOAL_S = 10.0


def _teach_set(root: Path, per_class: int) -> Path:
    import cv2
    from skimage import data

    from vision_desk.benchmarks.media import handheld_frames
    from vision_desk.teach.dataset import TeachSet

    teach_set = TeachSet(root)
    for k, (name, photo) in enumerate(PHOTOS.items()):
        image = cv2.cvtColor(getattr(data, photo)(), cv2.COLOR_RGB2BGR)
        for frame in handheld_frames(image, per_class, seed=k, size=(640, 480)):
            teach_set.add(name, frame)
    return root


def _train_rows(ctx: BenchContext, root: Path) -> Iterator[BenchRow]:
    from vision_desk.teach.backbones import BACKBONES, DEFAULT_BACKBONE
    from vision_desk.teach.train import TrainOptions, train

    per_class = 50
    dataset = _teach_set(root / "set", per_class)
    started = time.perf_counter()
    importlib.import_module("torchvision")  # before timing, as the app has it preloaded (gui/preload.py)

    imports = time.perf_counter() - started
    samples = per_class * len(PHOTOS)
    order = [DEFAULT_BACKBONE] + [b for b in BACKBONES if b != DEFAULT_BACKBONE]
    for arch in order if not ctx.quick else order[:2]:
        started = time.perf_counter()
        result = train(dataset, root / f"model-{arch}", TrainOptions(mode="quick", backbone=arch, pretrained=False))
        seconds = time.perf_counter() - started
        goal = (f"(goal <= {QUICK_GOAL_S:.0f} s; importing torch and torchvision first took {imports:.1f} s more)"
                if arch == DEFAULT_BACKBONE else "")
        yield BenchRow("teach-train", f"quick {arch}, 3 x {per_class} at 224", samples / seconds, samples,
                       None if arch == DEFAULT_BACKBONE else f"quick {DEFAULT_BACKBONE}, 3 x {per_class} at 224",
                       f"{seconds:.1f} s, val acc {result.accuracy:.2f} {goal}".rstrip())
    started = time.perf_counter()
    epochs = 2
    train(dataset, root / "model-full", TrainOptions(mode="full", backbone=DEFAULT_BACKBONE, pretrained=False,
                                                     epochs=epochs))
    seconds = time.perf_counter() - started
    yield BenchRow("teach-train", f"full {DEFAULT_BACKBONE}, {epochs} epochs", samples / seconds, samples,
                   f"quick {DEFAULT_BACKBONE}, 3 x {per_class} at 224", f"{seconds:.1f} s")


def _classify_rows(ctx: BenchContext, model: Path) -> Iterator[BenchRow]:
    from vision_desk.engine.frame import Frame
    from vision_desk.engine.pipeline import Pipeline, spec_from_dict
    from vision_desk.engine.results import Detections
    from vision_desk.benchmarks.media import read_frames

    frames = read_frames(ctx.clip(1280, 720, ctx.frames(120)))
    boxes = np.array([[40 + 120 * i, 200 + 20 * (i % 3), 150 + 120 * i, 420 + 20 * (i % 3)] for i in range(10)], np.float32)

    def run(params: dict, with_boxes: bool) -> float:
        pipeline = Pipeline(spec_from_dict({"stages": [{"stage": "classify", "params": {"model": str(model), **params}}]}))
        pipeline.setup()
        pipeline.process(Frame(frames[0], 0, 0.0))  # warm-up: OpenVINO compiles on the first call
        started = time.perf_counter()
        for i, image in enumerate(frames):
            frame = Frame(image, i, i / 30)
            if with_boxes:
                frame.add(Detections.from_boxes(boxes, "thing", track_id=np.arange(10) + 100 * i))
            pipeline.process(frame)
        fps = len(frames) / (time.perf_counter() - started)
        pipeline.close()
        return fps

    whole = run({"on": "frame", "smooth": 1}, False)
    yield BenchRow("teach-classify", "whole 720p frame", whole, len(frames), note=f"{1000 / whole:.1f} ms a frame")
    objects = run({"on": "objects", "smooth": 1}, True)
    yield BenchRow("teach-classify", "10 objects per 720p frame", objects, len(frames), "whole 720p frame",
                   f"{1000 / objects:.1f} ms a frame: one batch of 10 crops")
    explained = run({"on": "frame", "smooth": 1, "explain": True}, False)
    yield BenchRow("teach-classify", "whole 720p frame + Grad-CAM (explain)", explained, len(frames), "whole 720p frame",
                   f"{1000 / explained:.1f} ms a frame; Grad-CAM runs the PyTorch network, forward and backward")


def rows(ctx: BenchContext) -> Iterator[BenchRow]:
    with tempfile.TemporaryDirectory(dir=ctx.workdir) as tmp:
        root = Path(tmp)
        yield from _train_rows(ctx, root)
        yield from _classify_rows(ctx, root / "model-mobilenet_v3_large")
