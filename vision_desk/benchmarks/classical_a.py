"""Classical toolbox rows (colour, geometry, filters, thresholds, morphology, edges, contours, histograms, noise) at 720p.

Each family's stages run as one chain through the engine over the same
clip; the baseline is a bare ``cv2.VideoCapture`` read of that clip, measured
here, so a row's ratio is the share of decoding speed the family keeps.
Non-local means denoising is slow by nature and gets its own, shorter row.
"""

from __future__ import annotations

from typing import Iterator

from vision_desk.benchmarks import BenchContext, BenchRow
from vision_desk.benchmarks.core import bare_read, engine_run, measure

ORDER = 40

#: One chain per family, each stage with its default parameters unless a value makes the chain sensible.
FAMILIES: dict[str, list[dict]] = {
    "Colour": [{"stage": "color_space", "params": {"space": "hsv"}}, {"stage": "color_space", "params": {"space": "bgr"}},
               {"stage": "brightness_contrast", "params": {"contrast": 1.2, "brightness": 10}}, {"stage": "gamma"},
               {"stage": "arithmetic"}, {"stage": "bitwise_mask"}, {"stage": "color_filter", "params": {"output": "original"}}],
    "Geometry": [{"stage": "flip"}, {"stage": "rotate"}, {"stage": "translate"}, {"stage": "crop", "params": {"region": [0, 0, 1280, 720]}},
                 {"stage": "perspective", "params": {"points": [[40, 20], [1240, 40], [1260, 700], [20, 690]], "width": 1280, "height": 720}},
                 {"stage": "resize", "params": {"width": 1280, "height": 720}}],
    "Filters": [{"stage": "kernel", "params": {"preset": "sharpen"}}, {"stage": "kernel", "params": {"preset": "gaussian_5x5"}},
                {"stage": "sharpen"}],
    "Thresholds": [{"stage": "threshold_ex", "params": {"method": "otsu"}}, {"stage": "threshold_ex", "params": {"method": "adaptive_gaussian"}}],
    "Morphology": [{"stage": "morphology", "params": {"operation": "open"}}, {"stage": "morphology", "params": {"operation": "gradient"}}],
    # the analysing stages see the photo (on an edge map the Hough and blob stages slow down several times over)
    "Edges": [{"stage": "hough_lines"}, {"stage": "hough_circles"}, {"stage": "blobs"}, {"stage": "corners"},
              {"stage": "edges", "params": {"method": "canny_auto"}}],
    "Contours": [{"stage": "contours"}],
    "Histograms": [{"stage": "histogram"}, {"stage": "equalize"}, {"stage": "dominant_colors"}],
    "Noise": [{"stage": "noise", "params": {"kind": k}} for k in ("gaussian", "salt_pepper", "speckle", "poisson")],
}
DENOISE = [{"stage": "denoise"}]


def rows(ctx: BenchContext) -> Iterator[BenchRow]:
    group = "classical-a 720p"
    base = "cv2.VideoCapture read loop"
    clip = ctx.clip(1280, 720, ctx.frames(120))
    bare_read(clip)  # warm the page cache and FFmpeg's first open
    n, t = measure(bare_read, clip)
    yield BenchRow(group, base, n / t, n)
    for family, stages in FAMILIES.items():
        n, t = measure(engine_run, clip, stages)
        ids = " -> ".join(s["stage"] for s in stages)
        yield BenchRow(group, family, n / t, n, baseline=base, note=ids)
    short = ctx.clip(1280, 720, 10, name="pan_short")
    n, t = measure(engine_run, short, DENOISE)
    yield BenchRow(group, "Filters: denoise (heavy)", n / t, n, baseline=base, note="non-local means, 10 frames")
