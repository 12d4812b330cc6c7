"""The ``count`` stage: line crossings (in/out per class) and a polygon zone (occupancy, entries per class).

Zones use Roboflow supervision's ``PolygonZone`` (anchor points tested
against the polygon's mask). Lines follow supervision's ``LineZone`` rules
(all anchors across, within the segment's extent, a minimum number of frames
on the new side) in :class:`LineCounter`, which also remembers each track's
side for the whole video: ``LineZone`` forgets a track after two frames
without it, so an object the detector misses while it is on the line was
never counted. On top: counts per class name, each track at most once per
direction (unless ``recount``), each track's entry into the zone once.

Direction: facing from the line's start to its end, an object crossing from
the right-hand side to the left-hand side counts as *in* (supervision's rule).
On screen: a line drawn left-to-right counts objects moving up as in; a line
drawn top-to-bottom counts objects moving right as in. Draw the line the
other way round to swap in and out.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal

import cv2
import numpy as np
from pydantic import field_validator

from vision_desk.engine.annotate import draw_label
from vision_desk.engine.frame import Frame
from vision_desk.engine.params import StageParams, param
from vision_desk.engine.results import Detections
from vision_desk.engine.stage import Stage

class CountParams(StageParams):
    name: str = param("count", help="Prefix of the values this stage writes (count_in, count_zone ...); give each count stage its own.")
    line: tuple[int, int, int, int] = param((0, 0, 0, 0), widget="line",
                                            help="Counting line (x1, y1, x2, y2) in frame pixels; (0, 0, 0, 0): none. Facing from start to end, crossing right-to-left is 'in'.")
    zone: list[tuple[int, int]] = param([], widget="points", help="Zone polygon [(x, y), ...] in frame pixels (3 points or more); empty: none.")
    classes: list[str] = param([], help="Count only these class names (empty: all).")
    source: str = param("", help="Count only the objects of this stage (empty: all objects).")
    line_anchor: Literal["box", "center", "bottom_center"] = param("box", help="What must cross the line: the whole box (all four corners), its centre or its bottom centre.")
    zone_anchor: Literal["bottom_center", "center"] = param("bottom_center", help="The point of each box tested against the zone (bottom centre: where people and cars touch the ground).")
    min_frames: int = param(1, ge=1, le=60, help="Frames an object must stay on the new side before its crossing counts (filters jitter).")
    recount: bool = param(False, help="Count a track every time it crosses (default: at most once per direction).")

    @field_validator("line")
    @classmethod
    def _line(cls, v: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        if any(v) and (v[0], v[1]) == (v[2], v[3]):
            raise ValueError("its two end points are the same; give two different points, or (0, 0, 0, 0) for no line")
        return v

    @field_validator("zone")
    @classmethod
    def _zone(cls, v: list[tuple[int, int]]) -> list[tuple[int, int]]:
        if v and len(v) < 3:
            raise ValueError("a zone polygon needs at least 3 points")
        return v


def _positions(names: tuple[str, ...]) -> list[Any]:
    import supervision as sv

    return [getattr(sv.Position, n) for n in names]


def to_supervision(det: Detections) -> Any:
    """Our detections as supervision's (boxes, class ids and tracker ids; -1 where untracked)."""
    import supervision as sv

    return sv.Detections(xyxy=det.xyxy.astype(np.float32).reshape(-1, 4), class_id=det.class_id.astype(int),
                         tracker_id=det.track_id.astype(int), confidence=det.score.astype(np.float32))


def _anchor_points(xyxy: np.ndarray, anchor: str) -> np.ndarray:
    """(N, K, 2) anchor points of boxes: four corners, the centre or the bottom centre."""
    x1, y1, x2, y2 = (xyxy[:, i] for i in range(4))
    if anchor == "box":
        return np.stack([np.stack([x1, y1], 1), np.stack([x2, y1], 1), np.stack([x1, y2], 1), np.stack([x2, y2], 1)], 1)
    cy = (y1 + y2) / 2 if anchor == "center" else y2
    return np.stack([(x1 + x2) / 2, cy], 1)[:, None, :]


