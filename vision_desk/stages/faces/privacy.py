"""The ``face_privacy`` stage: blur, pixelate or fill faces, all of them or only the unknown ones."""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

from vision_desk.engine.frame import Frame
from vision_desk.engine.params import param
from vision_desk.engine.stage import Stage
from vision_desk.stages.faces.detect import FaceSourceParams, faces_for
from vision_desk.stages.faces.recognize import UNKNOWN


def grow_box(box: np.ndarray, padding: float, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """A box grown by ``padding`` of its size on every side, as integer pixels clipped to the image."""
    h, w = shape
    x1, y1, x2, y2 = (float(v) for v in box)
    px, py = padding * (x2 - x1), padding * (y2 - y1)
    return (int(max(0, np.floor(x1 - px))), int(max(0, np.floor(y1 - py))),
            int(min(w, np.ceil(x2 + px))), int(min(h, np.ceil(y2 + py))))


def anonymize(image: np.ndarray, boxes: np.ndarray, method: str = "blur", strength: int = 25, padding: float = 0.15,
              shape: str = "ellipse", color: tuple[int, int, int] = (0, 0, 0)) -> np.ndarray:
    """Hides the faces in boxes; pixels outside the (grown) boxes are left exactly as they were.

    Args:
        image: HxWx3 uint8 BGR (not modified).
        boxes: (N, 4) xyxy face boxes.
        method: ``blur`` (Gaussian), ``pixelate`` (mosaic) or ``fill`` (a solid colour).
        strength: 1-100; blur kernel as a percentage of the face size, or mosaic
            cells across the face shrinking as it grows (100 = 3 cells).
        padding: grow each box by this fraction of its size on every side.
        shape: ``ellipse`` (inscribed in the grown box) or ``box``.
        color: BGR fill colour for ``fill``.
    """
    out = image.copy()
    for box in np.asarray(boxes, np.float32).reshape(-1, 4):
        x1, y1, x2, y2 = grow_box(box, padding, image.shape[:2])
        if x2 - x1 < 2 or y2 - y1 < 2:
            continue
        roi = out[y1:y2, x1:x2]
        rh, rw = roi.shape[:2]
        if method == "blur":
            k = max(3, int(max(rw, rh) * strength / 100) | 1)
            hidden = cv2.GaussianBlur(roi, (k, k), 0)
        elif method == "pixelate":
            cells = max(3, round(3 + (100 - strength) * 0.2))
            small = cv2.resize(roi, (max(1, min(rw, cells)), max(1, min(rh, cells))), interpolation=cv2.INTER_AREA)
            hidden = cv2.resize(small, (rw, rh), interpolation=cv2.INTER_NEAREST)
        else:
            hidden = np.empty_like(roi)
            hidden[:] = color
        if shape == "box":
            roi[:] = hidden
        else:
            mask = np.zeros((rh, rw), np.uint8)
            cv2.ellipse(mask, (rw // 2, rh // 2), (max(1, rw // 2), max(1, rh // 2)), 0, 0, 360, 255, -1)
            roi[mask > 0] = hidden[mask > 0]
    return out


class FacePrivacyParams(FaceSourceParams):
    method: Literal["blur", "pixelate", "fill"] = param("blur", help="How faces are hidden: Gaussian blur, a coarse mosaic, or a solid colour.")
    faces: Literal["all", "unknown"] = param("all", help="Hide every face, or only faces the 'faces' stage did not name (without recognition every face is unknown).")
    strength: int = param(40, ge=1, le=100, help="Blur size as a percentage of the face, or mosaic coarseness (100 = 3 cells across).")
    padding: float = param(0.15, ge=0.0, le=1.0, step=0.05, help="Grow each face box by this fraction on every side, to cover hair and chin.")
    shape: Literal["ellipse", "box"] = param("ellipse", help="Hide an ellipse inside the box, or the whole box.")
    color: tuple[int, int, int] = param((0, 0, 0), widget="color", help="Fill colour (BGR) for the fill method.")
    confidence: float = param(0.8, ge=0.0, le=1.0, step=0.01, help="MTCNN confidence when no 'faces' stage runs before this one (lower hides more).")


class FacePrivacyStage(Stage):
    id = "face_privacy"
    title = "Face privacy"
    category = "Faces"
    help = ("Blurs, pixelates or fills faces: all, or only unknown ones (needs a 'faces' stage with recognize before it). "
            "Heavy without a 'faces' stage before it (runs its own detector).")
    Params = FacePrivacyParams
    heavy = True
    values = {"faces_hidden": "Faces hidden."}

    def process(self, frame: Frame) -> None:
        p = self.params
        boxes, identity = faces_for(frame, p.min_size, p.confidence)
        if p.faces == "unknown" and identity is not None:
            boxes = boxes[np.asarray([n in (None, UNKNOWN) for n in identity], bool)]
        frame.image = anonymize(frame.image, boxes, p.method, p.strength, p.padding, p.shape, tuple(p.color))
        frame.values["faces_hidden"] = len(boxes)
