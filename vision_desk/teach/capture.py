"""Samples cut from video frames: the whole frame, a region of it, or the objects of one class (GUI-free).

Regions are kept as fractions of the frame ``(x, y, w, h)``, the form the
``classify`` stage's ``region`` parameter takes, so a region drawn on a 1280 x 720
frame still fits when the source changes size.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Callable

import numpy as np

from vision_desk.engine.results import Detections
from vision_desk.teach.dataset import TeachSet, check_class_name

#: How much an object's box grows on each side before it is cut out (a share of its width and height):
#: a crop tight on the box loses the object's outline, which a classifier uses.
OBJECT_PADDING = 0.1
#: Crops with a side shorter than this (pixels) are skipped: too small to learn from.
MIN_CROP = 8

Region = tuple[float, float, float, float]


def region_fractions(rect: Sequence[float], width: int, height: int) -> Region | None:
    """A rectangle in pixels ``(x, y, w, h)`` as fractions of a ``width`` x ``height`` frame; None when empty."""
    x, y, w, h = (float(v) for v in rect)
    x1, y1 = min(max(x, 0.0), width), min(max(y, 0.0), height)
    x2, y2 = min(max(x + w, 0.0), width), min(max(y + h, 0.0), height)
    if x2 - x1 < 1 or y2 - y1 < 1:
        return None
    return (round(x1 / width, 4), round(y1 / height, 4), round((x2 - x1) / width, 4), round((y2 - y1) / height, 4))


def region_pixels(region: Region, width: int, height: int) -> tuple[int, int, int, int]:
    """Fractions ``(x, y, w, h)`` as a pixel box ``(x1, y1, x2, y2)`` inside a ``width`` x ``height`` frame."""
    x, y, w, h = region
    x1, y1 = int(round(x * width)), int(round(y * height))
    x2, y2 = int(round((x + w) * width)), int(round((y + h) * height))
    x1, x2 = min(max(x1, 0), width), min(max(x2, 0), width)
    y1, y2 = min(max(y1, 0), height), min(max(y2, 0), height)
    return x1, y1, x2, y2


def crop_region(image: np.ndarray, region: Region) -> np.ndarray | None:
    """The part of ``image`` the region covers; None when it is smaller than :data:`MIN_CROP`."""
    x1, y1, x2, y2 = region_pixels(region, image.shape[1], image.shape[0])
    if x2 - x1 < MIN_CROP or y2 - y1 < MIN_CROP:
        return None
    return image[y1:y2, x1:x2]


def padded_box(xyxy: Sequence[float], width: int, height: int, padding: float = OBJECT_PADDING) -> tuple[int, int, int, int]:
    """A box ``(x1, y1, x2, y2)`` grown by ``padding`` of its size on each side, clipped to the frame, in whole pixels."""
    x1, y1, x2, y2 = (float(v) for v in xyxy)
    dx, dy = (x2 - x1) * padding, (y2 - y1) * padding
    return (max(0, int(np.floor(x1 - dx))), max(0, int(np.floor(y1 - dy))),
            min(width, int(np.ceil(x2 + dx))), min(height, int(np.ceil(y2 + dy))))


def object_crop(image: np.ndarray, xyxy: Sequence[float], padding: float = OBJECT_PADDING) -> np.ndarray:
    """The box's pixels with ``padding`` of its size added on each side, clipped to the image (at least 1 x 1)."""
    x1, y1, x2, y2 = padded_box(xyxy, image.shape[1], image.shape[0], padding)
    return image[y1:max(y1 + 1, y2), x1:max(x1 + 1, x2)]


def labels_in(detections: Detections) -> list[str]:
    """The distinct object labels of a frame, sorted."""
    return sorted({str(label) for label in detections.label if label is not None and str(label)})


def object_crops(image: np.ndarray, detections: Detections, label: str = "",
                 padding: float = OBJECT_PADDING) -> list[np.ndarray]:
    """The crops of every object labelled ``label`` (any case; every object when empty), padded and clipped.

    Objects whose crop is smaller than :data:`MIN_CROP` on a side are left out. The label is matched as the
    ``classify`` stage's ``of_class`` is, so the objects captured are the objects it will classify.
    """
    crops = (object_crop(image, detections.xyxy[i], padding) for i in detections.rows(label=label))
    return [crop for crop in crops if min(crop.shape[:2]) >= MIN_CROP]


def capture(source: str, dataset: Path, name: str, *, every: int = 1, limit: int = 0, region: Region | None = None,
            progress: Callable[[int, int], None] | None = None, should_stop: Callable[[], bool] | None = None) -> int:
    """Saves every ``every``-th frame of ``source`` (or its ``region``) as a sample of class ``name``.

    Args:
        source: any source URI the app opens (a file, ``images:`` folder, camera index, ``rtsp://``, ``demo:``).
        dataset: the teach set folder (created if need be).
        name: the class.
        every: keep one frame in this many.
        limit: stop after this many samples (0: at the end of the source; a camera or stream needs a limit).
        region: x, y, width, height as fractions of the frame, or None for the whole frame.
        progress: called with (frames read, samples saved) after every saved sample.
        should_stop: polled after every frame; True stops early (the samples saved so far are kept).

    Returns:
        How many samples were saved.

    Raises:
        VisionDeskError: the class name or the source is unusable (one sentence).
    """
    from vision_desk.engine.sources import open_source

    name = check_class_name(name)
    teach_set = TeachSet(Path(dataset))
    teach_set.make_private()  # a set made before sets were private gets the same protection as the new samples
    src = open_source(source)
    src.open()
    read = saved = 0
    try:
        while not (limit and saved >= limit):
            got = src.read()
            if got is None or (should_stop is not None and should_stop()):
                break
            read += 1
            if (read - 1) % max(1, every):
                continue
            sample = got[0] if region is None else crop_region(got[0], region)
            if sample is None:
                continue
            teach_set.add(name, sample)
            saved += 1
            if progress is not None:
                progress(read, saved)
    finally:
        src.close()
    return saved
