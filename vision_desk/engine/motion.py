"""Moving results from the frame they were found on to a later frame, by sparse optical flow.

An async lane's results are a few frames old when they arrive, and the frames
that pass until the next result reuse them. :func:`box_shifts` measures how far
the content of each box moved between two frames: corner points inside the box
(Shi-Tomasi) are followed with pyramidal Lucas-Kanade, kept only where the flow
back lands where it started (forward-backward check), and their median motion
is the box's shift; a box too flat inside for corners is found again by
matching its whole content nearby. :func:`shift_rows` moves boxes, keypoints, masks and
outlines by those shifts. Both work on :class:`SmallGray` images, a frame
reduced to a few hundred pixels wide, so following a result costs a millisecond
or two per frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vision_desk.engine.results import Detections

#: Width the flow works at: enough detail for corners on a person or a car, cheap at any source size.
FLOW_WIDTH = 480
#: Points a box needs whose flow survives the forward-backward check before it is moved at all.
MIN_POINTS = 3
#: Forward-backward distance (in small-image pixels) above which a point's flow is not trusted.
MAX_FB_ERROR = 1.0
#: Matching a box's whole content (boxes without enough corners): how far to look, in small-image pixels at
#: least, and the normalised correlation a match needs.
MATCH_REACH = 12
MIN_MATCH = 0.6
_LK = dict(winSize=(21, 21), maxLevel=3, criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03))


@dataclass(frozen=True)
class SmallGray:
    """A frame reduced for optical flow: ``gray`` is the image scaled by ``scale`` (at most 1)."""

    gray: np.ndarray
    scale: float

    @classmethod
    def of(cls, image: np.ndarray, width: int = FLOW_WIDTH) -> "SmallGray":
        h, w = image.shape[:2]
        scale = min(1.0, width / max(w, 1))
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
        if scale < 1.0:
            gray = cv2.resize(gray, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        return cls(gray, scale)


def box_shifts(before: SmallGray, after: SmallGray, xyxy: np.ndarray) -> np.ndarray:
    """How far the content of each box moved from ``before`` to ``after``, in full-size pixels.

    Args:
        before: the frame the boxes lie on.
        after: a later frame of the same source.
        xyxy: (N, 4) boxes in full-size pixels of ``before``.

    Returns:
        (N, 2) float32 shifts (dx, dy); zero for a box whose content could not be
        followed (too small, flat, occluded), which then stays where it was.
    """
    shifts = np.zeros((len(xyxy), 2), np.float32)
    if not len(xyxy) or before.gray.shape != after.gray.shape:
        return shifts
    s = before.scale
    h, w = before.gray.shape[:2]
    points, owner = [], []
    for i, (x1, y1, x2, y2) in enumerate(np.asarray(xyxy, np.float32) * s):
        # a margin inside the box keeps the background at its edges out of the vote
        mx, my = (x2 - x1) * 0.1, (y2 - y1) * 0.1
        x1, y1 = max(0, int(x1 + mx)), max(0, int(y1 + my))
        x2, y2 = min(w, int(np.ceil(x2 - mx))), min(h, int(np.ceil(y2 - my)))
        if x2 - x1 < 4 or y2 - y1 < 4:
            continue
        corners = cv2.goodFeaturesToTrack(before.gray[y1:y2, x1:x2], maxCorners=24, qualityLevel=0.01, minDistance=2)
        if corners is None:
            continue
        points.append(corners.reshape(-1, 2) + np.float32([x1, y1]))
        owner += [i] * len(corners)
    if not points:
        return shifts
    start = np.concatenate(points).astype(np.float32).reshape(-1, 1, 2)
    ahead, ok, _ = cv2.calcOpticalFlowPyrLK(before.gray, after.gray, start, None, **_LK)
    back, ok_back, _ = cv2.calcOpticalFlowPyrLK(after.gray, before.gray, ahead, None, **_LK)
    good = (ok.reshape(-1) == 1) & (ok_back.reshape(-1) == 1) & (np.linalg.norm((back - start).reshape(-1, 2), axis=1) < MAX_FB_ERROR)
    motion = (ahead - start).reshape(-1, 2)
    owner_arr = np.asarray(owner)
    followed = np.zeros(len(xyxy), bool)
    for i in np.unique(owner_arr[good]):
        mine = good & (owner_arr == i)
        if mine.sum() >= MIN_POINTS:
            shifts[i] = np.median(motion[mine], axis=0) / s
            followed[i] = True
    for i in np.flatnonzero(~followed):  # flat inside (a painted sign, a plain car door): find the whole box
        shifts[i] = _matched_shift(before, after, xyxy[i])
    return shifts


def _matched_shift(before: SmallGray, after: SmallGray, box: np.ndarray) -> np.ndarray:
    """A box's shift found by matching its whole content (edges included) around where it was; zero when the
    best match is weak. For objects too flat inside for corners, whose outline is what moves."""
    s = before.scale
    h, w = before.gray.shape[:2]
    x1, y1, x2, y2 = (int(round(v * s)) for v in box)
    x1, y1, x2, y2 = max(0, x1), max(0, y1), min(w, x2), min(h, y2)
    if x2 - x1 < 6 or y2 - y1 < 6:
        return np.zeros(2, np.float32)
    reach = max(MATCH_REACH, (x2 - x1 + y2 - y1) // 4)  # a quarter of the box's mean side, at least MATCH_REACH
    sx1, sy1 = max(0, x1 - reach), max(0, y1 - reach)
    sx2, sy2 = min(w, x2 + reach), min(h, y2 + reach)
    scores = cv2.matchTemplate(after.gray[sy1:sy2, sx1:sx2], before.gray[y1:y2, x1:x2], cv2.TM_CCOEFF_NORMED)
    _, best, _, (bx, by) = cv2.minMaxLoc(scores)
    if not np.isfinite(best) or best < MIN_MATCH:
        return np.zeros(2, np.float32)
    return np.float32([sx1 + bx - x1, sy1 + by - y1]) / s


def shift_rows(det: Detections, shifts: np.ndarray, shape: tuple[int, int]) -> Detections:
    """A copy of ``det`` with each row moved by its (dx, dy): boxes (clipped to the frame), keypoints,
    masks (by whole pixels) and ``polygon`` outlines."""
    det = det[np.arange(len(det))]  # a copy: the caller's rows stay where they were found
    if not len(det) or not np.any(shifts):
        return det
    h, w = shape
    det.xyxy = det.xyxy + np.tile(shifts, 2)
    np.clip(det.xyxy, 0, [w, h, w, h], out=det.xyxy)
    if det.keypoints is not None and det.keypoints.size:
        det.keypoints = det.keypoints.copy()
        det.keypoints[..., :2] += shifts[:, None, :]
    if det.mask is not None:
        det.mask = np.stack([_shift_mask(m, dx, dy) for m, (dx, dy) in zip(det.mask, shifts)])
    polygons = det.data.get("polygon")
    if polygons is not None:
        moved = np.empty(len(det), object)
        for i, poly in enumerate(polygons):
            moved[i] = (np.asarray(poly, np.float32) + shifts[i]).round(1).tolist() if poly is not None else None
        det.data = {**det.data, "polygon": moved}
    return det


def _shift_mask(mask: np.ndarray, dx: float, dy: float) -> np.ndarray:
    dx, dy = int(round(dx)), int(round(dy))
    out = np.zeros_like(mask)
    h, w = mask.shape
    if abs(dx) >= w or abs(dy) >= h:
        return out
    out[max(0, dy):h + min(0, dy), max(0, dx):w + min(0, dx)] = mask[max(0, -dy):h - max(0, dy), max(0, -dx):w - max(0, dx)]
    return out
