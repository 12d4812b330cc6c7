"""Overlays drawn from results, at the end of the chain, on a copy of the frame.

The same :class:`~vision_desk.engine.results.Detections` feed this, the
exporters and the GUI. Per-object columns change what is written: ``text``,
``identity`` and ``payload`` replace the class label; ``polygon`` is outlined
(two points: a line segment);
masks are blended; keypoints are dotted (and joined when a ``skeleton`` is
given in ``frame.extras``).
"""

from __future__ import annotations

import zlib

import cv2
import numpy as np

from vision_desk.engine.frame import Frame
from vision_desk.engine.results import Detections

_PALETTE = np.array(
    [
        (56, 56, 255), (151, 157, 255), (31, 112, 255), (29, 178, 255), (49, 210, 207), (10, 249, 72),
        (23, 204, 146), (134, 219, 61), (52, 147, 26), (187, 212, 0), (168, 153, 44), (255, 194, 0),
        (147, 69, 52), (255, 115, 100), (236, 24, 0), (255, 56, 132), (133, 0, 82), (255, 56, 203),
    ],
    np.uint8,
)  # Ultralytics' palette (BGR), so colours look familiar to its users.


def color_for(key: object) -> tuple[int, int, int]:
    """A stable colour per label or track id."""
    c = _PALETTE[zlib.crc32(str(key).encode()) % len(_PALETTE)]
    return int(c[0]), int(c[1]), int(c[2])


def draw_label(canvas: np.ndarray, text: str, x: int, y: int, color: tuple[int, int, int], scale: float = 0.5) -> None:
    """A filled tag with readable text whose bottom-left corner is at (x, y)."""
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    h, w = canvas.shape[:2]
    x = int(min(max(0, x), max(0, w - tw - 4)))
    y = int(min(max(th + base + 2, y), h))
    cv2.rectangle(canvas, (x, y - th - base - 2), (x + tw + 4, y), color, -1)
    lum = 0.114 * color[0] + 0.587 * color[1] + 0.299 * color[2]
    cv2.putText(canvas, text, (x + 2, y - base), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0) if lum > 150 else (255, 255, 255), 1, cv2.LINE_AA)


def _caption(det: Detections, i: int) -> str:
    """"#3 person 0.87"; what was read or recognised replaces the label and score ("#3 Alice", "#7 KA01AB1234"), and
    the track number stays, so a name or a plate can be told apart from its neighbour's and followed."""
    track = f"#{int(det.track_id[i])} " if det.track_id[i] >= 0 else ""
    for key in ("identity", "text", "payload"):
        col = det.data.get(key)
        if col is not None and col[i] is not None:
            value = str(col[i])
            return track + (value if len(value) <= 40 else value[:37] + "...")
    caption = track + str(det.label[i])
    if det.score[i] < 0.9999:
        caption += f" {float(det.score[i]):.2f}"
    return caption


def draw_detections(canvas: np.ndarray, det: Detections, skeleton: list[tuple[int, int]] | None = None) -> None:
    """Draws boxes, captions, masks, polygons and keypoints in place."""
    if det.empty:
        return
    thickness = max(1, round(min(canvas.shape[:2]) / 360))
    if det.mask is not None:
        overlay = canvas.copy()
        for i in range(len(det)):
            if det.mask[i].shape == canvas.shape[:2] and det.mask[i].any():
                overlay[det.mask[i]] = color_for(det.track_id[i] if det.track_id[i] >= 0 else det.label[i])
        cv2.addWeighted(overlay, 0.4, canvas, 0.6, 0, dst=canvas)
    polygons = det.data.get("polygon")
    for i in range(len(det)):
        color = color_for(det.track_id[i] if det.track_id[i] >= 0 else det.label[i])
        x1, y1, x2, y2 = (int(round(v)) for v in det.xyxy[i])
        poly = polygons[i] if polygons is not None else None
        if poly is not None and len(poly) >= 2:  # two points: a segment (e.g. a Hough line), drawn open
            cv2.polylines(canvas, [np.asarray(poly, np.int32).reshape(-1, 1, 2)], len(poly) >= 3, color, thickness, cv2.LINE_AA)
        else:
            cv2.rectangle(canvas, (x1, y1), (x2, y2), color, thickness, cv2.LINE_AA)
        draw_label(canvas, _caption(det, i), x1, y1, color)
        if det.keypoints is not None:
            pts = det.keypoints[i]
            if skeleton:
                for a, b in skeleton:
                    if a < len(pts) and b < len(pts) and pts[a, 2] > 0.5 and pts[b, 2] > 0.5:
                        cv2.line(canvas, (int(pts[a, 0]), int(pts[a, 1])), (int(pts[b, 0]), int(pts[b, 1])), color, thickness, cv2.LINE_AA)
            for x, y, conf in pts:
                if conf > 0.5 and not np.isnan(x):
                    cv2.circle(canvas, (int(x), int(y)), thickness + 1, (255, 255, 255), -1, cv2.LINE_AA)


def annotate(frame: Frame, pipeline) -> np.ndarray:  # noqa: ANN001 - Pipeline, avoiding an import cycle
    """Returns a copy of the frame's image with every overlay drawn."""
    canvas = frame.image.copy()
    draw_detections(canvas, frame.detections, frame.extras.get("skeleton"))
    pipeline.draw(canvas, frame)
    return canvas
