"""Contours: find, filter, sort and name shapes; each contour becomes an object labelled with its shape."""

from __future__ import annotations

from collections import Counter
from typing import Literal

import cv2
import numpy as np

from vision_desk.engine.frame import Frame
from vision_desk.engine.params import StageParams, param
from vision_desk.engine.results import Detections
from vision_desk.engine.stage import Stage
from vision_desk.stages.classical._common import binarize, contour_geometry, to_bgr, to_gray

_MODES = {"external": cv2.RETR_EXTERNAL, "list": cv2.RETR_LIST, "ccomp": cv2.RETR_CCOMP, "tree": cv2.RETR_TREE}
_APPROX = {
    "none": cv2.CHAIN_APPROX_NONE, "simple": cv2.CHAIN_APPROX_SIMPLE,
    "tc89_l1": cv2.CHAIN_APPROX_TC89_L1, "tc89_kcos": cv2.CHAIN_APPROX_TC89_KCOS,
}
#: Largest ellipse-fit error (see :func:`ellipse_fit_error`) of a shape named round: between circles and octagons.
ROUND_TOLERANCE = 0.035
_POLYGON_NAMES = {3: "triangle", 5: "pentagon", 6: "hexagon", 7: "heptagon", 8: "octagon"}


def ellipse_fit_error(contour: np.ndarray) -> float:
    """Largest relative distance of the contour from its least-squares ellipse (0 for a perfect ellipse).

    Each point is mapped into the ellipse's own axes, where the ellipse is the
    unit circle; the error is the largest ``|radius - 1|``. Measured on drawn
    shapes: digitised circles and ellipses 0.01-0.02, a regular octagon 0.05,
    hexagons 0.09, pentagons 0.13, squares 0.19.
    """
    pts = contour.reshape(-1, 2).astype(np.float64)
    if len(pts) < 5:
        return float("inf")
    (cx, cy), (d1, d2), angle = cv2.fitEllipse(pts.astype(np.float32))
    if d1 <= 0 or d2 <= 0:
        return float("inf")
    t = np.deg2rad(angle)
    x, y = pts[:, 0] - cx, pts[:, 1] - cy
    u = (x * np.cos(t) + y * np.sin(t)) / (d1 / 2.0)
    v = (-x * np.sin(t) + y * np.cos(t)) / (d2 / 2.0)
    return float(np.max(np.abs(np.hypot(u, v) - 1.0)))


def name_shape(contour: np.ndarray, epsilon: float = 0.02) -> tuple[str, np.ndarray]:
    """The shape's name and its simplified polygon (``approxPolyDP`` with ``epsilon`` x perimeter; finer for round shapes).

    Round shapes are recognised by how well an ellipse fits (circle when the
    axes are within 15 % of each other, else ellipse); the rest by the vertex
    count of the simplified polygon: triangle; square / rectangle (four corners
    filling their minimum-area rectangle) or quadrilateral; pentagon, hexagon,
    heptagon, octagon; star (many vertices, low solidity); polygon.
    """
    approx = cv2.approxPolyDP(contour, epsilon * cv2.arcLength(contour, True), True)
    n = len(approx)
    if n > 4 and len(contour) >= 5:
        d1, d2 = cv2.fitEllipse(contour.reshape(-1, 2).astype(np.float32))[1]
        # one pixel of digitisation error matters more on a small shape
        tolerance = max(ROUND_TOLERANCE, 2.0 / max(min(d1, d2), 1e-9))
        if ellipse_fit_error(contour) < tolerance:
            smooth = cv2.approxPolyDP(contour, 0.005 * cv2.arcLength(contour, True), True)  # an outline that looks round
            return ("circle" if min(d1, d2) / max(d1, d2) >= 0.85 else "ellipse"), smooth
    if n == 4:
        w, h = cv2.minAreaRect(approx)[1]
        fill = cv2.contourArea(approx) / max(w * h, 1e-9)
        if fill < 0.9:
            return "quadrilateral", approx
        return ("square" if min(w, h) / max(w, h, 1e-9) >= 0.9 else "rectangle"), approx
    area = cv2.contourArea(contour)
    hull_area = cv2.contourArea(cv2.convexHull(contour))
    if n >= 8 and hull_area > 0 and area / hull_area < 0.75:
        return "star", approx
    return _POLYGON_NAMES.get(n, "polygon"), approx


_SORT_KEYS = {
    "area": lambda g: -g["area"], "area_asc": lambda g: g["area"],
    "left_to_right": lambda g: g["xyxy"][0], "right_to_left": lambda g: -g["xyxy"][2],
    "top_to_bottom": lambda g: g["xyxy"][1], "bottom_to_top": lambda g: -g["xyxy"][3],
}


def foreground_mask(gray: np.ndarray, method: str, value: int, objects: str) -> np.ndarray:
    """The 0/255 mask contours are traced in; ``objects="auto"`` makes the frame border background.

    With ``auto`` the mask is inverted when most of the image border would be
    foreground: a light page with dark shapes and a dark table with light coins
    both give white objects on black.
    """
    if objects == "auto":
        mask = binarize(gray, method, value)
        border = np.concatenate([mask[0], mask[-1], mask[:, 0], mask[:, -1]])
        return cv2.bitwise_not(mask) if np.count_nonzero(border) > border.size / 2 else mask
    return binarize(gray, method, value, invert=objects == "dark")


