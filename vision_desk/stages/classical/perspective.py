"""Perspective warp from four points, or from the largest quadrilateral found (a document's top-down view)."""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np
from pydantic import field_validator

from vision_desk.engine.frame import Frame
from vision_desk.engine.params import StageParams, param
from vision_desk.engine.stage import Stage
from vision_desk.stages.classical._common import Point, auto_canny_thresholds, to_gray


def order_corners(points: np.ndarray | list) -> np.ndarray:
    """The four points as top-left, top-right, bottom-right, bottom-left (whatever order they were given in).

    Top-left has the smallest x + y and bottom-right the largest; top-right has
    the smallest y - x and bottom-left the largest.
    """
    pts = np.asarray(points, np.float32).reshape(4, 2)
    s, d = pts.sum(axis=1), pts[:, 1] - pts[:, 0]
    return np.array([pts[np.argmin(s)], pts[np.argmin(d)], pts[np.argmax(s)], pts[np.argmax(d)]], np.float32)


def quad_size(quad: np.ndarray) -> tuple[int, int]:
    """Output (width, height) for a quad: its longer top/bottom edge and its longer left/right edge."""
    tl, tr, br, bl = quad
    width = max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl))
    height = max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr))
    return max(1, int(round(width))), max(1, int(round(height)))


def warp_quad(image: np.ndarray, corners: np.ndarray | list, size: tuple[int, int] = (0, 0)) -> np.ndarray:
    """Maps the quadrilateral ``corners`` (any order) onto an upright rectangle.

    Args:
        image: the source image.
        corners: four (x, y) points.
        size: output (width, height); a zero side is taken from the quad's own edge lengths.
    """
    quad = order_corners(corners)
    auto_w, auto_h = quad_size(quad)
    w, h = size[0] or auto_w, size[1] or auto_h
    target = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], np.float32)
    return cv2.warpPerspective(image, cv2.getPerspectiveTransform(quad, target), (w, h), flags=cv2.INTER_LINEAR)


def find_document(image: np.ndarray, min_area_fraction: float = 0.1) -> np.ndarray | None:
    """The corners (tl, tr, br, bl) of the largest convex quadrilateral outline, or None.

    The classic "document scanner" recipe, run on two views of the frame: the
    contours of its edges (Canny with median-based thresholds, closed by a
    dilation) and the outer contours of its Otsu mask (a light sheet on a darker
    table). In each, the five largest contours are simplified with approxPolyDP
    and the first with four convex corners covering at least
    ``min_area_fraction`` of the frame is a candidate; its corners are refined by
    line fits (:func:`refine_corners`). The larger candidate wins.
    """
    gray = cv2.GaussianBlur(to_gray(image), (5, 5), 0)
    edges = cv2.dilate(cv2.Canny(gray, *auto_canny_thresholds(gray)), cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3)))
    bright = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[1]
    min_area = min_area_fraction * image.shape[0] * image.shape[1]
    found = [q for q in (_largest_quad(edges, cv2.RETR_LIST, min_area), _largest_quad(bright, cv2.RETR_EXTERNAL, min_area)) if q is not None]
    return max(found, key=cv2.contourArea) if found else None


def _largest_quad(mask: np.ndarray, retrieval: int, min_area: float) -> np.ndarray | None:
    contours, _ = cv2.findContours(mask, retrieval, cv2.CHAIN_APPROX_SIMPLE)
    for contour in sorted(contours, key=cv2.contourArea, reverse=True)[:5]:
        if cv2.contourArea(contour) < min_area:
            break
        hull = cv2.convexHull(contour)
        approx = cv2.approxPolyDP(hull, 0.02 * cv2.arcLength(hull, True), True)
        if len(approx) == 4 and cv2.isContourConvex(approx):
            return refine_corners(order_corners(approx), contour.reshape(-1, 2))
    return None


def refine_corners(quad: np.ndarray, points: np.ndarray, band: float = 4.0) -> np.ndarray:
    """Moves each corner to the intersection of straight lines fitted to the contour along its two sides.

    A simplified polygon's vertex is one of the contour's own points, so a
    shadowed or torn corner pulls it inwards; lines fitted to the middle 80 % of
    each side (points within ``band`` pixels of it) and extended meet where the
    corner really is. A side with too few points keeps the original corners.
    """
    lines = []
    for a, b in zip(quad, np.roll(quad, -1, axis=0)):
        side = b - a
        length = float(np.linalg.norm(side))
        if length < 1:
            return quad
        rel = points - a
        along = rel @ side / length**2
        across = np.abs(rel[:, 0] * side[1] - rel[:, 1] * side[0]) / length
        near = points[(along > 0.1) & (along < 0.9) & (across <= band)]
        if len(near) < 5:
            return quad
        lines.append(cv2.fitLine(near.astype(np.float32), cv2.DIST_HUBER, 0, 0.01, 0.01).ravel())
    refined = []
    for i in range(4):
        (vx1, vy1, x1, y1), (vx2, vy2, x2, y2) = lines[i - 1], lines[i]  # the sides meeting at corner i
        det = vx1 * -vy2 - vy1 * -vx2
        if abs(det) < 1e-6:
            return quad
        t = ((x2 - x1) * -vy2 - (y2 - y1) * -vx2) / det
        refined.append((x1 + t * vx1, y1 + t * vy1))
    out = np.array(refined, np.float32)
    # a refinement that moves a corner far (a bad fit) is not trusted
    return out if np.abs(out - quad).max() <= 0.1 * max(quad_size(quad)) else quad


class PerspectiveParams(StageParams):
    mode: Literal["points", "auto"] = param("points", help="points: warp the four points below; auto: find the largest quadrilateral (a document, a screen) in every frame.")
    points: list[Point] = param([], widget="points", help="Four corners (x, y) of the region to straighten, in any order; empty leaves the frame unchanged.")
    width: int = param(0, ge=0, le=16384, help="Output width in pixels (0: the region's own width).")
    height: int = param(0, ge=0, le=16384, help="Output height in pixels (0: the region's own height).")
    min_area: float = param(0.1, ge=0.0, le=1.0, step=0.05, help="Auto mode: smallest quadrilateral accepted, as a fraction of the frame.")

    @field_validator("points")
    @classmethod
    def _four_or_none(cls, value: list[Point]) -> list[Point]:
        if len(value) not in (0, 4):
            raise ValueError(f"needs exactly 4 points (or none), got {len(value)}")
        return value


class PerspectiveStage(Stage):
    id = "perspective"
    title = "Perspective warp"
    category = "Geometry"
    help = ("Straightens a quadrilateral (four points, or the largest one found automatically) into an upright "
            "rectangle: a document's top-down view. Values: document_found and document_corners.")
    Params = PerspectiveParams

    def process(self, frame: Frame) -> None:
        p = self.params
        if p.mode == "auto":
            corners = find_document(frame.image, p.min_area)
        else:
            corners = order_corners(p.points) if p.points else None
        frame.values["document_found"] = corners is not None
        if corners is None:
            return
        frame.values["document_corners"] = np.round(corners).astype(int).tolist()
        frame.image = warp_quad(frame.image, corners, (p.width, p.height))
