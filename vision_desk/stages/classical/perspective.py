"""Perspective warp from four points, or from the page found in view (a document's top-down view).

Auto mode is the classic scanner recipe made robust: the convex quadrilaterals
among the contours of the closed Canny edges and of the bright (Otsu) regions
are candidates; the largest one whose four sides all run along real image
edges is the page; its sides are refitted to the edge pixels, and the warp
gives it its true proportions, recovered from the perspective.
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np
from pydantic import field_validator

from vision_desk.engine.frame import Frame
from vision_desk.engine.params import StageParams, param
from vision_desk.engine.stage import Stage
from vision_desk.stages.classical._common import Point, to_gray


def order_corners(points: np.ndarray | list) -> np.ndarray:
    """Four points as top-left, top-right, bottom-right, bottom-left (whatever order they were given in).

    The points are sorted clockwise (on screen) around their centre, starting at
    the one with the smallest x + y, so a quad turned by any angle still comes
    out as four distinct corners in cyclic order.
    """
    pts = np.asarray(points, np.float32).reshape(4, 2)
    centre = pts.mean(axis=0)
    pts = pts[np.argsort(np.arctan2(pts[:, 1] - centre[1], pts[:, 0] - centre[0]))]
    return np.roll(pts, -int(np.argmin(pts.sum(axis=1))), axis=0)


def page_aspect(corners: np.ndarray, image_size: tuple[int, int]) -> float:
    """The true width/height of a rectangle seen in perspective (Zhang and He's whiteboard method).

    Assumes square pixels and the principal point at the image centre. The
    focal length is recovered from the quad's two vanishing points; when the
    view leaves only one (a tilt about one axis) or gives an implausible value,
    a typical webcam field of view (about 60 degrees across the longer side) is
    assumed instead.

    Args:
        corners: TL, TR, BR, BL in pixels.
        image_size: (width, height) of the image the corners are in.
    """
    tl, tr, br, bl = np.asarray(corners, np.float64).reshape(4, 2)
    u0, v0 = image_size[0] / 2.0, image_size[1] / 2.0
    longest = float(max(image_size))
    m1, m2, m3, m4 = (np.array([p[0], p[1], 1.0]) for p in (tl, tr, bl, br))
    k2 = np.cross(m1, m4) @ m3 / (np.cross(m2, m4) @ m3)
    k3 = np.cross(m1, m4) @ m2 / (np.cross(m3, m4) @ m2)
    n2, n3 = k2 * m2 - m1, k3 * m3 - m1
    f2 = (0.85 * longest) ** 2
    if abs(n2[2] * n3[2]) > 1e-12:
        found = -((n2[0] * n3[0] - (n2[0] * n3[2] + n2[2] * n3[0]) * u0 + n2[2] * n3[2] * u0 * u0)
                  + (n2[1] * n3[1] - (n2[1] * n3[2] + n2[2] * n3[1]) * v0 + n2[2] * n3[2] * v0 * v0)) / (n2[2] * n3[2])
        if (0.3 * longest) ** 2 < found < (5 * longest) ** 2:
            f2 = found
    a_inv = np.linalg.inv(np.array([[np.sqrt(f2), 0, u0], [0, np.sqrt(f2), v0], [0, 0, 1.0]]))
    metric = a_inv.T @ a_inv
    ratio2 = (n2 @ metric @ n2) / (n3 @ metric @ n3)
    if not np.isfinite(ratio2) or ratio2 <= 0:
        return float((np.linalg.norm(tr - tl) + np.linalg.norm(br - bl)) / max(np.linalg.norm(bl - tl) + np.linalg.norm(br - tr), 1e-6))
    return float(np.sqrt(ratio2))


def warp_quad(image: np.ndarray, corners: np.ndarray | list, size: tuple[int, int] = (0, 0)) -> np.ndarray:
    """Maps the quadrilateral ``corners`` (any order) onto an upright rectangle.

    Args:
        image: the source image.
        corners: four (x, y) points.
        size: output (width, height). A zero side follows the region's true
            proportions (:func:`page_aspect`); with both zero the width is the
            longer of the quad's top and bottom edges.
    """
    quad = order_corners(corners)
    tl, tr, br, bl = quad
    w, h = size
    if not (w and h):
        aspect = page_aspect(quad, (image.shape[1], image.shape[0]))
        if not w:
            w = round(h * aspect) if h else round(max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl)))
        h = h or round(w / aspect)
    w, h = max(1, int(w)), max(1, int(h))
    target = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], np.float32)
    return cv2.warpPerspective(image, cv2.getPerspectiveTransform(quad, target), (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def find_document(image: np.ndarray, min_area: float = 0.1, min_support: float = 0.6) -> np.ndarray | None:
    """The corners (tl, tr, br, bl) of the largest well-outlined quadrilateral covering at least ``min_area``, or None.

    Args:
        image: BGR or gray.
        min_area: the smallest page as a fraction of the image.
        min_support: every side must run along image edges for at least this fraction of its length
            (:func:`edge_support`), so a contour that leaked into the background (one side made up) is not
            taken for the page. A quad that is the whole frame is the frame's border, not a page on it.
    """
    gray = to_gray(image)
    h, w = gray.shape[:2]
    blurred = cv2.GaussianBlur(gray, (5, 5), 0)
    edges = cv2.Canny(blurred, 50, 150)
    gx = cv2.Sobel(blurred, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(blurred, cv2.CV_32F, 0, 1, ksize=3)
    best, best_area = None, min_area * h * w
    for quad in _quad_candidates(edges, blurred):
        area = cv2.contourArea(quad)
        if best_area <= area < 0.98 * h * w and edge_support(gx, gy, quad) >= min_support:
            best, best_area = quad, area
    return None if best is None else refine_quad(edges, best)


def _quad_candidates(edges: np.ndarray, blurred: np.ndarray) -> list[np.ndarray]:
    """Convex quadrilaterals among the contours of the closed edge map and of the bright (Otsu) regions."""
    closed = cv2.dilate(edges, np.ones((5, 5), np.uint8))
    _, bright = cv2.threshold(blurred, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    contours = []
    for mask in (closed, bright):
        # RETR_LIST keeps inner outlines too: the inside of a page's edge ring is clean even where
        # the outside touches background texture.
        found, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        contours += sorted(found, key=cv2.contourArea, reverse=True)[:12]
    quads = []
    for contour in contours:
        hull = cv2.convexHull(contour)
        for epsilon in (0.02, 0.04):  # a looser fit forgives a dog-eared or shadowed corner
            approx = cv2.approxPolyDP(hull, epsilon * cv2.arcLength(hull, True), True)
            if len(approx) == 4 and cv2.isContourConvex(approx):
                quads.append(order_corners(approx))
                break
    return quads


def _sides(quad: np.ndarray) -> zip:
    """The four sides (a, b) of a quad, each from one corner to the next."""
    return zip(quad, np.roll(quad, -1, axis=0))


def edge_support(gx: np.ndarray, gy: np.ndarray, quad: np.ndarray, reach: int = 4, min_gradient: float = 40.0) -> float:
    """The smallest fraction, over the four sides, of points along a side where the image has an edge running the same way.

    A point counts when, within ``reach`` pixels across the side, the brightness
    changes across the side (gradient along the side's normal above
    ``min_gradient``) clearly more than along it. Texture (grass, gravel, brick)
    has edges everywhere but in every direction, so a made-up side finds little.
    """
    h, w = gx.shape[:2]
    offsets = np.arange(-reach, reach + 1, dtype=np.float32)[None, :, None]
    t = np.linspace(0.05, 0.95, 64)[:, None]
    worst = 1.0
    for a, b in _sides(quad):
        pts = a + t * (b - a)
        u = (b - a) / max(float(np.linalg.norm(b - a)), 1e-6)
        n = np.float32([-u[1], u[0]])
        probe = np.rint(pts[:, None, :] + offsets * n).astype(int)
        px, py = np.clip(probe[..., 0], 0, w - 1), np.clip(probe[..., 1], 0, h - 1)
        across = np.abs(gx[py, px] * n[0] + gy[py, px] * n[1])
        along = np.abs(gx[py, px] * u[0] + gy[py, px] * u[1])
        best = np.argmax(across, axis=1)
        rows = np.arange(len(pts))
        hit = (across[rows, best] > min_gradient) & (across[rows, best] > 2 * along[rows, best])
        worst = min(worst, float(hit.mean()))
    return worst


def refine_quad(edges: np.ndarray, quad: np.ndarray, band: float = 6.0) -> np.ndarray:
    """Moves each side onto the line fitted to the edge pixels within ``band`` pixels of it; corners are the crossings.

    A simplified polygon's vertex is one of the contour's own points, so a
    shadowed or torn corner pulls it inwards; the fitted sides, extended, meet
    where the corner really is. A side with too few edge pixels keeps its line.
    """
    ys, xs = np.nonzero(edges)
    pts = np.column_stack([xs, ys]).astype(np.float32)
    lines = []
    for a, b in _sides(quad):
        length = float(np.linalg.norm(b - a))
        u = (b - a) / max(length, 1e-6)
        rel = pts - a
        along, across = rel @ u, rel @ np.float32([-u[1], u[0]])
        near = pts[(np.abs(across) <= band) & (along > 0.05 * length) & (along < 0.95 * length)]
        if len(near) >= 20:
            vx, vy, x0, y0 = cv2.fitLine(near, cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
            lines.append((np.float32([x0, y0]), np.float32([vx, vy])))
        else:
            lines.append((a.astype(np.float32), u.astype(np.float32)))
    corners = []
    for i in range(4):
        (p1, v1), (p2, v2) = lines[i - 1], lines[i]  # the sides meeting at corner i
        matrix = np.array([v1, -v2], np.float64).T
        if abs(np.linalg.det(matrix)) < 1e-6:
            return quad
        s, _ = np.linalg.solve(matrix, (p2 - p1).astype(np.float64))
        corners.append(p1 + s * v1)
    refined = np.asarray(corners, np.float32)
    # Refinement only polishes: a corner that jumps far means a side latched onto something else.
    return refined if np.abs(refined - quad).max() <= 3 * band else quad


class PerspectiveParams(StageParams):
    mode: Literal["points", "auto"] = param("points", help="points: warp the four points below; auto: find the page (the largest well-outlined quadrilateral: a document, a screen) in every frame.")
    points: list[Point] = param([], widget="points", help="Four corners (x, y) of the region to straighten, in any order; empty leaves the frame unchanged.")
    width: int = param(0, ge=0, le=16384, help="Output width in pixels (0: from the height and the region's true proportions, or the region's own width).")
    height: int = param(0, ge=0, le=16384, help="Output height in pixels (0: from the width and the region's true proportions).")
    min_area: float = param(0.1, ge=0.0, le=1.0, step=0.05, help="Auto mode: smallest page accepted, as a fraction of the frame.")
    hold_frames: int = param(0, ge=0, le=10_000, help="Auto mode: keep using the last page outline for this many frames when none is found.")
    smoothing: float = param(0.0, ge=0.0, le=0.95, step=0.05, help="Auto mode: how much the outline follows its previous position (steadier output when the page is still).")

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
    help = ("Straightens a quadrilateral (four points, or in auto mode the page found in view) into an upright "
            "rectangle of its true proportions: a document's top-down view, ready for OCR. Frames without a page "
            "pass unchanged. Values: document_found and document_corners.")
    Params = PerspectiveParams
    values = {"document_found": "Whether a page outline was found on this frame.",
              "document_corners": "The four corners warped from, [[x, y], ...]."}

    def __init__(self, params: StageParams | None = None) -> None:
        super().__init__(params)
        self.reset()

    def reset(self) -> None:
        self._corners: np.ndarray | None = None
        self._missed = 0

    def update_params(self, params: StageParams) -> None:
        super().update_params(params)
        self.reset()

    def process(self, frame: Frame) -> None:
        p = self.params
        if p.mode == "auto":
            found = find_document(frame.image, p.min_area)
            self._follow(found, max(frame.image.shape[:2]))
            corners = self._corners
        else:
            found = corners = order_corners(p.points) if p.points else None
        frame.values["document_found"] = found is not None
        if corners is None:
            return
        frame.values["document_corners"] = np.round(corners, 1).tolist()
        frame.image = warp_quad(frame.image, corners, (p.width, p.height))

    def _follow(self, found: np.ndarray | None, frame_size: int) -> None:
        """Auto mode over video: smooths a still page's outline and holds it through a few missed frames."""
        p = self.params
        if found is not None:
            steady = self._corners is not None and np.abs(found - self._corners).max() < 0.05 * frame_size
            self._corners = p.smoothing * self._corners + (1 - p.smoothing) * found if steady else found
            self._missed = 0
        else:
            self._missed += 1
            if self._missed > p.hold_frames:
                self._corners = None
