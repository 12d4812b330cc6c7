"""Shared pieces of the classical toolbox (colour/geometry/filters/edges/contours/histograms half).

Not a stage module (the leading underscore keeps discovery away): parameter
types with checks that live in the schema, and small image helpers.
"""

from __future__ import annotations

from typing import Annotated, Any

import cv2
import numpy as np
from pydantic import AfterValidator, Field

from vision_desk.engine.results import Detections
from vision_desk.stages.basic import odd, to_bgr, to_gray

__all__ = ["Byte", "OddInt", "OddOrZero", "Point", "auto_canny_thresholds", "binarize", "circle_detections", "circle_polygon", "contour_geometry", "pre_blur", "odd", "to_bgr", "to_gray"]


def _must_be_odd(value: int) -> int:
    if value % 2 == 0:
        raise ValueError("must be odd")
    return value


def _must_be_odd_or_zero(value: int) -> int:
    if value and value % 2 == 0:
        raise ValueError("must be 0 (off) or odd")
    return value


#: An int that validation rejects when even (OpenCV kernels and blocks need a centre pixel).
OddInt = Annotated[int, AfterValidator(_must_be_odd)]
#: An optional kernel size: 0 switches the step off, otherwise odd.
OddOrZero = Annotated[int, AfterValidator(_must_be_odd_or_zero)]
#: One 8-bit channel value.
Byte = Annotated[int, Field(ge=0, le=255)]
#: A pixel position (x, y).
Point = tuple[int, int]


def binarize(gray: np.ndarray, method: str, value: int = 127, invert: bool = False) -> np.ndarray:
    """A 0/255 mask from a gray image: ``otsu``, ``binary`` (fixed value), ``adaptive`` or ``canny``.

    ``invert`` makes dark things the foreground (dark shapes on a light page).
    """
    if method == "canny":
        mask = cv2.dilate(cv2.Canny(gray, *auto_canny_thresholds(gray)), None)
        return 255 - mask if invert else mask
    flag = cv2.THRESH_BINARY_INV if invert else cv2.THRESH_BINARY
    if method == "adaptive":
        return cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, flag, 31, 5)
    if method == "otsu":
        flag |= cv2.THRESH_OTSU
    return cv2.threshold(gray, value, 255, flag)[1]


def auto_canny_thresholds(gray: np.ndarray, sigma: float = 0.33) -> tuple[int, int]:
    """Canny thresholds around the median intensity: ``(1 - sigma) * median`` and ``(1 + sigma) * median``."""
    median = float(np.median(gray))
    return int(max(0, (1.0 - sigma) * median)), int(min(255, (1.0 + sigma) * median))


def contour_geometry(contour: np.ndarray) -> dict[str, Any]:
    """Box, area, perimeter and centroid (from image moments) of one contour."""
    x, y, w, h = cv2.boundingRect(contour)
    m = cv2.moments(contour)
    if m["m00"] > 0:
        centroid = (m["m10"] / m["m00"], m["m01"] / m["m00"])
    else:  # a degenerate (line-like) contour has no area: fall back to the box centre
        centroid = (x + w / 2.0, y + h / 2.0)
    return {
        "xyxy": (x, y, x + w, y + h),
        "area": float(cv2.contourArea(contour)),
        "perimeter": float(cv2.arcLength(contour, True)),
        "centroid": (round(centroid[0], 2), round(centroid[1], 2)),
    }


def pre_blur(gray: np.ndarray, ksize: int) -> np.ndarray:
    """A Gaussian blur of odd ``ksize`` before edge or feature detection; 0 or 1 leaves the image alone."""
    return cv2.GaussianBlur(gray, (ksize, ksize), 0) if ksize > 1 else gray


def circle_polygon(cx: float, cy: float, radius: float, step_degrees: int = 15) -> list[list[int]]:
    """A circle as a polygon (24 points by default), so the generic annotator outlines it round."""
    pts = cv2.ellipse2Poly((int(round(cx)), int(round(cy))), (max(1, int(round(radius))),) * 2, 0, 0, 360, step_degrees)
    return pts[:-1].tolist()


def circle_detections(circles: list[tuple[float, float, float]], label: str, source: str, **columns: Any) -> Detections:
    """Round objects from (x, y, radius) rows: boxes, a ``center`` column and a round ``polygon`` outline."""
    return Detections.from_boxes(
        [(x - r, y - r, x + r, y + r) for x, y, r in circles], label, source=source,
        center=[(round(x, 1), round(y, 1)) for x, y, _ in circles],
        polygon=[circle_polygon(x, y, r) for x, y, r in circles],
        **columns,
    )
