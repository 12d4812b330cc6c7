"""Every OpenCV threshold type in one stage (the basic ``threshold`` stage keeps the three common ones)."""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

from vision_desk.engine.frame import Frame
from vision_desk.engine.params import StageParams, param
from vision_desk.engine.stage import Stage
from vision_desk.stages.classical._common import OddInt, to_bgr, to_gray

_FIXED = {
    "binary": cv2.THRESH_BINARY,
    "binary_inv": cv2.THRESH_BINARY_INV,
    "truncate": cv2.THRESH_TRUNC,
    "to_zero": cv2.THRESH_TOZERO,
    "to_zero_inv": cv2.THRESH_TOZERO_INV,
    "otsu": cv2.THRESH_BINARY | cv2.THRESH_OTSU,
    "otsu_inv": cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU,
    "triangle": cv2.THRESH_BINARY | cv2.THRESH_TRIANGLE,
}
_ADAPTIVE = {"adaptive_mean": cv2.ADAPTIVE_THRESH_MEAN_C, "adaptive_gaussian": cv2.ADAPTIVE_THRESH_GAUSSIAN_C}

ThresholdMethod = Literal[
    "binary", "binary_inv", "truncate", "to_zero", "to_zero_inv", "otsu", "otsu_inv", "triangle",
    "adaptive_mean", "adaptive_gaussian",
]


def apply_threshold(gray: np.ndarray, method: str, value: int = 127, max_value: int = 255,
                    block_size: int = 31, c: float = 5.0, invert: bool = False) -> tuple[np.ndarray, float | None]:
    """Thresholds a gray image; returns the result and the threshold used (None for adaptive methods).

    binary: max_value above ``value``, else 0; binary_inv the opposite; truncate:
    pixels above ``value`` become ``value``; to_zero: pixels at or below ``value``
    become 0; to_zero_inv: pixels above become 0; otsu / triangle choose ``value``
    from the histogram; adaptive_*: each pixel against the mean (or Gaussian-weighted
    mean) of its ``block_size`` neighbourhood minus ``c``, for uneven lighting.
    """
    if method in _ADAPTIVE:
        kind = cv2.THRESH_BINARY_INV if invert else cv2.THRESH_BINARY
        return cv2.adaptiveThreshold(gray, max_value, _ADAPTIVE[method], kind, block_size, c), None
    used, out = cv2.threshold(gray, value, max_value, _FIXED[method])
    return out, float(used)


class ThresholdExParams(StageParams):
    method: ThresholdMethod = param("otsu", help="binary(_inv), truncate, to_zero(_inv) use 'value'; otsu(_inv) and triangle pick it from the histogram; adaptive_mean / adaptive_gaussian threshold each neighbourhood.")
    value: int = param(127, ge=0, le=255, widget="slider", help="Threshold for the fixed methods.")
    max_value: int = param(255, ge=0, le=255, help="Value written for pixels that pass (binary, otsu, triangle, adaptive).")
    block_size: OddInt = param(31, ge=3, le=255, step=2, help="Adaptive methods: neighbourhood size in pixels (odd).")
    c: float = param(5.0, ge=-100.0, le=100.0, help="Adaptive methods: subtracted from the neighbourhood mean (higher keeps fewer pixels).")
    invert: bool = param(False, help="Adaptive methods: dark pixels pass (text on paper becomes white).")


class ThresholdExStage(Stage):
    id = "threshold_ex"
    title = "Threshold (all types)"
    category = "Thresholds"
    help = ("All OpenCV thresholds: binary, inverse, truncate, to-zero (+inverse), Otsu, triangle, adaptive mean / "
            "Gaussian. Values: threshold_used (Otsu's choice) and threshold_white_fraction.")
    Params = ThresholdExParams
    values = {"threshold_used": "The threshold used by the fixed, Otsu and triangle methods.",
              "threshold_white_fraction": "Share of pixels that pass (0-1)."}

    def process(self, frame: Frame) -> None:
        p = self.params
        out, used = apply_threshold(to_gray(frame.image), p.method, p.value, p.max_value, p.block_size, p.c, p.invert)
        if used is not None:
            frame.values["threshold_used"] = used
        frame.values["threshold_white_fraction"] = round(float(np.count_nonzero(out)) / out.size, 4)
        frame.image = to_bgr(out)
