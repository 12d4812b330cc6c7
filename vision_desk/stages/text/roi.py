"""Regions of interest shared by the text stages: crop a frame to a rect and draw the rect."""

from __future__ import annotations

import cv2
import numpy as np

Rect = tuple[int, int, int, int]

ROI_HELP = "Only look inside this rectangle (x, y, width, height in pixels); 0, 0, 0, 0 is the whole frame."


def crop(image: np.ndarray, roi: Rect) -> tuple[np.ndarray, tuple[int, int]]:
    """The part of the image inside roi (clipped to the image) and its top-left corner.

    A zero-sized or empty roi means the whole image.
    """
    x, y, w, h = (int(v) for v in roi)
    if w <= 0 or h <= 0:
        return image, (0, 0)
    ih, iw = image.shape[:2]
    x0, y0 = min(max(0, x), iw), min(max(0, y), ih)
    x1, y1 = min(iw, x0 + w), min(ih, y0 + h)
    return image[y0:y1, x0:x1], (x0, y0)


def draw(canvas: np.ndarray, roi: Rect, color: tuple[int, int, int] = (0, 200, 255)) -> None:
    """Outlines a set roi with a dashed-looking thin rectangle; nothing for the whole frame."""
    x, y, w, h = (int(v) for v in roi)
    if w > 0 and h > 0:
        cv2.rectangle(canvas, (x, y), (x + w - 1, y + h - 1), color, 1, cv2.LINE_4)


def polygon_box(polygon: np.ndarray) -> tuple[float, float, float, float]:
    """The xyxy bounding box of a polygon given as (K, 2) points."""
    pts = np.asarray(polygon, np.float32).reshape(-1, 2)
    return float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max())
