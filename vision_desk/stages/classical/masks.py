"""Arithmetic and masks: add/subtract a constant, bitwise operations with a mask shape, colour filter."""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np
from pydantic import model_validator

from vision_desk.engine.frame import Frame
from vision_desk.engine.params import StageParams, param
from vision_desk.engine.results import Detections
from vision_desk.engine.stage import Stage
from vision_desk.stages.classical._common import Byte, contour_geometry


def add_constant(image: np.ndarray, value: int, operation: str, wrap: bool = False) -> np.ndarray:
    """Adds or subtracts ``value`` from every channel.

    OpenCV saturates (200 + 100 = 255); with ``wrap`` the sum wraps modulo 256 as
    plain numpy uint8 arithmetic does (200 + 100 = 44), the classic pitfall.
    """
    if wrap:
        sign = 1 if operation == "add" else -1
        return ((image.astype(np.int16) + sign * value) % 256).astype(np.uint8)
    scalar = (float(value),) * 3
    return cv2.add(image, scalar) if operation == "add" else cv2.subtract(image, scalar)


class ArithmeticParams(StageParams):
    operation: Literal["add", "subtract"] = param("add", help="Add the value to every pixel, or subtract it.")
    value: int = param(50, ge=0, le=255, widget="slider", help="The constant added or subtracted.")
    wrap: bool = param(False, help="Wrap around modulo 256 (numpy's uint8 arithmetic) instead of saturating at 0 and 255 (OpenCV's).")


class ArithmeticStage(Stage):
    id = "arithmetic"
    title = "Add / subtract"
    category = "Colour"
    help = "Adds or subtracts a constant from every pixel, saturating like cv2.add or wrapping like numpy."
    Params = ArithmeticParams

    def process(self, frame: Frame) -> None:
        p = self.params
        frame.image = add_constant(frame.image, p.value, p.operation, p.wrap)


