"""Analysis: blur detection (variance of the Laplacian) and image comparison (MSE and SSIM)."""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

from vision_desk.engine.frame import Frame
from vision_desk.engine.params import StageParams, param
from vision_desk.engine.stage import Stage
from vision_desk.stages.basic import to_bgr, to_gray
from vision_desk.stages.classical._frame_tools import StatefulStage, read_image_file
from vision_desk.stages.classical.detect_classic import IMAGE_FILTER


def _put_value(canvas: np.ndarray, text: str, row: int, color: tuple[int, int, int]) -> None:
    y = 30 + 30 * row
    cv2.putText(canvas, text, (10, y), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 4, cv2.LINE_AA)
    cv2.putText(canvas, text, (10, y), cv2.FONT_HERSHEY_SIMPLEX, 0.8, color, 2, cv2.LINE_AA)


# -- blur detection -------------------------------------------------------------------------


def laplacian_variance(image: np.ndarray) -> float:
    """Sharpness as the variance of the Laplacian of the gray image: few strong edges means a low value."""
    return float(cv2.Laplacian(to_gray(image), cv2.CV_64F).var())


class BlurDetectParams(StageParams):
    threshold: float = param(100.0, ge=0.0, le=100_000.0, help="Frames whose Laplacian variance is below this are flagged blurry (depends on the scene and the resolution: calibrate on a sharp frame).")


class BlurDetectStage(Stage):
    id = "blur_detect"
    title = "Blur detection"
    category = "Analysis"
    help = "Measures sharpness as the variance of the Laplacian (value 'blur_variance') and flags blurry frames ('blurry')."
    Params = BlurDetectParams
    values = {"blur_variance": "Variance of the Laplacian (higher is sharper).", "blurry": "True below the threshold."}

    def process(self, frame: Frame) -> None:
        variance = laplacian_variance(frame.image)
        frame.values["blur_variance"] = round(variance, 2)
        frame.values["blurry"] = variance < self.params.threshold

    def draw(self, canvas: np.ndarray, frame: Frame) -> None:
        if "blurry" in frame.values:
            blurry = frame.values["blurry"]
            _put_value(canvas, f"{'blurry' if blurry else 'sharp'} ({frame.values['blur_variance']:.0f})", 0, (0, 0, 255) if blurry else (0, 220, 0))


# -- image comparison ---------------------------------------------------------------------


def comparison_size(shape: tuple[int, ...], width: int) -> tuple[int, int]:
    """(w, h) at which frames of this shape are compared: ``width`` wide (never upscaled), same aspect."""
    h, w = shape[:2]
    cw = min(width, w)
    return cw, max(7, round(h * cw / w))  # SSIM's window needs at least 7 pixels


def comparison_gray(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return cv2.resize(to_gray(image), size, interpolation=cv2.INTER_AREA)


def mse_ssim(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Mean squared error and SSIM (in [-1, 1]) of two gray images of one size."""
    from skimage.metrics import structural_similarity

    mse = float(np.mean((a.astype(np.float32) - b.astype(np.float32)) ** 2))
    return mse, float(structural_similarity(a, b, data_range=255))


def compare_images(a: np.ndarray, b: np.ndarray, width: int = 320) -> tuple[float, float]:
    """MSE and SSIM of two images compared as gray at ``width`` pixels wide (b is resized to a's aspect).

    SSIM on a full 720p frame costs ~30 times more and mostly measures sensor noise.
    """
    size = comparison_size(a.shape, width)
    return mse_ssim(comparison_gray(a, size), comparison_gray(b, size))


class CompareParams(StageParams):
    reference: Literal["previous", "first", "image"] = param("previous", help="Compare with the previous frame, the first frame (after a reset), or a reference image file.")
    image: str = param("", widget="image_path", file_filter=IMAGE_FILTER, help="The reference image when reference is 'image' (resized to the frame).")
    ssim_threshold: float = param(0.9, ge=0.0, le=1.0, step=0.01, widget="slider", help="SSIM below this sets the 'changed' flag.")
    width: int = param(320, ge=32, le=4096, help="Compare at this width in pixels: smaller is faster and ignores noise.")
    view: Literal["frame", "difference"] = param("frame", help="Show the frame, or the absolute difference from the reference (brighter = more different).")


class CompareStage(StatefulStage):
    id = "compare"
    title = "Image comparison"
    category = "Analysis"
    help = "Compares each frame with the previous frame, the first frame or a reference image: MSE and SSIM in values, a 'changed' flag."
    Params = CompareParams
    values = {"compare_mse": "Mean squared difference from the reference.", "compare_ssim": "Structural similarity (1 = identical).",
              "changed": "True when SSIM is below ssim_threshold."}

    def reset(self) -> None:
        self._reference: np.ndarray | None = None

    def process(self, frame: Frame) -> None:
        p = self.params
        size = comparison_size(frame.image.shape, p.width)
        current = comparison_gray(frame.image, size)
        if p.reference == "image":
            if not p.image:
                frame.extras[self.id] = "pick a reference image"
                return
            reference = comparison_gray(read_image_file(p.image, "compare image"), size)
        else:
            if self._reference is None or self._reference.shape != current.shape:
                self._reference = current  # the first frame is its own reference: identical, unchanged
            reference = self._reference
            if p.reference == "previous":
                self._reference = current
        mse, ssim = mse_ssim(current, reference)
        frame.values["compare_mse"] = round(mse, 3)
        frame.values["compare_ssim"] = round(ssim, 4)
        frame.values["changed"] = ssim < p.ssim_threshold
        if p.view == "difference":
            diff = cv2.absdiff(current, reference)
            frame.image = to_bgr(cv2.resize(diff, (frame.shape[1], frame.shape[0]), interpolation=cv2.INTER_LINEAR))

    def draw(self, canvas: np.ndarray, frame: Frame) -> None:
        hint = frame.extras.get(self.id)
        if hint:
            _put_value(canvas, f"compare: {hint}", 0, (0, 200, 255))
        elif "compare_ssim" in frame.values:
            changed = frame.values["changed"]
            _put_value(canvas, f"SSIM {frame.values['compare_ssim']:.3f}{'  changed' if changed else ''}", 1, (0, 0, 255) if changed else (0, 220, 0))
