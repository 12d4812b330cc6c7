"""Text rows: OCR every frame, OCR every 10th frame (default and 640 px detector) and code reading on the 720p demo scene (printed text and a QR code).

The clip is the built-in demo source recorded once to H.264, so decoding is
part of every row, as in the baseline (a bare ``cv2.VideoCapture`` read loop).
The EasyOCR reader is loaded before timing: its start-up is not per frame.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from vision_desk.benchmarks import BenchContext, BenchRow
from vision_desk.benchmarks.core import bare_read, measure

ORDER = 60
BASELINE = "cv2.VideoCapture read loop"


def demo_clip(ctx: BenchContext, frames: int) -> Path:
    """The 1280x720 demo scene recorded to an MP4 in the bench folder (once per size)."""
    from vision_desk.engine.pipeline import Pipeline
    from vision_desk.engine.runner import Engine
    from vision_desk.engine.sinks.recorder import RecorderSink

    path = ctx.workdir / f"demo_1280x720_{frames}.mp4"
    if not path.exists():
        sink = RecorderSink(path, 30.0, annotated=False, atomic=True, encoder="libx264")
        Engine("demo:?fps=1000", Pipeline(), sinks=[sink], live=False, annotate=False, max_frames=frames).run()
    return path


def engine_frames(path: Path, stages: list[dict], max_frames: int) -> int:
    from vision_desk.engine.pipeline import Pipeline, spec_from_dict
    from vision_desk.engine.runner import Engine

    pipeline = Pipeline(spec_from_dict({"stages": stages}))
    return Engine(str(path), pipeline, live=False, annotate=False, max_frames=max_frames).run().frames_out


def rows(ctx: BenchContext) -> Iterator[BenchRow]:
    from vision_desk.stages.text.easyocr_models import load_reader

    group = "text 720p"
    total = ctx.frames(150)
    clip = demo_clip(ctx, total)
    bare_read(clip)  # warm the page cache
    n, t = measure(bare_read, clip)
    yield BenchRow(group, BASELINE, n / t, n)
    n, t = measure(engine_frames, clip, [{"stage": "codes"}], total)
    yield BenchRow(group, "codes (zbar + OpenCV fallbacks)", n / t, n, baseline=BASELINE)
    load_reader(["en"])
    every = ctx.frames(60)
    n, t = measure(engine_frames, clip, [{"stage": "ocr", "params": {"every": 10}}], every)
    yield BenchRow(group, "ocr every 10th frame (carried between)", n / t, n, baseline=BASELINE)
    n, t = measure(engine_frames, clip, [{"stage": "ocr", "params": {"every": 10, "detector_size": 640}}], every)
    yield BenchRow(group, "ocr every 10th frame, detector at 640 px", n / t, n, baseline=BASELINE)
    few = ctx.frames(12)
    n, t = measure(engine_frames, clip, [{"stage": "ocr"}], few)
    yield BenchRow(group, "ocr every frame", n / t, n, baseline=BASELINE)