def find_shapes(mask: np.ndarray, mode: str = "external", approximation: str = "simple", min_area: float = 100.0,
                max_area: float = 0.0, epsilon: float = 0.02, sort: str = "area", limit: int = 200) -> list[dict]:
    """Contours of a mask, filtered by area, sorted and named.

    Returns one dict per contour: ``shape``, ``contour``, ``polygon`` (simplified
    vertices), ``hull``, ``xyxy``, ``area``, ``perimeter``, ``centroid`` (from moments).
    """
    contours, _ = cv2.findContours(mask, _MODES[mode], _APPROX[approximation])
    shapes = []
    for c in contours:
        geo = contour_geometry(c)
        if geo["area"] < min_area or (max_area and geo["area"] > max_area):
            continue
        name, approx = name_shape(c, epsilon)
        shapes.append({**geo, "shape": name, "contour": c, "polygon": approx.reshape(-1, 2).tolist(),
                       "hull": cv2.convexHull(c).reshape(-1, 2)})
    shapes.sort(key=_SORT_KEYS[sort])
    return shapes[:limit]


class ContoursParams(StageParams):
    threshold: Literal["otsu", "binary", "adaptive", "canny"] = param("otsu", help="How the frame becomes black and white before tracing: Otsu, a fixed value, adaptive, or Canny edges.")
    value: int = param(127, ge=0, le=255, help="Threshold for the binary method.")
    objects: Literal["auto", "light", "dark"] = param("auto", help="Whether the objects are lighter or darker than the background; auto treats the frame border as background.")
    mode: Literal["external", "list", "ccomp", "tree"] = param("external", help="Retrieval: external keeps outer contours only; list all; ccomp two levels; tree the full nesting.")
    approximation: Literal["simple", "none", "tc89_l1", "tc89_kcos"] = param("simple", help="How contour points are stored: simple drops points along straight runs; none keeps every pixel.")
    min_area: float = param(100.0, ge=0.0, le=1e8, help="Smallest contour area kept, in pixels.")
    max_area: float = param(0.0, ge=0.0, le=1e8, help="Largest contour area kept, in pixels (0: no limit).")
    epsilon: float = param(0.02, ge=0.001, le=0.2, step=0.005, help="Polygon simplification tolerance, as a fraction of the perimeter (shape naming).")
    sort: Literal["area", "area_asc", "left_to_right", "right_to_left", "top_to_bottom", "bottom_to_top"] = param("area", help="Order of the objects (area: largest first).")
    max_contours: int = param(200, ge=1, le=10000, help="At most this many contours become objects (after sorting).")
    draw_contours: bool = param(True, help="Outline every contour.")
    draw_hulls: bool = param(False, help="Outline convex hulls.")
    draw_boxes: bool = param(False, help="Draw upright bounding boxes.")
    draw_centroids: bool = param(True, help="Mark centroids (from image moments) and number them in sort order.")
    view: Literal["frame", "mask"] = param("frame", help="Show the frame, or the black-and-white mask the contours are traced in (for tuning).")


class ContoursStage(Stage):
    id = "contours"
    title = "Contours and shapes"
    category = "Contours"
    help = ("Traces contours, filters them by area, sorts them and names each shape (triangle, square, rectangle, "
            "pentagon, hexagon, circle, ellipse, star...); objects carry polygon, centroid and area; "
            "contours_count and contours_shapes in values.")
    Params = ContoursParams
    values = {"contours_count": "Contours kept (one object each).",
              "contours_shapes": "Shapes and how many of each, e.g. 'circle:3 square:2'."}
    columns = {"polygon": "The simplified outline.", "centroid": "Centre of mass (x, y).", "area": "Area in pixels.",
               "perimeter": "Perimeter in pixels."}

    def process(self, frame: Frame) -> None:
        p = self.params
        mask = foreground_mask(to_gray(frame.image), p.threshold, p.value, p.objects)
        shapes = find_shapes(mask, p.mode, p.approximation, p.min_area, p.max_area, p.epsilon, p.sort, p.max_contours)
        frame.add(Detections.from_boxes(
            [s["xyxy"] for s in shapes], [s["shape"] for s in shapes], source=self.id,
            polygon=[s["polygon"] for s in shapes], centroid=[s["centroid"] for s in shapes],
            area=[round(s["area"], 1) for s in shapes], perimeter=[round(s["perimeter"], 1) for s in shapes],
        ))
        counts = Counter(s["shape"] for s in shapes)
        frame.values["contours_count"] = len(shapes)
        frame.values["contours_shapes"] = " ".join(f"{k}:{v}" for k, v in sorted(counts.items()))
        frame.extras[self.id] = shapes
        if p.view == "mask":
            frame.image = to_bgr(mask)

    def draw(self, canvas: np.ndarray, frame: Frame) -> None:
        p = self.params
        shapes = frame.extras.get(self.id) or []
        if p.draw_contours:
            cv2.drawContours(canvas, [s["contour"] for s in shapes], -1, (0, 255, 0), 1, cv2.LINE_AA)
        if p.draw_hulls:
            cv2.polylines(canvas, [s["hull"].reshape(-1, 1, 2) for s in shapes], True, (255, 200, 0), 1, cv2.LINE_AA)
        for i, s in enumerate(shapes):
            if p.draw_boxes:
                x1, y1, x2, y2 = s["xyxy"]
                cv2.rectangle(canvas, (x1, y1), (x2 - 1, y2 - 1), (0, 200, 255), 1)
            if p.draw_centroids:
                cx, cy = (int(round(v)) for v in s["centroid"])
                cv2.circle(canvas, (cx, cy), 3, (0, 0, 255), -1, cv2.LINE_AA)
                cv2.putText(canvas, str(i + 1), (cx + 5, cy - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 255), 1, cv2.LINE_AA)
