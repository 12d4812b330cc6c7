"""Document pages: find the largest quadrilateral (a sheet of paper) and warp it flat, ready for OCR.

The classic scanner recipe: edges (Canny) closed by a dilation, plus an Otsu
mask for pages brighter than their background; the largest contour that a
polygon approximation turns into a convex quadrilateral is the page. The warp
maps it to an upright rectangle of the page's own proportions.
"""

from __future__ import annotations

import cv2
import numpy as np

from vision_desk.engine.frame import Frame
from vision_desk.engine.params import StageParams, param
from vision_desk.engine.stage import Stage
from vision_desk.stages.basic import to_gray


def order_corners(points: np.ndarray) -> np.ndarray:
    """Four points as top-left, top-right, bottom-right, bottom-left (image coordinates)."""
    pts = np.asarray(points, np.float32).reshape(4, 2)
    centre = pts.mean(axis=0)
    angles = np.arctan2(pts[:, 1] - centre[1], pts[:, 0] - centre[0])
    pts = pts[np.argsort(angles)]  # clockwise on screen, starting anywhere
    start = int(np.argmin(pts.sum(axis=1)))  # top-left has the smallest x + y
    return np.roll(pts, -start, axis=0)


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
                quads.append(order_corners(approx.reshape(4, 2)))
                break
    return quads


def _side_points(quad: np.ndarray, samples: int = 64) -> list[np.ndarray]:
    t = np.linspace(0.05, 0.95, samples)[:, None]
    return [a + t * (b - a) for a, b in zip(quad, np.roll(quad, -1, axis=0))]


def edge_support(gx: np.ndarray, gy: np.ndarray, quad: np.ndarray, reach: int = 4, min_gradient: float = 40.0) -> float:
    """The smallest fraction, over the four sides, of points along a side where the image has an edge running the same way.

    A point counts when, within ``reach`` pixels across the side, the brightness
    changes across the side (gradient along the side's normal above
    ``min_gradient``) clearly more than along it. Texture (grass, gravel, brick)
    has edges everywhere but in every direction, so a made-up side finds little.
    """
    h, w = gx.shape[:2]
    offsets = np.arange(-reach, reach + 1, dtype=np.float32)[None, :, None]
    worst = 1.0
    for pts, (a, b) in zip(_side_points(quad), zip(quad, np.roll(quad, -1, axis=0))):
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
    """Moves each side onto the line fitted to the edge pixels within band pixels of it; corners are the crossings."""
    ys, xs = np.nonzero(edges)
    pts = np.column_stack([xs, ys]).astype(np.float32)
    lines = []
    for a, b in zip(quad, np.roll(quad, -1, axis=0)):
        d = b - a
        length = float(np.linalg.norm(d))
        u = d / max(length, 1e-6)
        rel = pts - a
        along, across = rel @ u, rel @ np.float32([-u[1], u[0]])
        near = pts[(np.abs(across) <= band) & (along > 0.05 * length) & (along < 0.95 * length)]
        if len(near) >= 20:
            vx, vy, x0, y0 = cv2.fitLine(near, cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
            lines.append((np.float32([x0, y0]), np.float32([vx, vy])))
        else:
            lines.append((a.astype(np.float32), u.astype(np.float32)))
    corners = []
    for (p1, v1), (p2, v2) in zip(np.roll(np.array(lines, dtype=object), 1, axis=0), lines):
        matrix = np.array([v1, -v2], np.float64).T
        if abs(np.linalg.det(matrix)) < 1e-6:
            return quad
        s, _ = np.linalg.solve(matrix, (p2 - p1).astype(np.float64))
        corners.append(p1 + s * v1)
    refined = np.asarray(corners, np.float32)
    # Refinement only polishes: a corner that jumps far means a side latched onto something else.
    return refined if np.abs(refined - quad).max() <= 3 * band else quad


def find_document_quad(image: np.ndarray, min_area: float = 0.1, min_support: float = 0.6) -> np.ndarray | None:
    """The corners (TL, TR, BR, BL) of the largest well-outlined quadrilateral covering at least min_area, or None.

    Args:
        min_area: the smallest page as a fraction of the image.
        min_support: every side must run along image edges for at least this fraction of its length,
            so a contour that leaked into the background (one side made up) is not taken for the page.
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
        # A quad that is the whole frame is the frame's border, not a page on it.
        if best_area <= area < 0.98 * h * w and edge_support(gx, gy, quad) >= min_support:
            best, best_area = quad, area
    return None if best is None else refine_quad(edges, best)


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


def warp_quad(image: np.ndarray, corners: np.ndarray, width: int = 0) -> np.ndarray:
    """The quadrilateral (TL, TR, BR, BL) warped to an upright rectangle with the page's true proportions.

    Args:
        width: output width in pixels; 0 takes the longer of the quad's top and bottom edges.
    """
    tl, tr, br, bl = np.asarray(corners, np.float32).reshape(4, 2)
    out_w = width or round(max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl)))
    aspect = page_aspect(corners, (image.shape[1], image.shape[0]))
    out_w, out_h = max(1, int(out_w)), max(1, round(out_w / aspect))
    dst = np.float32([[0, 0], [out_w - 1, 0], [out_w - 1, out_h - 1], [0, out_h - 1]])
    matrix = cv2.getPerspectiveTransform(np.float32([tl, tr, br, bl]), dst)
    return cv2.warpPerspective(image, matrix, (out_w, out_h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)


class DocumentParams(StageParams):
    min_area: float = param(0.1, ge=0.01, le=0.98, step=0.01, help="Smallest page, as a fraction of the frame's area.")
    width: int = param(1000, ge=0, le=6000, help="Width of the flattened page in pixels (0 keeps the page's own size).")
    hold_frames: int = param(15, ge=0, le=10_000, help="Keep using the last page outline for this many frames when none is found.")
    smoothing: float = param(0.5, ge=0.0, le=0.95, step=0.05, help="How much the outline follows its previous position (steadier output when the page is still).")


class DocumentStage(Stage):
    id = "document"
    title = "Document page (flatten)"
    category = "Text & codes"
    help = "Finds the largest quadrilateral (a sheet of paper) and warps it flat; frames without a page pass unchanged."
    Params = DocumentParams

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
        found = find_document_quad(frame.image, p.min_area)
        if found is not None:
            steady = self._corners is not None and np.abs(found - self._corners).max() < 0.05 * max(frame.shape)
            self._corners = p.smoothing * self._corners + (1 - p.smoothing) * found if steady else found
            self._missed = 0
        else:
            self._missed += 1
            if self._missed > p.hold_frames:
                self._corners = None
        frame.values["document_found"] = found is not None
        if self._corners is not None:
            frame.values["document_corners"] = np.round(self._corners, 1).tolist()
            frame.image = warp_quad(frame.image, self._corners, p.width)
