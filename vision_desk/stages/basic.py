"""The core engine's first stages: grayscale, blur, canny, threshold, sketch and motion.

Each stage is a thin wrapper around a plain image function that can be tested
alone; the classical toolbox (its own family modules) follows the same pattern.
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

from vision_desk.engine.frame import Frame
from vision_desk.engine.params import StageParams, param
from vision_desk.engine.results import Detections
from vision_desk.engine.stage import Stage


def to_bgr(image: np.ndarray) -> np.ndarray:
    """Frames stay 3-channel BGR through the chain, so single-channel results are expanded."""
    return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image


def to_gray(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def odd(k: int) -> int:
    """OpenCV's Gaussian and median kernels must be odd; an even size means the next odd one."""
    return k if k % 2 else k + 1


class GrayscaleStage(Stage):
    id = "grayscale"
    title = "Grayscale"
    category = "Colour"
    help = "Converts the frame to grayscale (kept as three equal channels so later stages work unchanged)."

    def process(self, frame: Frame) -> None:
        frame.image = to_bgr(to_gray(frame.image))


class BlurParams(StageParams):
    method: Literal["gaussian", "median", "bilateral", "box"] = param("gaussian", help="Gaussian and box smooth; median removes salt-and-pepper noise; bilateral keeps edges.")
    ksize: int = param(5, ge=1, le=51, step=2, help="Kernel size in pixels (even sizes use the next odd one for gaussian and median).")


def blur(image: np.ndarray, method: str, ksize: int) -> np.ndarray:
    if method == "gaussian":
        return cv2.GaussianBlur(image, (odd(ksize), odd(ksize)), 0)
    if method == "median":
        return cv2.medianBlur(image, odd(ksize))
    if method == "bilateral":
        return cv2.bilateralFilter(image, ksize, 75, 75)
    return cv2.blur(image, (ksize, ksize))


class BlurStage(Stage):
    id = "blur"
    title = "Blur"
    category = "Filters"
    help = "Smooths the frame with a Gaussian, median, bilateral or box kernel."
    Params = BlurParams

    def process(self, frame: Frame) -> None:
        p = self.params
        frame.image = blur(frame.image, p.method, p.ksize)


class CannyParams(StageParams):
    low: int = param(50, ge=0, le=1000, help="Lower hysteresis threshold: weaker edges connected to strong ones are kept.")
    high: int = param(150, ge=0, le=1000, help="Upper hysteresis threshold: gradients above it are edges.")


class CannyStage(Stage):
    id = "canny"
    title = "Canny edges"
    category = "Edges"
    help = "Canny edge detector: white edges on black. Blur first to suppress noise."
    Params = CannyParams
    values = {"edge_pixels": "Number of edge pixels."}

    def process(self, frame: Frame) -> None:
        edges = cv2.Canny(to_gray(frame.image), self.params.low, self.params.high)
        frame.values["edge_pixels"] = int(np.count_nonzero(edges))
        frame.image = to_bgr(edges)


class ThresholdParams(StageParams):
    method: Literal["binary", "otsu", "adaptive"] = param("binary", help="binary: fixed value; otsu: value chosen from the histogram; adaptive: per-neighbourhood mean.")
    value: int = param(127, ge=0, le=255, help="Threshold for the binary method.")
    block_size: int = param(31, ge=3, le=255, step=2, help="Neighbourhood size for the adaptive method (odd).")


class ThresholdStage(Stage):
    id = "threshold"
    title = "Threshold"
    category = "Thresholds"
    help = "Turns the frame into black and white; Otsu's choice is reported as the value 'threshold'."
    Params = ThresholdParams
    values = {"threshold": "The threshold used (Otsu's choice for otsu; the set value for binary)."}

    def process(self, frame: Frame) -> None:
        p = self.params
        gray = to_gray(frame.image)
        if p.method == "adaptive":
            out = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, odd(p.block_size), 5)
        else:
            flags = cv2.THRESH_BINARY | (cv2.THRESH_OTSU if p.method == "otsu" else 0)
            used, out = cv2.threshold(gray, p.value, 255, flags)
            frame.values["threshold"] = float(used)
        frame.image = to_bgr(out)


class SketchParams(StageParams):
    blur: int = param(21, ge=1, le=101, step=2, help="Blur of the inverted image; larger gives softer, broader strokes.")


def pencil_sketch(image: np.ndarray, ksize: int) -> np.ndarray:
    """The classic webcam sketch: divide the gray image by a blurred inverse of itself (colour dodge)."""
    gray = to_gray(image)
    inverted_blur = cv2.GaussianBlur(255 - gray, (odd(ksize), odd(ksize)), 0)
    return cv2.divide(gray, 255 - inverted_blur, scale=256)


class SketchStage(Stage):
    id = "sketch"
    title = "Pencil sketch"
    category = "Effects"
    help = "The classic webcam pencil sketch (colour-dodge of the gray frame with its blurred inverse)."
    Params = SketchParams

    def process(self, frame: Frame) -> None:
        frame.image = to_bgr(pencil_sketch(frame.image, self.params.blur))


class MotionParams(StageParams):
    min_area: int = param(500, ge=1, le=1_000_000, help="Smallest moving region, in pixels, reported as an object.")
    history: int = param(300, ge=10, le=5000, help="Frames the background model remembers.")
    var_threshold: float = param(32.0, ge=1.0, le=500.0, help="How different from the background a pixel must be to count as moving.")
    shadows: bool = param(False, help="Detect shadows (marked grey, not counted as motion).")


class MotionStage(Stage):
    id = "motion"
    title = "Motion (MOG2)"
    category = "Motion"
    help = "Background subtraction (MOG2): one 'motion' object per moving region; the count is in values."
    Params = MotionParams
    values = {"motion_count": "Moving regions found (the 'motion' objects).",
              "motion_fraction": "Share of the frame that moves (0-1)."}
    columns = {"area": "Contour area of the region, in pixels."}

    def __init__(self, params: StageParams | None = None) -> None:
        super().__init__(params)
        self._subtractor: cv2.BackgroundSubtractorMOG2 | None = None
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))

    def reset(self) -> None:
        self._subtractor = None

    def update_params(self, params: StageParams) -> None:
        super().update_params(params)
        self.reset()

    def process(self, frame: Frame) -> None:
        p = self.params
        if self._subtractor is None:
            self._subtractor = cv2.createBackgroundSubtractorMOG2(p.history, p.var_threshold, p.shadows)
        mask = self._subtractor.apply(frame.image)
        _, mask = cv2.threshold(mask, 200, 255, cv2.THRESH_BINARY)  # shadows (127) are not motion
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, self._kernel)
        mask = cv2.dilate(mask, self._kernel, iterations=2)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        boxes = []
        areas = []
        for c in contours:
            area = cv2.contourArea(c)
            if area >= p.min_area:
                x, y, w, h = cv2.boundingRect(c)
                boxes.append((x, y, x + w, y + h))
                areas.append(int(area))
        frame.add(Detections.from_boxes(boxes, "motion", source=self.id, area=areas))
        frame.values["motion_count"] = len(boxes)
        frame.values["motion_fraction"] = round(float(np.count_nonzero(mask)) / mask.size, 4)
