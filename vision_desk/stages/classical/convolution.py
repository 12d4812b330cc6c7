"""Convolution: a kernel stage with presets and custom kernels, sharpening and non-local-means denoising.

About "convolution": like OpenCV's ``filter2D`` and the convolution layers of
neural networks, :func:`convolve` slides the kernel over the image WITHOUT
flipping it, which mathematicians call cross-correlation. The course's worked
examples use this arithmetic (checked in the tests: the asymmetric kernel
[[0,1,0],[1,0,-1],[0,1,0]] gives their numbers only unflipped). Pass
``flip=True`` for true convolution; symmetric kernels (Laplacian, box,
Gaussian) give the same result either way.
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np
from pydantic import field_validator

from vision_desk.engine.frame import Frame
from vision_desk.engine.params import StageParams, param
from vision_desk.engine.stage import Stage
from vision_desk.stages.classical._common import OddInt, to_bgr, to_gray

#: The kernel presets (rows top to bottom), the common set of image-processing course material.
KERNELS: dict[str, np.ndarray] = {
    "identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], np.float64),
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], np.float64),
    "emboss": np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], np.float64),
    "box_blur": np.ones((3, 3), np.float64) / 9.0,
    "gaussian": np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], np.float64) / 16.0,
    "gaussian_5x5": np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]).astype(np.float64) / 256.0,
    "laplacian": np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], np.float64),
    "sobel_x": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float64),
    "sobel_y": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], np.float64),
    "edge_1": np.array([[1, 0, -1], [0, 0, 0], [-1, 0, 1]], np.float64),
    "edge_2": np.array([[0, -1, 0], [-1, 4, -1], [0, -1, 0]], np.float64),
    "edge_3": np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], np.float64),
}

_BORDERS = {"zero": cv2.BORDER_CONSTANT, "reflect": cv2.BORDER_REFLECT_101}


def convolve(
    image: np.ndarray,
    kernel: np.ndarray | list,
    padding: str | int = "valid",
    stride: int = 1,
    flip: bool = False,
) -> np.ndarray:
    """Slides ``kernel`` over ``image`` (2-D, or H x W x C channel by channel) and returns the raw sums.

    Args:
        image: the input; uint8 is computed in float32 (exact for integer kernels),
            anything else in float64.
        kernel: an odd-sized 2-D kernel, applied unflipped (cross-correlation, like
            ``cv2.filter2D``) unless ``flip``.
        padding: ``"valid"`` (no padding: the output shrinks by kernel size - 1),
            ``"same"`` or ``"zero"`` (zero padding that keeps the size),
            ``"reflect"`` (mirrored border, OpenCV's default), or an int: that many
            pixels of zeros on every side.
        stride: keep every ``stride``-th output row and column, starting at the first.
        flip: rotate the kernel by 180 degrees first (true convolution).

    Returns:
        The float response; e.g. the Laplacian on the course's 5x5 matrix gives
        [[692, -315, -6], [-680, -194, 305], [153, -59, -86]] with ``padding="valid"``.
    """
    k = np.asarray(kernel, np.float64)
    if k.ndim != 2 or k.shape[0] % 2 == 0 or k.shape[1] % 2 == 0:
        raise ValueError(f"kernel must be 2-D with odd sides, got shape {k.shape}")
    if stride < 1:
        raise ValueError(f"stride must be at least 1, got {stride}")
    dtype = np.float32 if np.asarray(image).dtype == np.uint8 else np.float64
    src = np.asarray(image, dtype)
    if flip:
        k = k[::-1, ::-1]
    ry, rx = k.shape[0] // 2, k.shape[1] // 2
    if isinstance(padding, (int, np.integer)) and not isinstance(padding, bool):
        src = cv2.copyMakeBorder(src, int(padding), int(padding), int(padding), int(padding), cv2.BORDER_CONSTANT, value=0)
        padding = "valid"
    if padding not in ("valid", "same", "zero", "reflect"):
        raise ValueError(f"padding must be 'valid', 'same', 'zero', 'reflect' or an int, got {padding!r}")
    border = _BORDERS["reflect" if padding == "reflect" else "zero"]
    out = cv2.filter2D(src, -1, k.astype(dtype), borderType=border)
    if padding == "valid":
        out = out[ry : out.shape[0] - ry, rx : out.shape[1] - rx]
    return out[::stride, ::stride] if stride > 1 else out


def to_display(response: np.ndarray, mode: str, zero_sum: bool) -> np.ndarray:
    """Maps a raw response to uint8: ``clip`` saturates, ``abs`` takes magnitudes, ``normalize`` stretches min..max.

    ``auto`` is ``abs`` for zero-sum kernels (edge detectors, whose responses are
    signed around 0) and ``clip`` otherwise.
    """
    if mode == "auto":
        mode = "abs" if zero_sum else "clip"
    if mode == "abs":
        return cv2.convertScaleAbs(response)
    if mode == "normalize":
        return cv2.normalize(response, None, 0, 255, cv2.NORM_MINMAX, dtype=cv2.CV_8U)
    return np.clip(np.round(response), 0, 255).astype(np.uint8)


class KernelParams(StageParams):
    preset: Literal[
        "identity", "sharpen", "emboss", "box_blur", "gaussian", "gaussian_5x5", "laplacian",
        "sobel_x", "sobel_y", "edge_1", "edge_2", "edge_3", "custom",
    ] = param("sharpen", help="A classic kernel, or custom to use the rows below.")
    custom: list[list[float]] = param([[0, 0, 0], [0, 1, 0], [0, 0, 0]], help="Custom kernel rows, 3x3 or 5x5, e.g. [[0,1,0],[1,-4,1],[0,1,0]].")
    normalize: bool = param(False, help="Divide the kernel by the sum of its weights (when that is not 0), so a custom blur keeps the brightness.")
    padding: Literal["reflect", "zero", "valid"] = param("reflect", help="reflect: mirrored border; zero: zero padding (both keep the size); valid: no padding, the frame shrinks by kernel size - 1.")
    stride: int = param(1, ge=1, le=8, help="Step between kernel positions; 2 halves the frame (the CNN stride).")
    flip: bool = param(False, help="Flip the kernel (true convolution); off is cross-correlation, as OpenCV and CNNs compute.")
    gray: bool = param(False, help="Convert to gray first (one response instead of one per colour channel).")
    output: Literal["auto", "clip", "abs", "normalize"] = param("auto", help="How the signed response becomes pixels: clip to 0..255, absolute value, stretch min..max; auto = abs for edge kernels, clip otherwise.")

    @field_validator("custom")
    @classmethod
    def _square_3_or_5(cls, rows: list[list[float]]) -> list[list[float]]:
        n = len(rows)
        if n not in (3, 5) or any(len(r) != n for r in rows):
            raise ValueError(f"must be 3 rows of 3 or 5 rows of 5 numbers, got {[len(r) for r in rows]}")
        return rows


def stage_kernel(p: KernelParams) -> np.ndarray:
    """The kernel a :class:`KernelParams` selects, normalised when asked."""
    k = np.asarray(p.custom, np.float64) if p.preset == "custom" else KERNELS[p.preset]
    total = float(k.sum())
    return k / total if p.normalize and abs(total) > 1e-12 else k


class KernelStage(Stage):
    id = "kernel"
    title = "Kernel (convolution)"
    category = "Filters"
    help = ("Applies a 3x3 / 5x5 kernel: presets (sharpen, emboss, blur, Laplacian, Sobel, edge 1-3) or custom rows, "
            "with zero/reflect/valid padding and a stride; the response range is in values (kernel_min, kernel_max).")
    Params = KernelParams
    values = {"kernel_min": "Lowest response of the convolution.", "kernel_max": "Highest response of the convolution."}

    def process(self, frame: Frame) -> None:
        p = self.params
        k = stage_kernel(p)
        src = to_gray(frame.image) if p.gray else frame.image
        response = convolve(src, k, p.padding, p.stride, p.flip)
        frame.extras[self.id] = {"response": response}
        frame.values["kernel_min"] = round(float(response.min()), 3)
        frame.values["kernel_max"] = round(float(response.max()), 3)
        frame.image = to_bgr(to_display(response, p.output, abs(float(k.sum())) < 1e-9))


def sharpen(image: np.ndarray, method: str, amount: float, sigma: float = 1.5, threshold: int = 0) -> np.ndarray:
    """Sharpens with a Laplacian kernel or an unsharp mask.

    ``kernel``: ``identity - amount * laplacian`` (amount 1 is the classic
    [[0,-1,0],[-1,5,-1],[0,-1,0]]). ``unsharp``: ``image + amount * (image - gaussian(image, sigma))``,
    only where that difference exceeds ``threshold`` (so flat, noisy areas stay smooth).
    """
    if method == "kernel":
        k = KERNELS["identity"] - amount * KERNELS["laplacian"]
        return cv2.filter2D(image, -1, k.astype(np.float32))
    blurred = cv2.GaussianBlur(image, (0, 0), sigma)
    sharp = cv2.addWeighted(image, 1.0 + amount, blurred, -amount, 0)
    if threshold > 0:
        flat = (cv2.absdiff(image, blurred) < threshold).all(axis=2) if image.ndim == 3 else cv2.absdiff(image, blurred) < threshold
        sharp[flat] = image[flat]
    return sharp


class SharpenParams(StageParams):
    method: Literal["unsharp", "kernel"] = param("unsharp", help="unsharp: add back the difference from a Gaussian blur; kernel: the 3x3 Laplacian sharpen kernel.")
    amount: float = param(1.0, ge=0.0, le=10.0, step=0.1, widget="slider", help="Strength: 0 leaves the frame unchanged.")
    sigma: float = param(1.5, ge=0.1, le=30.0, step=0.1, help="Unsharp: Gaussian radius (sigma, pixels) of the detail that is boosted.")
    threshold: int = param(0, ge=0, le=255, help="Unsharp: only sharpen where the detail differs from the blur by more than this (protects flat areas).")


class SharpenStage(Stage):
    id = "sharpen"
    title = "Sharpen / unsharp mask"
    category = "Filters"
    help = "Sharpens with an unsharp mask (amount, radius, threshold) or the Laplacian sharpen kernel."
    Params = SharpenParams

    def process(self, frame: Frame) -> None:
        p = self.params
        frame.image = sharpen(frame.image, p.method, p.amount, p.sigma, p.threshold)


class DenoiseParams(StageParams):
    strength: float = param(10.0, ge=1.0, le=50.0, step=1.0, help="Filter strength h for brightness: higher removes more noise and more detail.")
    color_strength: float = param(10.0, ge=0.0, le=50.0, step=1.0, help="Filter strength for colour noise (0 leaves colour alone).")
    template: OddInt = param(7, ge=3, le=21, step=2, help="Patch size compared between pixels (odd).")
    search: OddInt = param(21, ge=3, le=51, step=2, help="Window searched for similar patches (odd); larger is slower.")


def denoise(image: np.ndarray, strength: float, color_strength: float, template: int, search: int) -> np.ndarray:
    """Non-local means: each pixel becomes a weighted mean of pixels whose surrounding patches look alike."""
    return cv2.fastNlMeansDenoisingColored(image, None, strength, color_strength, template, search)


class DenoiseStage(Stage):
    id = "denoise"
    title = "Denoise (non-local means)"
    category = "Filters"
    help = "Non-local means denoising: removes grain while keeping edges. Heavy: about a second per 720p frame on a laptop CPU."
    heavy = True
    Params = DenoiseParams

    def process(self, frame: Frame) -> None:
        p = self.params
        frame.image = denoise(frame.image, p.strength, p.color_strength, p.template, p.search)
