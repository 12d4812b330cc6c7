"""Artistic rows: colorize and style at their default processing sizes on a 720p clip, against a bare read.

Colorize needs Zhang et al.'s weights; when they are not downloaded the rows
use networks written here instead and say so in the note column: the real
layout with random weights (the same cost per frame as the real network) and
the tests' small network (the cost of the Lab pipeline around the network).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from vision_desk.benchmarks import BenchContext, BenchRow

ORDER = 60

BASELINE = "cv2.VideoCapture read loop"


def _colorize_variants(workdir: Path) -> list[tuple[str, dict, str]]:
    """(row name, stage params, note) for the colorize rows that can run here."""
    from vision_desk.errors import ModelMissingError
    from vision_desk.stages.artistic.caffe_write import write_tiny_colorization, write_zhang_layout_random
    from vision_desk.stages.artistic.colorize import DEFAULT_FILES, resolve_files

    try:
        resolve_files(DEFAULT_FILES["prototxt"], DEFAULT_FILES["model"], DEFAULT_FILES["points"])
        return [("colorize @224, Zhang et al. weights", {}, "")]
    except ModelMissingError:
        pass
    import numpy as np

    layout = write_zhang_layout_random(workdir / "zhang_layout")
    tiny = write_tiny_colorization(workdir / "tiny_colorization", np.random.default_rng(1).normal(0, 30, (313, 2)))

    def params(files: dict[str, Path]) -> dict:
        return {"model": str(files["caffemodel"]), "prototxt": str(files["prototxt"]), "points": str(files["points"])}

    return [
        ("colorize @224, real layout", params(layout), "weights not downloaded: Zhang et al.'s layout with random weights"),
        ("colorize @224, test network", params(tiny), "weights not downloaded: the tests' small network (Lab pipeline cost)"),
    ]


def _painting(workdir: Path) -> Path:
    """A painting-like style picture: scikit-image's rocket through OpenCV's edge-preserving stylization."""
    import cv2
    from skimage import data

    path = workdir / "painting.png"
    if not path.exists():
        cv2.imwrite(str(path), cv2.stylization(cv2.cvtColor(data.rocket(), cv2.COLOR_RGB2BGR), sigma_s=60, sigma_r=0.45))
    return path


def _device_note() -> str:
    import onnxruntime

    return "GPU (CUDA)" if "CUDAExecutionProvider" in onnxruntime.get_available_providers() else "CPU"


def rows(ctx: BenchContext) -> Iterator[BenchRow]:
    from vision_desk.benchmarks.core import bare_read, engine_run, measure

    clip = ctx.clip(1280, 720, ctx.frames(60))
    group = "artistic 720p"
    bare_read(clip)
    n, t = measure(bare_read, clip)
    yield BenchRow(group, BASELINE, n / t, n)

    short = ctx.clip(1280, 720, ctx.frames(40) if ctx.quick else 24, name="pan_short")
    ort_device = _device_note()
    for name, params in [
        ("style 19 @384 (default), Magenta", {"style": "19"}),
        ("style 19 @256, Magenta", {"style": "19", "size": 256}),
        ("style 19 @384, preserve colours", {"style": "19", "preserve_colors": True}),
        ("style from a picture (arbitrary, 384)", {"style": str(_painting(ctx.workdir))}),
    ]:
        n, t = measure(engine_run, short, [{"stage": "style", "params": params}])
        yield BenchRow(group, name, n / t, n, baseline=BASELINE, note=f"ONNX Runtime on {ort_device}")

    from vision_desk.stages.artistic.lab import exact_colour_table

    exact_colour_table()  # the stage's one-time setup (a few seconds), kept out of the per-frame figures
    tiny_clip = ctx.clip(1280, 720, 10, name="pan_tiny")
    for name, params, note in _colorize_variants(ctx.workdir):
        n, t = measure(engine_run, tiny_clip, [{"stage": "colorize", "params": params}])
        yield BenchRow(group, name, n / t, n, baseline=BASELINE, note=note)
