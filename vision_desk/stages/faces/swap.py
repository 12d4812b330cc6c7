"""The ``face_swap`` stage: landmarks, Delaunay triangles, per-triangle affine warps and seamless cloning.

The classic recipe: find 68 landmarks on both faces, triangulate the target
face's landmarks (Delaunay), warp each source triangle onto its target
triangle with an affine transform, then blend the warped face into the frame
inside the convex hull of the target landmarks with Poisson (seamless)
cloning, so skin tone and light match the frame. Only pixels inside that
hull change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from vision_desk.engine.frame import Frame
from vision_desk.engine.params import StageParams, param
from vision_desk.engine.stage import Stage
from vision_desk.errors import VisionDeskError
from vision_desk.stages.faces.backends import detect_faces, predict_landmarks
from vision_desk.stages.faces.detect import FaceSourceParams, faces_for, frame_faces


def delaunay(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(T, 3) indices into points of a Delaunay triangulation (cv2.Subdiv2D)."""
    h, w = shape
    pts = np.asarray(points, np.float32)
    x0, y0 = np.floor(pts.min(0)) - 1
    x1, y1 = np.ceil(pts.max(0)) + 1
    subdiv = cv2.Subdiv2D((int(x0), int(y0), int(x1 - x0 + 1), int(y1 - y0 + 1)))
    for x, y in pts:
        subdiv.insert((float(x), float(y)))
    triangles = []
    for t in subdiv.getTriangleList().reshape(-1, 3, 2):
        idx = [int(np.argmin(np.sum((pts - v) ** 2, axis=1))) for v in t]
        if len(set(idx)) == 3 and np.allclose(pts[idx], t, atol=0.5):
            triangles.append(idx)
    return np.asarray(triangles, np.int32).reshape(-1, 3)


