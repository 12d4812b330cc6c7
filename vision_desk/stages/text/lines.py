"""Joins EasyOCR's tilted word boxes into whole tilted lines before recognition.

EasyOCR merges words into lines only for level text; a line tilted by more
than about 6 degrees comes back word by word (short words like "7" even as
level boxes), each cropped on its own, which loses the spaces and lets label
edges creep in as stray punctuation. Here boxes that sit on one line with
word-sized gaps are joined whenever a tilted box is among them, and the line's
oriented rectangle is handed to the recogniser, which straightens it (a
perspective crop) and reads it in one piece. Lines of level boxes are left
exactly as EasyOCR made them.
"""

from __future__ import annotations

import numpy as np

MAX_ANGLE_DIFF_DEG = 6.0  # between two long boxes
MAX_HEIGHT_RATIO = 1.6
MAX_OFFSET = 0.5  # perpendicular distance between box centres, in text heights
MAX_GAP = 1.2  # gap between neighbouring words along the line, in text heights


def _frame(quad: np.ndarray) -> tuple[np.ndarray, float, float]:
    """(unit direction along the text, length, height) of a TL, TR, BR, BL quad."""
    tl, tr, br, bl = quad
    along = (tr - tl) + (br - bl)
    length = float(np.linalg.norm(along)) / 2
    along = along / max(2 * length, 1e-6)
    if along[0] < 0:
        along = -along
    height = float(np.linalg.norm(bl - tl) + np.linalg.norm(br - tr)) / 2
    return along, length, height


def _joinable(a: np.ndarray, b: np.ndarray, a_level: bool, b_level: bool) -> bool:
    """Whether two boxes hold neighbouring words of one line (at least one of them tilted)."""
    ua, la, ha = _frame(a)
    ub, lb, hb = _frame(b)
    if a_level != b_level:
        return _joinable_mixed(a if a_level else b, b if a_level else a)
    if min(la / max(ha, 1e-6), lb / max(hb, 1e-6)) > 2.0:  # a short word's direction means little
        angle = np.degrees(np.arccos(np.clip(abs(float(ua @ ub)), 0.0, 1.0)))
        if angle > MAX_ANGLE_DIFF_DEG:
            return False
    if max(ha, hb) > MAX_HEIGHT_RATIO * max(min(ha, hb), 1e-6):
        return False
    along, h = (ua if la >= lb else ub), min(ha, hb)  # the longer box says where the line runs
    normal = np.array([-along[1], along[0]])
    if abs(float(normal @ (b.mean(axis=0) - a.mean(axis=0)))) > MAX_OFFSET * h:
        return False
    pa, pb = a @ along, b @ along
    gap = max(pb.min() - pa.max(), pa.min() - pb.max(), 0.0)
    return gap <= MAX_GAP * h


def _joinable_mixed(level: np.ndarray, tilted: np.ndarray) -> bool:
    """A level box and a tilted one: joined when the tilted box's facing end lies within the level box's height.

    A level box around a slanted word has no direction of its own, and a short
    tilted word's direction is too rough to extrapolate, so no angle is used:
    only where the two boxes meet.
    """
    _, _, h = _frame(tilted)
    (x1, y1), (x2, y2) = level.min(axis=0), level.max(axis=0)
    if h > MAX_HEIGHT_RATIO * max(y2 - y1, 1e-6):
        return False
    tl, tr, br, bl = tilted
    on_right = tilted[:, 0].mean() > (x1 + x2) / 2
    facing = (tl + bl) / 2 if on_right else (tr + br) / 2
    if not y1 - 0.25 * h <= facing[1] <= y2 + 0.25 * h:
        return False
    gap = max(tilted[:, 0].min() - x2, x1 - tilted[:, 0].max(), 0.0)
    return gap <= MAX_GAP * h


def oriented_box(quads: list[np.ndarray]) -> np.ndarray:
    """The rectangle (TL, TR, BR, BL) along the quads' length-weighted direction that holds all their corners."""
    frames = [_frame(q) for q in quads]
    along = np.sum([u * length for u, length, _ in frames], axis=0)
    along /= np.linalg.norm(along)
    normal = np.array([-along[1], along[0]])
    pts = np.concatenate(quads)
    a, n = pts @ along, pts @ normal
    corners = [(a.min(), n.min()), (a.max(), n.min()), (a.max(), n.max()), (a.min(), n.max())]
    return np.array([u * along + v * normal for u, v in corners], np.float32)


def join_tilted_words(horizontal: list, free: list) -> tuple[list, list]:
    """EasyOCR's detections (level boxes ``[x1, x2, y1, y2]``, free 4-point boxes) with tilted lines joined.

    Returns:
        (level boxes left alone, free boxes: one per tilted line).
    """
    level = [np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], np.float64) for x1, x2, y1, y2 in (b[:4] for b in horizontal)]
    tilted = [np.asarray(b, np.float64).reshape(4, 2) for b in free]
    quads = level + tilted
    parent = list(range(len(quads)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(quads)):
        for j in range(i + 1, len(quads)):
            if (i >= len(level) or j >= len(level)) and _joinable(quads[i], quads[j], i < len(level), j < len(level)):
                parent[root(i)] = root(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(quads)):
        groups.setdefault(root(i), []).append(i)
    keep_level, lines = [], []
    for members in groups.values():
        if all(i < len(level) for i in members):
            keep_level += [horizontal[i] for i in members]
        elif len(members) == 1:
            lines.append(free[members[0] - len(level)])
        else:
            lines.append(oriented_box([quads[i] for i in members]).tolist())
    return keep_level, lines
