"""Classical toolbox rows, second half: detection, motion, tracking, segmentation, analysis and effects at 720p.

One row per family runs all its stages chained with their default parameters
(as a user would add them) through the engine; the note gives each stage's
mean time per frame, so a slow stage stands out. The baseline is a bare read
of the same clip, measured here.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator

import cv2

from vision_desk.benchmarks import BenchContext, BenchRow
from vision_desk.benchmarks.core import bare_read

ORDER = 21
GROUP = "classical 720p"
BASELINE = "cv2.VideoCapture read loop (720p)"


def families(template: Path) -> dict[str, list[dict]]:
    """Each family's stages with their defaults (regions set where a stage needs one)."""
    region = [380, 490, 100, 100]  # the mission patch on the astronaut's suit in the bench clip
    return {
        "Detection": [{"stage": "template", "params": {"template": str(template)}}, {"stage": "haar"}, {"stage": "hog"}],
        "Motion": [{"stage": "bg_subtract"}, {"stage": "lk_flow"}, {"stage": "dense_flow"}],
        "Tracking": [{"stage": "meanshift", "params": {"region": region}}, {"stage": "camshift", "params": {"region": region}}, {"stage": "color_track"}],
        "Segmentation": [{"stage": "watershed"}, {"stage": "grabcut"}, {"stage": "inpaint"}],
        "Analysis": [{"stage": "blur_detect"}, {"stage": "compare"}],
        "Effects": [{"stage": s} for s in ("tilt_shift", "stylize", "detail", "pencil", "cartoon")],
        "Drawing": [{"stage": "draw", "params": {"text": "{time}\\n#{frame} {source}"}}, {"stage": "draw_rect"}, {"stage": "draw_line"},
                    {"stage": "draw_circle"}, {"stage": "draw_image", "params": {"image": str(template), "opacity": 0.7}}],
    }


def family_run(path: Path, stages: list[dict], max_frames: int) -> tuple[int, float, str]:
    """Frames processed, seconds taken, and each stage's mean milliseconds per frame."""
    from vision_desk.engine.pipeline import Pipeline, spec_from_dict
    from vision_desk.engine.runner import Engine

    engine = Engine(str(path), Pipeline(spec_from_dict({"stages": stages})), live=False, annotate=True, max_frames=max_frames)
    t0 = time.perf_counter()
    stats = engine.run()
    seconds = time.perf_counter() - t0
    note = ", ".join(f"{row['stage']} {row['mean_ms']:.0f} ms" for row in stats.stages)
    return stats.frames_out, seconds, note


def rows(ctx: BenchContext) -> Iterator[BenchRow]:
    clip = ctx.clip(1280, 720, ctx.frames(120))
    bare_read(clip)  # warm the page cache and FFmpeg's first open
    t0 = time.perf_counter()
    n = bare_read(clip)
    yield BenchRow(GROUP, BASELINE, n / (time.perf_counter() - t0), n)
    cap = cv2.VideoCapture(str(clip))
    ok, first = cap.read()
    cap.release()
    template = ctx.workdir / "classical_b_template.png"
    if ok:
        cv2.imwrite(str(template), first[150:270, 500:620])
    for family, stages in families(template).items():
        frames, seconds, note = family_run(clip, stages, ctx.frames(40))
        yield BenchRow(GROUP, f"{family} ({len(stages)} stages)", frames / seconds, frames, baseline=BASELINE, note=note)