def warp_triangle(src: np.ndarray, dst: np.ndarray, tri_src: np.ndarray, tri_dst: np.ndarray) -> None:
    """Warps one triangle of src onto dst in place (affine transform over the triangle's bounding box)."""
    x, y, w, h = cv2.boundingRect(np.float32(tri_dst))
    sx, sy, sw, sh = cv2.boundingRect(np.float32(tri_src))
    if w <= 0 or h <= 0 or sw <= 0 or sh <= 0:
        return
    H, W = dst.shape[:2]
    if x < 0 or y < 0 or x + w > W or y + h > H:
        return
    local_src = np.float32(tri_src - (sx, sy))
    local_dst = np.float32(tri_dst - (x, y))
    matrix = cv2.getAffineTransform(local_src, local_dst)
    patch = cv2.warpAffine(src[sy:sy + sh, sx:sx + sw], matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    mask = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(mask, np.int32(np.round(local_dst)), 255, cv2.LINE_AA)
    region = dst[y:y + h, x:x + w]
    alpha = (mask.astype(np.float32) / 255.0)[..., None]
    region[:] = (patch * alpha + region * (1.0 - alpha)).astype(np.uint8)


def swap_face(src_image: np.ndarray, src_points: np.ndarray, dst_image: np.ndarray, dst_points: np.ndarray,
              seamless: bool = True) -> np.ndarray:
    """Puts the face at src_points of src_image onto the face at dst_points of dst_image.

    Args:
        src_image, dst_image: BGR images (dst_image is not modified).
        src_points, dst_points: (68, 2) landmarks of the two faces.
        seamless: Poisson-blend (cv2.seamlessClone); otherwise paste inside the hull.

    Returns:
        A copy of dst_image whose pixels differ only inside the convex hull of dst_points.
    """
    h, w = dst_image.shape[:2]
    dst_pts = np.clip(np.asarray(dst_points, np.float32), 0, [w - 1, h - 1])
    src_pts = np.asarray(src_points, np.float32)
    warped = dst_image.copy()
    for tri in delaunay(dst_pts, (h, w)):
        warp_triangle(src_image, warped, src_pts[tri], dst_pts[tri])
    hull = cv2.convexHull(np.int32(np.round(dst_pts)))
    mask = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(mask, hull, 255)
    if seamless:
        x, y, bw, bh = cv2.boundingRect(hull)
        # seamlessClone needs the mask's box strictly inside the image: clone on a padded copy.
        pad = 2
        big_dst = cv2.copyMakeBorder(dst_image, pad, pad, pad, pad, cv2.BORDER_REFLECT_101)
        big_src = cv2.copyMakeBorder(warped, pad, pad, pad, pad, cv2.BORDER_REFLECT_101)
        big_mask = cv2.copyMakeBorder(mask, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
        center = (x + pad + bw // 2, y + pad + bh // 2)
        blended = cv2.seamlessClone(big_src, big_dst, big_mask, center, cv2.NORMAL_CLONE)[pad:pad + h, pad:pad + w]
    else:
        blended = warped
    out = dst_image.copy()
    inside = mask > 0
    out[inside] = blended[inside]  # guarantees nothing outside the hull changes
    return out


def largest_face_landmarks(image: np.ndarray) -> np.ndarray:
    """(68, 2) landmarks of the largest face in an image; raises when there is none."""
    faces = detect_faces(image)
    if not len(faces):
        raise VisionDeskError("no face found in the face image; pick a photo with one clear, frontal face.")
    return predict_landmarks(image, faces.xyxy[:1], 68)[0]


class FaceSwapParams(FaceSourceParams):
    mode: Literal["pair", "image"] = param("pair", help="pair: swap the two largest faces in the frame; image: put the face from 'image' onto every face.")
    image: str = param("", widget="image_path", file_filter="Images (*.png *.jpg *.jpeg *.bmp *.webp)", help="Photo with one clear face, for the image mode.")
    seamless: bool = param(True, help="Blend with Poisson (seamless) cloning so light and skin tone match; off pastes the warped face.")


class FaceSwapStage(Stage):
    id = "face_swap"
    title = "Face swap"
    category = "Faces"
    help = ("Swaps the two largest faces, or puts the face of a photo onto every face (68 landmarks, Delaunay "
            "triangles, affine warps, seamless cloning). Heavy.")
    Params = FaceSwapParams
    heavy = True
    values = {"faces_swapped": "Faces swapped."}

    def __init__(self, params: StageParams | None = None) -> None:
        super().__init__(params)
        self._source: tuple[str, np.ndarray, np.ndarray] | None = None

    def setup(self) -> None:
        self._load_source()

    def update_params(self, params: StageParams) -> None:
        super().update_params(params)
        self._source = None  # loaded again at the next frame (errors reach the user there)

    def _load_source(self) -> tuple[np.ndarray, np.ndarray] | None:
        p = self.params
        if p.mode != "image":
            return None
        if self._source is None or self._source[0] != p.image:
            if not p.image:
                raise VisionDeskError("face_swap's image mode needs a face photo: set the 'image' parameter.")
            path = Path(p.image).expanduser()
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                raise VisionDeskError(f"face photo {path} cannot be read; check the path and that it is an image.")
            try:
                points = largest_face_landmarks(image)
            except VisionDeskError:
                raise VisionDeskError(f"no face found in {path}; pick a photo with one clear, frontal face.") from None
            self._source = (p.image, image, points)
        return self._source[1], self._source[2]

    def process(self, frame: Frame) -> None:
        p = self.params
        boxes, _ = faces_for(frame, p.min_size, p.confidence)
        found = frame_faces(frame)
        points = None
        if found is not None and "landmarks" in found[1].data:
            column = found[1].data["landmarks"]
            if all(v is not None for v in column):
                points = np.asarray(list(column), np.float32).reshape(-1, 68, 2)
        if points is None:
            points = predict_landmarks(frame.image, boxes, 68)
        original = frame.image
        out = original
        if p.mode == "image":
            source = self._load_source()
            assert source is not None
            for dst in points:
                out = swap_face(source[0], source[1], out, dst, p.seamless)
            swapped = len(points)
        elif len(points) >= 2:
            a, b = points[0], points[1]
            out = swap_face(original, a, out, b, p.seamless)
            out = swap_face(original, b, out, a, p.seamless)
            swapped = 2
        else:
            swapped = 0
        frame.image = out
        frame.values["faces_swapped"] = swapped
