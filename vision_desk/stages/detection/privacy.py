"""The ``privacy`` stage: blur, pixelate or fill the objects of chosen classes (boxes, or masks when there are any)."""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

from vision_desk.engine.frame import Frame
from vision_desk.engine.params import StageParams, param
from vision_desk.engine.stage import Stage


class PrivacyParams(StageParams):
    classes: list[str] = param(["person", "face"], help="Hide objects with these class names (empty: every object).")
    method: Literal["pixelate", "blur", "fill"] = param("pixelate", help="pixelate: coarse blocks; blur: strong Gaussian blur; fill: a solid colour.")
    strength: int = param(16, ge=2, le=200, help="Block size in pixels (pixelate) or blur radius in pixels (blur).")
    use_masks: bool = param(True, help="Hide only the object's mask when the detector gives one (segmentation); otherwise its box.")
    padding: float = param(0.05, ge=0.0, le=1.0, step=0.05, help="Grow each box by this fraction of its size on every side.")
    color: tuple[int, int, int] = param((0, 0, 0), widget="color", help="Fill colour (BGR) for the fill method.")
    source: str = param("", help="Only hide objects of this stage (empty: any stage).")


def obscure(region: np.ndarray, method: str, strength: int, color: tuple[int, int, int] = (0, 0, 0)) -> np.ndarray:
    """The region made unrecognisable: pixelated, blurred or filled (same shape, new array)."""
    h, w = region.shape[:2]
    if method == "fill" or h < 2 or w < 2:
        out = np.empty_like(region)
        out[:] = color
        return out
    if method == "pixelate":
        small = cv2.resize(region, (max(1, w // strength), max(1, h // strength)), interpolation=cv2.INTER_AREA)
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
    k = 2 * strength + 1
    return cv2.GaussianBlur(region, (k, k), 0, borderType=cv2.BORDER_REPLICATE)


def hide_objects(image: np.ndarray, boxes: np.ndarray, masks: np.ndarray | None, method: str, strength: int,
                 padding: float = 0.0, color: tuple[int, int, int] = (0, 0, 0)) -> np.ndarray:
    """A copy of image with each box (or mask, where given and not empty) obscured."""
    out = image.copy()
    h, w = image.shape[:2]
    for i, (x1, y1, x2, y2) in enumerate(np.asarray(boxes, float).reshape(-1, 4)):
        px, py = (x2 - x1) * padding, (y2 - y1) * padding
        xa, ya = max(0, int(np.floor(x1 - px))), max(0, int(np.floor(y1 - py)))
        xb, yb = min(w, int(np.ceil(x2 + px))), min(h, int(np.ceil(y2 + py)))
        if xb <= xa or yb <= ya:
            continue
        hidden = obscure(out[ya:yb, xa:xb], method, strength, color)
        mask = masks[i] if masks is not None and i < len(masks) else None
        if mask is not None and mask.shape == (h, w) and mask[ya:yb, xa:xb].any():
            m = mask[ya:yb, xa:xb]
            if padding > 0:
                grow = max(1, int(round(max(px, py))))
                m = cv2.dilate(m.astype(np.uint8), np.ones((2 * grow + 1, 2 * grow + 1), np.uint8)).astype(bool)
            out[ya:yb, xa:xb][m] = hidden[m]
        else:
            out[ya:yb, xa:xb] = hidden
    return out


class PrivacyStage(Stage):
    id = "privacy"
    title = "Privacy (blur objects)"
    category = "Detection"
    help = "Blurs, pixelates or fills the objects of chosen classes (people and faces by default), inside their masks when there are any; recordings then never show them."
    Params = PrivacyParams
    values = {"privacy_hidden": "Objects hidden."}

    def process(self, frame: Frame) -> None:
        p = self.params
        det = frame.detections
        keep = np.ones(len(det), bool)
        if p.classes:
            wanted = {c.lower() for c in p.classes}
            keep &= np.array([str(v).lower() in wanted for v in det.label], bool)
        if p.source:
            keep &= det.source == p.source
        if not keep.any():
            frame.values["privacy_hidden"] = 0
            return
        chosen = det[keep]
        masks = chosen.mask if p.use_masks else None
        frame.image = hide_objects(frame.image, chosen.xyxy, masks, p.method, p.strength, p.padding, p.color)
        frame.values["privacy_hidden"] = int(keep.sum())
