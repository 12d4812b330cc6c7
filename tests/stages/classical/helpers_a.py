"""Helpers for the classical toolbox tests (colour/geometry/filters/edges/contours/histograms half)."""

from __future__ import annotations

from typing import Any

import numpy as np

from vision_desk.engine.annotate import annotate
from vision_desk.engine.frame import Frame
from vision_desk.engine.pipeline import Pipeline, spec_from_dict


def run_stage(stage_id: str, image: np.ndarray, **params: Any) -> Frame:
    """Runs one stage, built from a validated pipeline dict, over one image; overlays are drawn too."""
    pipeline = Pipeline(spec_from_dict({"stages": [{"stage": stage_id, "params": params}]}))
    pipeline.setup()
    frame = pipeline.process(Frame(np.ascontiguousarray(image).copy(), 0, 0.0))
    frame.annotated = annotate(frame, pipeline)
    return frame


def gray_to_bgr(gray: np.ndarray) -> np.ndarray:
    return np.repeat(np.asarray(gray, np.uint8)[:, :, None], 3, axis=2)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10.0 * np.log10(255.0**2 / max(mse, 1e-12))