class LineCounter:
    """Crossings of one line per class name and direction, each track counted once per direction.

    The side test follows supervision's ``LineZone`` (all anchors strictly on
    one side, the box centre within the segment's extent, ``min_frames``
    consecutive observations on the new side), but a track's confirmed side is
    kept for as long as the video lasts: supervision forgets a track after two
    frames without it, so an object the detector misses while it is on the
    line would never be counted. Frames where the box straddles the line
    neither confirm nor cancel a crossing.
    """

    def __init__(self, line: tuple[int, int, int, int], anchor: str = "box", min_frames: int = 1, recount: bool = False) -> None:
        x1, y1, x2, y2 = line
        self.line = line
        self.start = np.array([x1, y1], float)
        self.vector = np.array([x2 - x1, y2 - y1], float)
        self.anchor = anchor
        self.min_frames = min_frames
        self.recount = recount
        self.counts: dict[str, Counter] = {"in": Counter(), "out": Counter()}
        self._side: dict[int, bool] = {}  # confirmed side per track: True = the 'in' side
        self._run: dict[int, tuple[bool, int]] = {}  # a candidate new side and for how many observations
        self._counted: set[tuple[int, str]] = set()

    def sides(self, xyxy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per box: on the 'in' side (all anchors), on the 'out' side (all anchors); both False while straddling or beside the segment."""
        pts = _anchor_points(np.asarray(xyxy, float).reshape(-1, 4), self.anchor) - self.start
        cross = self.vector[0] * pts[..., 1] - self.vector[1] * pts[..., 0]  # < 0: left-hand side facing start -> end
        centre = pts.mean(1)
        along = centre @ self.vector / max(1e-9, float(self.vector @ self.vector))
        within = (along >= 0) & (along <= 1)
        return within & (cross < 0).all(1), within & (cross > 0).all(1)

    def update(self, det: Detections) -> list[tuple[int, str, str]]:
        """Feeds one frame's tracked objects; returns the crossings counted now as (track id, label, direction)."""
        events: list[tuple[int, str, str]] = []
        if det.empty:
            return events
        inside, outside = self.sides(det.xyxy)
        for i in range(len(det)):
            tid = int(det.track_id[i])
            if tid < 0 or not (inside[i] or outside[i]):
                continue
            side = bool(inside[i])
            confirmed = self._side.setdefault(tid, side)
            if side == confirmed:
                self._run.pop(tid, None)
                continue
            seen = self._run[tid][1] + 1 if tid in self._run and self._run[tid][0] == side else 1
            if seen < self.min_frames:
                self._run[tid] = (side, seen)
                continue
            self._run.pop(tid, None)
            self._side[tid] = side
            direction, label = ("in" if side else "out"), str(det.label[i])
            if not self.recount and (tid, direction) in self._counted:
                continue
            self._counted.add((tid, direction))
            self.counts[direction][label] += 1
            events.append((tid, label, direction))
        return events


class ZoneCounter:
    """Who is inside a polygon now (per class), and how many distinct tracks ever entered (per class)."""

    def __init__(self, polygon: list[tuple[int, int]], anchor: str = "bottom_center") -> None:
        import supervision as sv

        self.polygon = np.asarray(polygon, np.int64).reshape(-1, 2)
        self.zone = sv.PolygonZone(self.polygon, triggering_anchors=_positions((anchor.upper(),)))
        self.entries: Counter = Counter()
        self._entered: set[int] = set()

    def update(self, det: Detections) -> tuple[Counter, np.ndarray]:
        """Occupancy per class this frame, and the inside mask; counts first entries of tracks."""
        inside = self.zone.trigger(to_supervision(det)) if not det.empty else np.zeros(0, bool)
        occupancy: Counter = Counter(str(det.label[i]) for i in np.flatnonzero(inside))
        for i in np.flatnonzero(inside):
            tid = int(det.track_id[i])
            if tid >= 0 and tid not in self._entered:
                self._entered.add(tid)
                self.entries[str(det.label[i])] += 1
        return occupancy, inside


class CountStage(Stage):
    id = "count"
    title = "Count (line and zone)"
    category = "Tracking"
    help = ("Counts tracked objects crossing a line (in and out, per class) and objects in a polygon zone "
            "(occupancy now and entries so far, per class). Put it after 'track'.")
    Params = CountParams
    values = {
        "<name>_in": "Line: crossings in so far.", "<name>_out": "Line: crossings out so far.",
        "<name>_in_<class>": "Line: crossings in so far, per class.", "<name>_out_<class>": "Line: crossings out so far, per class.",
        "<name>_zone": "Zone: objects inside now.", "<name>_zone_<class>": "Zone: objects inside now, per class.",
        "<name>_entries": "Zone: tracks that entered so far.", "<name>_entries_<class>": "Zone: tracks that entered so far, per class.",
    }

    def __init__(self, params: StageParams | None = None) -> None:
        super().__init__(params)
        self._line: LineCounter | None = None
        self._zone: ZoneCounter | None = None
        self._warned = False

    def setup(self) -> None:
        self.reset()

    def reset(self) -> None:
        p = self.params
        self._line = LineCounter(p.line, p.line_anchor, p.min_frames, p.recount) if any(p.line) else None
        self._zone = ZoneCounter(p.zone, p.zone_anchor) if p.zone else None
        self._warned = False

    def update_params(self, params: StageParams) -> None:
        super().update_params(params)
        self.reset()

    def _selected(self, det: Detections) -> Detections:
        keep = np.ones(len(det), bool)
        if self.params.source:
            keep &= det.source == self.params.source
        if self.params.classes:
            wanted = {c.lower() for c in self.params.classes}
            keep &= np.array([str(v).lower() in wanted for v in det.label], bool)
        return det[keep]

    def process(self, frame: Frame) -> None:
        if self._line is None and self._zone is None and (any(self.params.line) or self.params.zone):
            self.reset()
        det = self._selected(frame.detections)
        name = self.params.name
        extras: dict[str, Any] = {}
        if self._line is not None:
            tracked = det[det.track_id >= 0]
            if len(det) and not len(tracked) and not self._warned:
                frame.events.append(f"{name}: line crossings need track ids; put a 'track' stage before 'count'.")
                self._warned = True
            for tid, label, direction in self._line.update(tracked):
                frame.events.append(f"{name}: #{tid} {label} {direction}")
            counts = self._line.counts
            frame.values[f"{name}_in"] = sum(counts["in"].values())
            frame.values[f"{name}_out"] = sum(counts["out"].values())
            for direction in ("in", "out"):
                for label, n in sorted(counts[direction].items()):
                    frame.values[f"{name}_{direction}_{label}"] = n
            extras["line"] = (self.params.line, frame.values[f"{name}_in"], frame.values[f"{name}_out"])
        if self._zone is not None:
            occupancy, _ = self._zone.update(det)
            frame.values[f"{name}_zone"] = sum(occupancy.values())
            for label in sorted(set(occupancy) | set(self._zone.entries)):
                frame.values[f"{name}_zone_{label}"] = occupancy.get(label, 0)
            frame.values[f"{name}_entries"] = sum(self._zone.entries.values())
            for label, n in sorted(self._zone.entries.items()):
                frame.values[f"{name}_entries_{label}"] = n
            extras["zone"] = (self._zone.polygon, frame.values[f"{name}_zone"], frame.values[f"{name}_entries"])
        frame.extras[f"{self.id}:{name}"] = extras

    def draw(self, canvas: np.ndarray, frame: Frame) -> None:
        extras = frame.extras.get(f"{self.id}:{self.params.name}") or {}
        thickness = max(2, round(min(canvas.shape[:2]) / 300))
        if "zone" in extras:
            polygon, now, entries = extras["zone"]
            pts = polygon.reshape(-1, 1, 2).astype(np.int32)
            overlay = canvas.copy()
            cv2.fillPoly(overlay, [pts], (200, 160, 0))
            cv2.addWeighted(overlay, 0.2, canvas, 0.8, 0, dst=canvas)
            cv2.polylines(canvas, [pts], True, (255, 200, 0), thickness, cv2.LINE_AA)
            x, y = polygon.min(0)
            draw_label(canvas, f"{self.params.name}: {now} inside, {entries} entered", int(x), int(y), (255, 200, 0), 0.6)
        if "line" in extras:
            (x1, y1, x2, y2), n_in, n_out = extras["line"]
            cv2.line(canvas, (x1, y1), (x2, y2), (255, 255, 255), thickness + 2, cv2.LINE_AA)
            cv2.line(canvas, (x1, y1), (x2, y2), (0, 0, 255), thickness, cv2.LINE_AA)
            # An arrow from the middle towards the 'in' side (the left-hand side facing start -> end).
            mx, my = (x1 + x2) / 2, (y1 + y2) / 2
            dx, dy = x2 - x1, y2 - y1
            norm = max(1e-6, float(np.hypot(dx, dy)))
            nx, ny = dy / norm, -dx / norm
            tip = (int(mx + nx * 30), int(my + ny * 30))
            cv2.arrowedLine(canvas, (int(mx), int(my)), tip, (0, 0, 255), thickness, cv2.LINE_AA, tipLength=0.3)
            draw_label(canvas, f"in {n_in}  out {n_out}", int(mx) + 6, int(my) - 6, (0, 0, 255), 0.6)