def shape_mask(size: tuple[int, int], shape: str, rect: tuple[int, int, int, int]) -> np.ndarray:
    """A 0/255 mask of (height, width) ``size`` with a rectangle, ellipse or circle filling ``rect``.

    ``rect`` is (x, y, w, h); (0, 0, 0, 0) means the whole frame. The circle is
    the largest one centred in the rectangle.
    """
    h, w = size
    x, y, rw, rh = rect if rect[2] > 0 and rect[3] > 0 else (0, 0, w, h)
    mask = np.zeros((h, w), np.uint8)
    if shape == "rectangle":
        cv2.rectangle(mask, (x, y), (x + rw - 1, y + rh - 1), 255, -1)
    elif shape == "ellipse":
        cv2.ellipse(mask, (x + rw // 2, y + rh // 2), (rw // 2, rh // 2), 0, 0, 360, 255, -1)
    else:
        cv2.circle(mask, (x + rw // 2, y + rh // 2), min(rw, rh) // 2, 255, -1)
    return mask


def apply_mask(image: np.ndarray, mask: np.ndarray, operation: str) -> np.ndarray:
    """``and`` keeps the image inside the mask (black outside); ``or`` whitens and ``xor`` inverts inside it."""
    if operation == "and":
        return cv2.bitwise_and(image, image, mask=mask)
    white = np.full_like(image, 255)
    out = image.copy()
    op = cv2.bitwise_or if operation == "or" else cv2.bitwise_xor
    op(image, white, dst=out, mask=mask)
    return out


class BitwiseMaskParams(StageParams):
    shape: Literal["rectangle", "ellipse", "circle"] = param("circle", help="Shape of the mask, filling the region.")
    region: tuple[int, int, int, int] = param((0, 0, 0, 0), widget="rect", help="Region (x, y, w, h) the shape fills; all zeros means the whole frame.")
    operation: Literal["and", "or", "xor"] = param("and", help="and: keep the image inside the shape; or: white inside; xor: inverted colours inside.")
    invert: bool = param(False, help="Use the outside of the shape as the mask.")


class BitwiseMaskStage(Stage):
    id = "bitwise_mask"
    title = "Bitwise mask"
    category = "Colour"
    help = "Bitwise AND / OR / XOR of the frame with a rectangle, ellipse or circle mask (e.g. keep only a circular window)."
    Params = BitwiseMaskParams

    def process(self, frame: Frame) -> None:
        p = self.params
        mask = shape_mask(frame.shape, p.shape, p.region)
        if p.invert:
            mask = cv2.bitwise_not(mask)
        frame.image = apply_mask(frame.image, mask, p.operation)


#: HSV ranges (OpenCV: H 0..179, S and V 0..255). A range whose lower hue exceeds its upper hue wraps
#: through 0, which is how red (both ends of the hue circle) is one range.
COLOR_PRESETS: dict[str, tuple[tuple[int, int, int], tuple[int, int, int]]] = {
    "red": ((170, 100, 70), (10, 255, 255)),
    "yellow": ((20, 100, 100), (35, 255, 255)),
    "green": ((36, 60, 50), (85, 255, 255)),
    "blue": ((90, 80, 50), (130, 255, 255)),
    "skin": ((0, 40, 80), (25, 180, 255)),
}


def hsv_mask(image: np.ndarray, lower: tuple[int, int, int], upper: tuple[int, int, int]) -> np.ndarray:
    """0/255 mask of the pixels whose HSV value lies in [lower, upper]; a hue range may wrap through 0."""
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
    if lower[0] <= upper[0]:
        return cv2.inRange(hsv, np.array(lower), np.array(upper))
    high_end = cv2.inRange(hsv, np.array(lower), np.array((179, upper[1], upper[2])))
    low_end = cv2.inRange(hsv, np.array((0, lower[1], lower[2])), np.array(upper))
    return cv2.bitwise_or(high_end, low_end)


def mask_regions(mask: np.ndarray, min_area: float, max_regions: int) -> list[dict]:
    """The mask's outer regions (largest first) at least ``min_area`` pixels, with box, outline and centroid."""
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    regions = []
    for c in sorted(contours, key=cv2.contourArea, reverse=True)[:max_regions]:
        geo = contour_geometry(c)
        if geo["area"] < min_area:
            break
        outline = cv2.approxPolyDP(c, 0.005 * geo["perimeter"], True).reshape(-1, 2)
        regions.append({**geo, "polygon": outline.tolist()})
    return regions


class ColorFilterParams(StageParams):
    preset: Literal["red", "green", "blue", "yellow", "skin", "custom"] = param("red", help="Colour to keep; custom uses the lower and upper HSV bounds below.")
    lower: tuple[Byte, Byte, Byte] = param((0, 100, 100), help="Custom lower HSV bound (H 0..179, S, V 0..255); a lower hue above the upper hue wraps through red.")
    upper: tuple[Byte, Byte, Byte] = param((179, 255, 255), help="Custom upper HSV bound (H 0..179, S, V 0..255).")
    output: Literal["masked", "mask", "original"] = param("masked", help="masked: only the matching pixels in colour; mask: white on black; original: the frame unchanged.")
    clean: int = param(5, ge=0, le=31, help="Size of the opening that removes specks from the mask (0: none).")
    min_area: int = param(200, ge=1, le=10_000_000, help="Smallest matching region, in pixels, reported as an object.")
    max_objects: int = param(20, ge=1, le=500, help="At most this many regions (largest first) become objects.")

    @model_validator(mode="after")
    def _hue_in_range(self) -> "ColorFilterParams":
        if self.lower[0] > 179 or self.upper[0] > 179:
            raise ValueError("hue bounds in 'lower' and 'upper' must be 0..179 (OpenCV's 8-bit hue)")
        return self


def color_filter(image: np.ndarray, lower: tuple[int, int, int], upper: tuple[int, int, int], clean: int = 0) -> np.ndarray:
    """The HSV-range mask, optionally opened with a ``clean`` x ``clean`` ellipse to drop specks."""
    mask = hsv_mask(image, lower, upper)
    if clean > 1:
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (clean, clean)))
    return mask


class ColorFilterStage(Stage):
    id = "color_filter"
    title = "Colour filter"
    category = "Colour"
    help = ("Keeps the pixels in an HSV range (presets red, green, blue, yellow, skin or custom); each matching region "
            "becomes an object labelled with the colour, and '<colour>_count' / '<colour>_fraction' go in values.")
    Params = ColorFilterParams
    values = {"<preset>_count": "Regions of the colour found (one object each), e.g. red_count.",
              "<preset>_fraction": "Share of the frame in the colour range (0-1)."}
    columns = {"polygon": "The region's outline.", "area": "Area in pixels.", "centroid": "Centre of mass (x, y)."}

    def process(self, frame: Frame) -> None:
        p = self.params
        lower, upper = (p.lower, p.upper) if p.preset == "custom" else COLOR_PRESETS[p.preset]
        mask = color_filter(frame.image, lower, upper, p.clean)
        regions = mask_regions(mask, p.min_area, p.max_objects)
        frame.add(Detections.from_boxes(
            [r["xyxy"] for r in regions], p.preset, source=self.id,
            polygon=[r["polygon"] for r in regions], area=[r["area"] for r in regions],
            centroid=[r["centroid"] for r in regions],
        ))
        frame.values[f"{p.preset}_count"] = len(regions)
        frame.values[f"{p.preset}_fraction"] = round(float(np.count_nonzero(mask)) / mask.size, 4)
        if p.output == "masked":
            frame.image = cv2.bitwise_and(frame.image, frame.image, mask=mask)
        elif p.output == "mask":
            frame.image = cv2.cvtColor(mask, cv2.COLOR_GRAY2BGR)
