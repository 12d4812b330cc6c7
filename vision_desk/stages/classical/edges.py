"""Edges and lines: gradient edge maps (Sobel, Scharr, Laplacian, self-tuning Canny), Hough lines and circles."""

from __future__ import annotations

import math
from typing import Literal

import cv2
import numpy as np

from vision_desk.engine.frame import Frame
from vision_desk.engine.params import StageParams, param
from vision_desk.engine.results import Detections
from vision_desk.engine.stage import Stage
from vision_desk.stages.classical._common import OddOrZero, auto_canny_thresholds, circle_detections, pre_blur, to_bgr, to_gray


def gradient_edges(gray: np.ndarray, method: str, direction: str = "magnitude", ksize: int = 3) -> np.ndarray:
    """An 8-bit edge-strength map from Sobel, Scharr (a more accurate 3x3) or Laplacian derivatives.

    ``direction`` picks the x derivative (vertical edges), the y derivative
    (horizontal edges) or the gradient magnitude; the Laplacian has no direction.
    """
    if method == "laplacian":
        return cv2.convertScaleAbs(cv2.Laplacian(gray, cv2.CV_32F, ksize=ksize))

    def derivative(dx: int, dy: int) -> np.ndarray:
        if method == "scharr":
            return cv2.Scharr(gray, cv2.CV_32F, dx, dy)
        return cv2.Sobel(gray, cv2.CV_32F, dx, dy, ksize=ksize)

    if direction == "x":
        return cv2.convertScaleAbs(derivative(1, 0))
    if direction == "y":
        return cv2.convertScaleAbs(derivative(0, 1))
    return cv2.convertScaleAbs(cv2.magnitude(derivative(1, 0), derivative(0, 1)))


class EdgesParams(StageParams):
    method: Literal["sobel", "scharr", "laplacian", "canny_auto"] = param("canny_auto", help="sobel / scharr: first derivatives; laplacian: second derivative; canny_auto: Canny with thresholds set from the median brightness.")
    direction: Literal["magnitude", "x", "y"] = param("magnitude", help="Sobel / Scharr: x finds vertical edges, y horizontal edges, magnitude both.")
    ksize: Literal[1, 3, 5, 7] = param(3, help="Sobel / Laplacian aperture (Scharr is always 3).")
    sigma: float = param(0.33, ge=0.01, le=1.0, step=0.01, help="canny_auto: thresholds are (1 - sigma) and (1 + sigma) times the median brightness.")
    blur: OddOrZero = param(5, ge=0, le=31, step=2, help="Gaussian blur before the edges (odd size; 0 = none) to suppress noise.")


class EdgesStage(Stage):
    id = "edges"
    title = "Edges (Sobel, Laplacian, auto Canny)"
    category = "Edges"
    help = ("Edge map by Sobel, Scharr, Laplacian or Canny with automatic (median-based) thresholds; "
            "canny_low / canny_high and edge_pixels go in values.")
    Params = EdgesParams
    values = {"canny_low": "canny_auto: the lower threshold chosen.", "canny_high": "canny_auto: the upper threshold chosen.",
              "edge_pixels": "canny_auto: number of edge pixels.",
              "edge_strength_mean": "sobel, scharr, laplacian: mean edge strength (0-255)."}

    def process(self, frame: Frame) -> None:
        p = self.params
        gray = pre_blur(to_gray(frame.image), p.blur)
        if p.method == "canny_auto":
            low, high = auto_canny_thresholds(gray, p.sigma)
            out = cv2.Canny(gray, low, high)
            frame.values["canny_low"], frame.values["canny_high"] = low, high
            frame.values["edge_pixels"] = int(np.count_nonzero(out))
        else:
            out = gradient_edges(gray, p.method, p.direction, p.ksize)
            frame.values["edge_strength_mean"] = round(float(out.mean()), 3)
        frame.image = to_bgr(out)


def hough_segments(gray: np.ndarray, votes: int, min_length: int, max_gap: int, sigma: float = 0.33) -> np.ndarray:
    """Line segments (N, 4) as x1, y1, x2, y2 from the probabilistic Hough transform on auto-Canny edges, longest first."""
    edges = cv2.Canny(gray, *auto_canny_thresholds(gray, sigma))
    found = cv2.HoughLinesP(edges, 1, np.pi / 180, votes, minLineLength=min_length, maxLineGap=max_gap)
    if found is None:
        return np.zeros((0, 4), np.int32)
    segs = found.reshape(-1, 4)
    lengths = np.hypot(segs[:, 2] - segs[:, 0], segs[:, 3] - segs[:, 1])
    return segs[np.argsort(-lengths, kind="stable")]


class HoughLinesParams(StageParams):
    votes: int = param(80, ge=1, le=2000, help="Edge pixels that must line up before a line counts (higher: fewer, stronger lines).")
    min_length: int = param(50, ge=1, le=10000, help="Shortest segment reported, in pixels.")
    max_gap: int = param(10, ge=0, le=1000, help="Largest gap, in pixels, bridged within one segment.")
    max_lines: int = param(50, ge=1, le=2000, help="At most this many segments (longest first) become objects.")
    blur: OddOrZero = param(5, ge=0, le=31, step=2, help="Gaussian blur before the edges (odd size; 0 = none).")


