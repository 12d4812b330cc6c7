"""Geometry stages: flip, rotate, translate, resize and crop."""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

from vision_desk.engine.frame import Frame
from vision_desk.engine.params import StageParams, param
from vision_desk.engine.stage import Stage
from vision_desk.errors import VisionDeskError

_FLIP_CODES = {"horizontal": 1, "vertical": 0, "both": -1}
INTERPOLATIONS = {
    "nearest": cv2.INTER_NEAREST, "linear": cv2.INTER_LINEAR, "cubic": cv2.INTER_CUBIC,
    "area": cv2.INTER_AREA, "lanczos": cv2.INTER_LANCZOS4,
}
Interpolation = Literal["nearest", "linear", "cubic", "area", "lanczos"]


class FlipParams(StageParams):
    direction: Literal["horizontal", "vertical", "both"] = param("horizontal", help="horizontal mirrors left-right (a selfie view); vertical upside-down; both = rotate 180 degrees.")


class FlipStage(Stage):
    id = "flip"
    title = "Flip"
    category = "Geometry"
    help = "Mirrors the frame horizontally, vertically or both."
    Params = FlipParams

    def process(self, frame: Frame) -> None:
        frame.image = cv2.flip(frame.image, _FLIP_CODES[self.params.direction])


def rotate(image: np.ndarray, angle: float, scale: float = 1.0, expand: bool = False) -> np.ndarray:
    """Rotates about the centre, counter-clockwise by ``angle`` degrees.

    With ``expand`` the canvas grows so that no corner is cut off; otherwise the
    frame keeps its size and the corners fall outside (black).
    """
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), angle, scale)
    size = (w, h)
    if expand:
        cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
        size = (int(round(h * sin + w * cos)), int(round(h * cos + w * sin)))
        matrix[0, 2] += size[0] / 2.0 - w / 2.0
        matrix[1, 2] += size[1] / 2.0 - h / 2.0
    return cv2.warpAffine(image, matrix, size, flags=cv2.INTER_LINEAR)


class RotateParams(StageParams):
    angle: float = param(15.0, ge=-360.0, le=360.0, step=1.0, widget="slider", help="Degrees, counter-clockwise.")
    scale: float = param(1.0, ge=0.05, le=8.0, step=0.05, help="Zoom applied with the rotation.")
    expand: bool = param(False, help="Grow the frame so that the whole rotated image fits (the frame size changes).")


class RotateStage(Stage):
    id = "rotate"
    title = "Rotate"
    category = "Geometry"
    help = "Rotates the frame about its centre by any angle, optionally scaling it or growing the frame to fit."
    Params = RotateParams

    def process(self, frame: Frame) -> None:
        p = self.params
        frame.image = rotate(frame.image, p.angle, p.scale, p.expand)


def translate(image: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """Shifts the image by (dx, dy) pixels; uncovered pixels are black."""
    h, w = image.shape[:2]
    matrix = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(image, matrix, (w, h))


class TranslateParams(StageParams):
    dx: int = param(50, ge=-10000, le=10000, help="Pixels to the right (negative: left).")
    dy: int = param(0, ge=-10000, le=10000, help="Pixels down (negative: up).")


class TranslateStage(Stage):
    id = "translate"
    title = "Translate"
    category = "Geometry"
    help = "Shifts the frame by a number of pixels (an affine translation); the uncovered part is black."
    Params = TranslateParams

    def process(self, frame: Frame) -> None:
        frame.image = translate(frame.image, self.params.dx, self.params.dy)


def resize(image: np.ndarray, scale: float, width: int, height: int, interpolation: str) -> np.ndarray:
    """Resizes to width x height; a zero side follows the other's aspect ratio; both zero: by ``scale``."""
    h, w = image.shape[:2]
    if width and height:
        size = (width, height)
    elif width:
        size = (width, max(1, round(h * width / w)))
    elif height:
        size = (max(1, round(w * height / h)), height)
    else:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=INTERPOLATIONS[interpolation])


class ResizeParams(StageParams):
    scale: float = param(0.5, ge=0.05, le=8.0, step=0.05, help="Scale factor, used when width and height are both 0.")
    width: int = param(0, ge=0, le=16384, help="Output width in pixels (0: from height's aspect ratio, or from scale).")
    height: int = param(0, ge=0, le=16384, help="Output height in pixels (0: from width's aspect ratio, or from scale).")
    interpolation: Interpolation = param("area", help="area is best for shrinking; cubic or lanczos for enlarging; nearest keeps hard pixels.")


class ResizeStage(Stage):
    id = "resize"
    title = "Resize"
    category = "Geometry"
    help = "Scales the frame by a factor or to a width and/or height (keeping the aspect ratio when one side is 0)."
    Params = ResizeParams

    def process(self, frame: Frame) -> None:
        p = self.params
        frame.image = resize(frame.image, p.scale, p.width, p.height, p.interpolation)


def crop(image: np.ndarray, region: tuple[int, int, int, int]) -> np.ndarray:
    """The part of the image inside (x, y, w, h), clipped to the image; (0, 0, 0, 0) keeps it whole.

    Raises:
        VisionDeskError: the region lies entirely outside the image.
    """
    h, w = image.shape[:2]
    x, y, rw, rh = region
    if rw <= 0 or rh <= 0:
        return image
    x1, y1, x2, y2 = max(0, x), max(0, y), min(w, x + rw), min(h, y + rh)
    if x2 <= x1 or y2 <= y1:
        raise VisionDeskError(f"crop region {tuple(region)} lies outside the {w}x{h} frame; draw the region inside the frame.")
    return np.ascontiguousarray(image[y1:y2, x1:x2])


class CropParams(StageParams):
    region: tuple[int, int, int, int] = param((0, 0, 0, 0), widget="rect", help="Region (x, y, w, h) to keep; all zeros keeps the whole frame. Parts outside the frame are cut off.")


class CropStage(Stage):
    id = "crop"
    title = "Crop"
    category = "Geometry"
    help = "Keeps only a rectangular region of the frame (later stages see the smaller frame)."
    Params = CropParams

    def process(self, frame: Frame) -> None:
        frame.image = crop(frame.image, self.params.region)
