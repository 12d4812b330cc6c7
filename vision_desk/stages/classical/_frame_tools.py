"""Small helpers the classical stages share: image files, regions, working at a reduced size, stateful stages."""

from __future__ import annotations

import os
from typing import Callable

import cv2
import numpy as np

from vision_desk.engine.params import StageParams
from vision_desk.engine.stage import Stage
from vision_desk.errors import VisionDeskError

_IMAGE_CACHE: dict[tuple[str, float, int], np.ndarray] = {}
_IMAGE_CACHE_SIZE = 4  # a few files are in use at a time (a template, a reference, a logo): each read once


def read_image_file(path: str, what: str, flags: int = cv2.IMREAD_COLOR) -> np.ndarray:
    """Reads an image once per file version (path and modification time); BGR unless ``flags`` say otherwise.

    Args:
        path: the file the user picked.
        what: names the parameter in the error message, e.g. "template".
        flags: cv2.imread flags; ``cv2.IMREAD_UNCHANGED`` keeps an alpha channel (and 16-bit depth).

    Raises:
        VisionDeskError: the file is missing or is not an image OpenCV can read.
    """
    try:
        mtime = os.path.getmtime(path)
    except OSError:
        raise VisionDeskError(f"{what}: the image file '{path}' does not exist; pick an existing PNG or JPEG file.") from None
    key = (os.path.abspath(path), mtime, flags)
    if key not in _IMAGE_CACHE:
        image = _decode(path, flags)
        if image is None:
            raise VisionDeskError(f"{what}: '{path}' is not an image OpenCV can read; pick a PNG or JPEG file.")
        while len(_IMAGE_CACHE) >= _IMAGE_CACHE_SIZE:  # never grow without bound: the oldest goes
            del _IMAGE_CACHE[next(iter(_IMAGE_CACHE))]
        _IMAGE_CACHE[key] = image
    return _IMAGE_CACHE[key]


def _decode(path: str, flags: int) -> np.ndarray | None:
    """The decoded image, or None where the path is a folder, unreadable, empty or not an image."""
    try:
        data = np.fromfile(path, np.uint8)  # imdecode rather than imread: it copes with non-ASCII paths on Windows
    except OSError:
        return None
    return cv2.imdecode(data, flags) if data.size else None


def clip_rect(rect: tuple[int, int, int, int], shape: tuple[int, ...]) -> tuple[int, int, int, int] | None:
    """The part of an (x, y, w, h) rectangle inside an image of this shape, or None when nothing is left."""
    h, w = shape[:2]
    x, y, rw, rh = rect
    x1, y1 = max(0, x), max(0, y)
    x2, y2 = min(w, x + rw), min(h, y + rh)
    if x2 <= x1 or y2 <= y1:
        return None
    return x1, y1, x2 - x1, y2 - y1


def shrink(image: np.ndarray, downscale: float) -> np.ndarray:
    """The image divided in size by ``downscale`` (INTER_AREA keeps it free of aliasing); itself at 1."""
    if downscale <= 1.0:
        return image
    h, w = image.shape[:2]
    size = (max(1, round(w / downscale)), max(1, round(h / downscale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def at_reduced_size(fn: Callable[[np.ndarray], np.ndarray], image: np.ndarray, downscale: float) -> np.ndarray:
    """Runs an image-to-image function on a shrunk copy and scales its result back to the image's size."""
    if downscale <= 1.0:
        return fn(image)
    out = fn(shrink(image, downscale))
    return cv2.resize(out, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR)



class StatefulStage(Stage):
    """A stage with per-video state that depends on its parameters: built fresh, and reset on any change.

    Subclasses set up their state in :meth:`reset` (called from ``__init__`` too).
    """

    def __init__(self, params: StageParams | None = None) -> None:
        super().__init__(params)
        self.reset()

    def update_params(self, params: StageParams) -> None:
        super().update_params(params)
        self.reset()