class HoughLinesStage(Stage):
    id = "hough_lines"
    title = "Hough lines"
    category = "Edges"
    help = "Straight segments by the probabilistic Hough transform on auto-Canny edges; each is a 'line' object (length, angle), lines_count in values."
    Params = HoughLinesParams
    values = {"lines_count": "Segments found (the 'line' objects)."}
    columns = {"polygon": "The segment's two end points.", "length": "Length in pixels.",
               "angle": "Degrees counter-clockwise from horizontal."}

    def process(self, frame: Frame) -> None:
        p = self.params
        segs = hough_segments(pre_blur(to_gray(frame.image), p.blur), p.votes, p.min_length, p.max_gap)[: p.max_lines]
        boxes = [(min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)) for x1, y1, x2, y2 in segs.tolist()]
        frame.add(Detections.from_boxes(
            boxes, "line", source=self.id,
            polygon=[[[x1, y1], [x2, y2]] for x1, y1, x2, y2 in segs.tolist()],
            length=[round(math.hypot(x2 - x1, y2 - y1), 1) for x1, y1, x2, y2 in segs.tolist()],
            # image y points down, so the angle is negated to read counter-clockwise from horizontal
            angle=[round(math.degrees(math.atan2(y1 - y2, x2 - x1)), 1) for x1, y1, x2, y2 in segs.tolist()],
        ))
        frame.values["lines_count"] = len(segs)


def hough_circles(gray: np.ndarray, method: str, dp: float, min_dist: int, edge_threshold: float,
                  accumulator: float, roundness: float, min_radius: int, max_radius: int) -> np.ndarray:
    """Circles (N, 3) as x, y, radius, by OpenCV's Hough gradient method (``standard``) or its ``alt`` variant.

    ``standard`` keeps circles with at least ``accumulator`` votes; ``alt`` (more
    accurate, fewer false circles) keeps those whose roundness score exceeds
    ``roundness`` (0..1).
    """
    if method == "alt":
        found = cv2.HoughCircles(gray, cv2.HOUGH_GRADIENT_ALT, dp, min_dist, param1=edge_threshold,
                                 param2=roundness, minRadius=min_radius, maxRadius=max_radius)
    else:
        found = cv2.HoughCircles(gray, cv2.HOUGH_GRADIENT, dp, min_dist, param1=edge_threshold,
                                 param2=accumulator, minRadius=min_radius, maxRadius=max_radius)
    return np.zeros((0, 3), np.float32) if found is None else found.reshape(-1, 3)


class HoughCirclesParams(StageParams):
    method: Literal["alt", "standard"] = param("alt", help="alt: OpenCV's more accurate Hough gradient variant (uses roundness); standard: the classic accumulator (uses accumulator).")
    dp: float = param(1.5, ge=1.0, le=4.0, step=0.1, help="Inverse resolution of the accumulator (1: full resolution).")
    min_dist: int = param(20, ge=1, le=5000, help="Smallest distance between two circle centres, in pixels.")
    edge_threshold: float = param(300.0, ge=1.0, le=1000.0, help="Upper Canny threshold used inside the transform.")
    accumulator: float = param(30.0, ge=1.0, le=1000.0, help="standard: votes a centre needs (lower finds more, including false circles).")
    roundness: float = param(0.8, ge=0.0, le=1.0, step=0.05, help="alt: how perfect a circle must be (1 = perfect).")
    min_radius: int = param(10, ge=0, le=5000, help="Smallest radius in pixels.")
    max_radius: int = param(100, ge=0, le=5000, help="Largest radius in pixels (0: no limit; slow).")
    max_circles: int = param(100, ge=1, le=2000, help="At most this many circles become objects.")
    blur: OddOrZero = param(5, ge=0, le=31, step=2, help="Gaussian blur before the transform (odd size; 0 = none).")


class HoughCirclesStage(Stage):
    id = "hough_circles"
    title = "Hough circles"
    category = "Edges"
    help = "Finds circles (coins, balls, dials) with the Hough gradient transform; each is a 'circle' object with centre and radius, circles_count in values."
    Params = HoughCirclesParams
    values = {"circles_count": "Circles found (the 'circle' objects)."}
    columns = {"center": "Centre (x, y).", "polygon": "The circle as a polygon.", "radius": "Radius in pixels."}

    def process(self, frame: Frame) -> None:
        p = self.params
        gray = pre_blur(to_gray(frame.image), p.blur)
        circles = hough_circles(gray, p.method, p.dp, p.min_dist, p.edge_threshold, p.accumulator, p.roundness,
                                p.min_radius, p.max_radius)[: p.max_circles]
        rows = circles.tolist()
        frame.add(circle_detections(rows, "circle", self.id, radius=[round(r, 1) for *_, r in rows]))
        frame.values["circles_count"] = len(circles)
