"""Point features: blobs (SimpleBlobDetector) and corners (Harris, Shi-Tomasi), each with a count."""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np
from pydantic import model_validator

from vision_desk.engine.frame import Frame
from vision_desk.engine.params import StageParams, param
from vision_desk.engine.results import Detections
from vision_desk.engine.stage import Stage
from vision_desk.stages.classical._common import circle_detections, to_gray


class BlobsParams(StageParams):
    color: Literal["dark", "light", "any"] = param("dark", help="Blobs darker or lighter than their surroundings, or both.")
    min_threshold: int = param(10, ge=0, le=255, help="First of the thresholds the image is sliced at.")
    max_threshold: int = param(220, ge=1, le=255, help="Last threshold.")
    threshold_step: int = param(10, ge=1, le=255, help="Step between thresholds (smaller: slower, more stable).")
    min_area: float = param(25.0, ge=1.0, le=10_000_000.0, help="Smallest blob area in pixels.")
    max_area: float = param(20000.0, ge=1.0, le=10_000_000.0, help="Largest blob area in pixels.")
    min_circularity: float = param(0.0, ge=0.0, le=1.0, step=0.05, help="4 pi area / perimeter^2 at least this (1 = circle, 0.785 = square; 0 = no filter).")
    min_convexity: float = param(0.0, ge=0.0, le=1.0, step=0.05, help="Area / convex-hull area at least this (0 = no filter).")
    min_inertia: float = param(0.0, ge=0.0, le=1.0, step=0.05, help="Elongation: minor / major axis ratio at least this (1 = circle, near 0 = line; 0 = no filter).")
    min_distance: float = param(10.0, ge=0.0, le=10000.0, help="Smallest distance between blob centres, in pixels.")
    max_blobs: int = param(500, ge=1, le=10000, help="At most this many blobs (largest first) become objects.")

    @model_validator(mode="after")
    def _ordered(self) -> "BlobsParams":
        if self.min_threshold >= self.max_threshold:
            raise ValueError("'min_threshold' must be below 'max_threshold'")
        if self.min_area > self.max_area:
            raise ValueError("'min_area' must not exceed 'max_area'")
        return self


def blob_detector(p: BlobsParams) -> cv2.SimpleBlobDetector:
    """A SimpleBlobDetector configured from the stage parameters (a zero minimum switches that filter off)."""
    q = cv2.SimpleBlobDetector_Params()
    q.filterByColor = p.color != "any"
    q.blobColor = 255 if p.color == "light" else 0
    q.minThreshold, q.maxThreshold, q.thresholdStep = float(p.min_threshold), float(p.max_threshold), float(p.threshold_step)
    q.filterByArea, q.minArea, q.maxArea = True, p.min_area, p.max_area
    # OpenCV rejects a zero minimum even for a filter that is off, so a minimum is only set when used
    q.filterByCircularity = q.filterByConvexity = q.filterByInertia = False
    if p.min_circularity > 0:
        q.filterByCircularity, q.minCircularity = True, p.min_circularity
    if p.min_convexity > 0:
        q.filterByConvexity, q.minConvexity = True, p.min_convexity
    if p.min_inertia > 0:
        q.filterByInertia, q.minInertiaRatio = True, p.min_inertia
    q.minDistBetweenBlobs = p.min_distance
    return cv2.SimpleBlobDetector_create(q)


class BlobsStage(Stage):
    id = "blobs"
    title = "Blob detector"
    category = "Edges"
    help = ("Counts blobs (spots, coins, cells) with OpenCV's SimpleBlobDetector, filtered by area, circularity, "
            "convexity and inertia; each is a 'blob' object with centre and diameter, blobs_count in values.")
    Params = BlobsParams
    values = {"blobs_count": "Blobs found (the 'blob' objects)."}
    columns = {"center": "Centre (x, y).", "polygon": "The blob as a circle polygon.", "diameter": "Diameter in pixels."}

    def __init__(self, params: StageParams | None = None) -> None:
        super().__init__(params)
        self._detector: cv2.SimpleBlobDetector | None = None

    def update_params(self, params: StageParams) -> None:
        super().update_params(params)
        self._detector = None

    def process(self, frame: Frame) -> None:
        if self._detector is None:
            self._detector = blob_detector(self.params)
        keypoints = sorted(self._detector.detect(to_gray(frame.image)), key=lambda k: -k.size)[: self.params.max_blobs]
        rows = [(k.pt[0], k.pt[1], k.size / 2.0) for k in keypoints]
        frame.add(circle_detections(rows, "blob", self.id, diameter=[round(2 * r, 1) for *_, r in rows]))
        frame.values["blobs_count"] = len(rows)


def find_corners(gray: np.ndarray, method: str, max_corners: int, quality: float, min_distance: float,
                 block_size: int = 3, k: float = 0.04) -> tuple[np.ndarray, np.ndarray]:
    """Corner positions (N, 2) and their strengths relative to the strongest (N,), strongest first.

    Harris scores det(M) - k trace(M)^2 of the local gradient matrix M; Shi-Tomasi
    scores its smaller eigenvalue. Corners weaker than ``quality`` times the
    strongest are dropped, and of two closer than ``min_distance`` the weaker
    goes (OpenCV's goodFeaturesToTrack).
    """
    harris = method == "harris"
    found = cv2.goodFeaturesToTrack(gray, max_corners, quality, min_distance, blockSize=block_size,
                                    useHarrisDetector=harris, k=k)
    if found is None:
        return np.zeros((0, 2), np.float32), np.zeros(0, np.float32)
    pts = found.reshape(-1, 2)
    f32 = np.float32(gray)
    response = cv2.cornerHarris(f32, block_size, 3, k) if harris else cv2.cornerMinEigenVal(f32, block_size, 3)
    strength = response[pts[:, 1].astype(int), pts[:, 0].astype(int)]
    return pts, np.clip(strength / max(float(response.max()), 1e-12), 0.0, 1.0)


class CornersParams(StageParams):
    method: Literal["shi_tomasi", "harris"] = param("shi_tomasi", help="Shi-Tomasi (good features to track) or Harris corner response.")
    max_corners: int = param(100, ge=1, le=10000, help="At most this many corners, strongest first.")
    quality: float = param(0.05, ge=0.001, le=1.0, step=0.01, help="Keep corners at least this fraction as strong as the strongest.")
    min_distance: float = param(10.0, ge=0.0, le=1000.0, help="Smallest distance between two corners, in pixels.")
    block_size: int = param(3, ge=2, le=31, help="Neighbourhood whose gradients make the corner response.")
    harris_k: float = param(0.04, ge=0.01, le=0.25, step=0.01, help="Harris free parameter k (0.04-0.06 usual).")


class CornersStage(Stage):
    id = "corners"
    title = "Corners (Harris, Shi-Tomasi)"
    category = "Edges"
    help = "Finds corners by the Harris or Shi-Tomasi response; each is a 'corner' object scored by relative strength, corners_count in values."
    Params = CornersParams
    values = {"corners_count": "Corners found (the 'corner' objects)."}
    columns = {"point": "The corner (x, y)."}

    def process(self, frame: Frame) -> None:
        p = self.params
        pts, strength = find_corners(to_gray(frame.image), p.method, p.max_corners, p.quality, p.min_distance, p.block_size, p.harris_k)
        frame.add(Detections.from_boxes(
            [(x - 3, y - 3, x + 3, y + 3) for x, y in pts.tolist()], "corner", strength, source=self.id,
            point=[(round(x, 1), round(y, 1)) for x, y in pts.tolist()],
        ))
        frame.values["corners_count"] = len(pts)
