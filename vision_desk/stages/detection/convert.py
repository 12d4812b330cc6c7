"""Ultralytics ``Results`` to Vision Desk :class:`Detections` (plain functions, testable alone)."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from vision_desk.engine.results import Detections

#: COCO-17 keypoint skeleton, 0-based index pairs (the layout of Ultralytics' pose models).
COCO_SKELETON: list[tuple[int, int]] = [
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7), (6, 8),
    (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
]


def _np(x: Any) -> np.ndarray:
    return x.cpu().numpy() if hasattr(x, "cpu") else np.asarray(x)


def simplify_polygon(points: np.ndarray, epsilon: float = 1.0) -> list[list[float]]:
    """A mask outline with points closer than epsilon pixels to the line dropped (keeps exports small)."""
    pts = np.asarray(points, np.float32).reshape(-1, 1, 2)
    if len(pts) > 8:
        pts = cv2.approxPolyDP(pts, epsilon, True)
    return np.round(pts.reshape(-1, 2), 1).tolist()


def result_to_detections(result: Any, source: str, names: dict[int, str] | None = None) -> Detections:
    """The objects of one Ultralytics result (detect, segment, pose or obb) as Detections.

    Segmentation adds full-frame bool masks and a ``polygon`` column; pose adds
    (N, K, 3) keypoints; oriented boxes add a 4-corner ``polygon`` and an
    ``angle`` column (degrees) beside their axis-aligned bounds.
    """
    names = names or result.names
    if getattr(result, "obb", None) is not None:
        obb = result.obb
        cls = _np(obb.cls).astype(int)
        corners = _np(obb.xyxyxyxy)
        return Detections.from_boxes(
            _np(obb.xyxy), [names[int(c)] for c in cls], _np(obb.conf), class_id=cls, source=source,
            polygon=[np.round(c, 1).tolist() for c in corners],
            angle=[round(float(np.degrees(a)), 2) for a in _np(obb.xywhr)[:, 4]],
        )
    boxes = result.boxes
    if boxes is None:
        return Detections()
    cls = _np(boxes.cls).astype(int)
    n = len(cls)
    data: dict[str, Any] = {}
    mask = keypoints = None
    if getattr(result, "masks", None) is not None and n:
        mask = _np(result.masks.data).astype(bool)
        h, w = result.orig_shape
        if mask.shape[1:] != (h, w):  # masks at inference size: bring them to the frame
            mask = np.stack([cv2.resize(m.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) for m in mask]).astype(bool)
        data["polygon"] = [simplify_polygon(p) for p in result.masks.xy]
    if getattr(result, "keypoints", None) is not None and n:
        kp = result.keypoints
        keypoints = _np(kp.data).astype(np.float32)
        if keypoints.shape[-1] == 2:  # models without visibility: treat every point as seen
            keypoints = np.concatenate([keypoints, np.ones((*keypoints.shape[:2], 1), np.float32)], -1)
    return Detections.from_boxes(
        _np(boxes.xyxy), [names[int(c)] for c in cls], _np(boxes.conf), class_id=cls, mask=mask,
        keypoints=keypoints, source=source, **data,
    )


def top_classes(result: Any, k: int, names: dict[int, str] | None = None) -> list[tuple[str, float]]:
    """A classification result's k best (label, probability) pairs, best first."""
    names = names or result.names
    probs = _np(result.probs.data).astype(float)
    order = np.argsort(-probs)[:k]
    return [(names[int(i)], round(float(probs[i]), 4)) for i in order]


def letterbox_shape(frame_hw: tuple[int, int], imgsz: int, stride: int = 32) -> tuple[int, int]:
    """The network input (h, w) Ultralytics uses for a frame at imgsz with rectangular padding.

    The long side becomes imgsz and the short side the smallest stride multiple
    that holds it, e.g. 1280x720 at 640 -> (384, 640): what PyTorch models run
    at, and therefore the fixed shape an export must have to give the same boxes.
    """
    h, w = frame_hw
    r = min(imgsz / h, imgsz / w)
    nh, nw = int(round(h * r)), int(round(w * r))
    return (int(np.ceil(nh / stride) * stride), int(np.ceil(nw / stride) * stride))
