"""The ``track`` stage: stable ids with Ultralytics' ByteTrack or BoT-SORT, trails, class smoothing, MOT export.

It tracks the objects another stage found (``detect`` by default; faces or
motion blobs work too) and writes the ids into their ``track_id`` column.
When ``detect`` (or ``faces``) runs only every N-th frame, or async beside
the video, the frames in between carry its last results again (their
:class:`ResultOrigin` names an earlier frame); the tracker takes them as new
evidence on the first frame that carries them, then advances its Kalman
filters one step per frame and moves those boxes to the predicted positions,
so boxes keep moving and ids stay put. State is forgotten on ``reset()`` (new file, seek).
"""

from __future__ import annotations

from collections import Counter, deque
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from vision_desk.engine.annotate import color_for
from vision_desk.engine.frame import Frame, ResultOrigin
from vision_desk.engine.params import StageParams, param
from vision_desk.engine.results import Detections
from vision_desk.engine.stage import Stage
from vision_desk.stages.detection.tracker import BoxTracker


class TrackParams(StageParams):
    tracker: Literal["bytetrack", "botsort"] = param(
        "bytetrack", help="ByteTrack (fast, motion only) or BoT-SORT (adds camera-motion compensation).")
    source: str = param("detect", help="Track the objects of this stage (detect, faces, motion ...); empty: every object in the frame.")
    high_threshold: float = param(0.25, ge=0.0, le=1.0, step=0.05, help="Detections scored above this are matched first.")
    low_threshold: float = param(0.1, ge=0.0, le=1.0, step=0.05, help="Detections between this and the high threshold only extend existing tracks.")
    new_track_threshold: float = param(0.25, ge=0.0, le=1.0, step=0.05, help="An unmatched detection starts a new track only above this score.")
    match_threshold: float = param(0.8, ge=0.05, le=1.0, step=0.05, help="How loose a track-detection match may be (higher accepts less overlap).")
    lost_frames: int = param(30, ge=1, le=1000, help="Frames a lost track is kept, so an object that reappears keeps its id.")
    keep_untracked: bool = param(False, help="Keep detections that belong to no confirmed track (their track id is empty).")
    boxes: Literal["detector", "tracker"] = param(
        "detector", help="Report the detector's boxes (they match masks and keypoints) or the tracker's Kalman-filtered ones (smoother; what Ultralytics' own track() reports).")
    class_smoothing: int = param(15, ge=0, le=300, help="Label each track with its most frequent class over this many frames (0: off).")
    trail: int = param(30, ge=0, le=500, help="Draw each track's path over this many frames, fading (0: off).")
    mot_path: str = param("", widget="path", file_filter="MOT text (*.txt)",
                          help="Also write tracks in MOTChallenge text format to this file; '{source}' becomes the input's name (one file per video in batch).")


class TrackStage(Stage):
    id = "track"
    title = "Track objects"
    category = "Tracking"
    help = ("Gives the objects of a stage (detect by default) stable track ids with ByteTrack or BoT-SORT, "
            "draws fading trails, smooths each track's class, and can write MOTChallenge text.")
    Params = TrackParams
    values = {"track_count": "Tracks in view on this frame."}

    def __init__(self, params: StageParams | None = None) -> None:
        super().__init__(params)
        self._tracker: BoxTracker | None = None
        self._labels: dict[str, int] = {}  # label -> class id for sources without class ids
        self._history: dict[int, deque] = {}
        self._trails: dict[int, deque] = {}
        self._last_seen: dict[int, int] = {}  # track id -> the frame it was last live on, to forget old tracks
        self._frames = 0
        self._mot = None
        self._mot_source: str | None = None
        self._origin: ResultOrigin | None = None  # of the source's results the tracker was last updated with

    def setup(self) -> None:
        self._tracker = BoxTracker(self.params)

    def reset(self) -> None:
        if self._tracker is not None:
            self._tracker.reset()
        self._origin = None
        self._history.clear()
        self._trails.clear()
        self._last_seen.clear()
        self._frames = 0
        self._close_mot()

    def update_params(self, params: StageParams) -> None:
        old = self.params
        super().update_params(params)
        keys = ("tracker", "source", "high_threshold", "low_threshold", "new_track_threshold", "match_threshold", "lost_frames")
        if any(getattr(old, k) != getattr(params, k) for k in keys):
            self.reset()
            self._tracker = BoxTracker(params) if self._tracker is not None else None
        if old.mot_path != params.mot_path:
            self._close_mot()

    def close(self) -> None:
        self._close_mot()

    # -- tracking ------------------------------------------------------------
    def _class_ids(self, det: Detections, rows: np.ndarray) -> np.ndarray:
        ids = det.class_id[rows].astype(np.float32)
        for k, i in enumerate(rows):
            if det.class_id[i] < 0:
                ids[k] = 1000 + self._labels.setdefault(str(det.label[i]), len(self._labels))
        return ids

    def process(self, frame: Frame) -> None:
        det = frame.detections
        rows = det.rows(self.params.source)
        # Results carried from an earlier frame (detect, faces or ocr with every > 1, or running async) are new
        # evidence once, on the first frame that gets them; after that the tracker predicts them along.
        # A source that marks no origin is read anew on each frame.
        origin = frame.origin(self.params.source) if self.params.source else None
        fresh = origin is None or origin != self._origin
        self._origin = origin
        assert self._tracker is not None, "setup() makes the tracker"
        if fresh or not self._tracker.matched:
            ids, kalman = self._tracker.update(det.xyxy[rows], det.score[rows], self._class_ids(det, rows), frame.image)
            boxes = kalman if self.params.boxes == "tracker" else det.xyxy[rows].copy()
        else:
            ids, boxes = self._tracker.coast(det.xyxy[rows])  # carried rows move to the predicted positions
        h, w = frame.shape[:2]
        np.clip(boxes, 0, [w, h, w, h], out=boxes)  # a Kalman box may reach past the frame's edge; Ultralytics clips it too
        self._write(frame, rows, ids, boxes)

    def _write(self, frame: Frame, rows: np.ndarray, ids: np.ndarray, boxes: np.ndarray) -> None:
        det = frame.detections
        track_id = det.track_id.copy()
        xyxy = det.xyxy.copy()
        label = det.label.copy()
        class_id = det.class_id.copy()
        track_id[rows] = ids
        xyxy[rows] = boxes
        for k, i in enumerate(rows):
            tid = int(ids[k])
            if tid < 0:
                continue
            if self.params.class_smoothing:
                hist = self._history.setdefault(tid, deque(maxlen=self.params.class_smoothing))
                hist.append((str(det.label[i]), int(det.class_id[i])))
                (best, best_id), _ = Counter(hist).most_common(1)[0]
                label[i], class_id[i] = best, best_id
            if self.params.trail:
                x1, y1, x2, y2 = boxes[k]
                trail = self._trails.setdefault(tid, deque(maxlen=self.params.trail))
                trail.append((int(round((x1 + x2) / 2)), int(round((y1 + y2) / 2))))
        keep = np.ones(len(det), bool)
        if not self.params.keep_untracked:
            keep[rows[ids < 0]] = False
        frame.detections = Detections(
            xyxy=xyxy, score=det.score, label=label, class_id=class_id, track_id=track_id, mask=det.mask,
            keypoints=det.keypoints, data=det.data, source=det.source,
        )[keep]
        live = {int(t) for t in ids if t >= 0}
        self._forget_old_tracks(live)
        frame.extras[self.id] = {"trails": {t: list(self._trails[t]) for t in live if t in self._trails}}
        frame.values["track_count"] = len(live)
        if self.params.mot_path:
            self._mot_write(frame)

    def _forget_old_tracks(self, live: set[int]) -> None:
        """Drops the class history and trail of tracks lost for longer than the tracker keeps them.

        Without this, a camera watched for days keeps a little of every track it ever saw.
        """
        self._frames += 1
        for t in live:
            self._last_seen[t] = self._frames
        if self._frames % 64 == 0:
            for t in [t for t, seen in self._last_seen.items() if self._frames - seen > self.params.lost_frames]:
                del self._last_seen[t]
                self._history.pop(t, None)
                self._trails.pop(t, None)

    # -- MOTChallenge export -------------------------------------------------
    def _mot_write(self, frame: Frame) -> None:
        from vision_desk.engine.sinks.mot import MotSink

        if self._mot is None or self._mot_source != frame.source_id:
            self._close_mot()
            name = Path(frame.source_id.split("?")[0]).stem or "source"
            # written under a temporary name and renamed when the file is done (next source, reset or close),
            # so a crash or a killed batch worker never leaves a MOT file that looks complete
            self._mot = MotSink(self.params.mot_path.replace("{source}", name), atomic=True)
            self._mot_source = frame.source_id
        self._mot.write(frame)

    def _close_mot(self) -> None:
        if self._mot is not None:
            self._mot.close()
            self._mot = None
            self._mot_source = None

    # -- overlay -------------------------------------------------------------
    def draw(self, canvas: np.ndarray, frame: Frame) -> None:
        trails = (frame.extras.get(self.id) or {}).get("trails") or {}
        base = max(1, round(min(canvas.shape[:2]) / 360))
        for tid, points in trails.items():
            if len(points) < 2:
                continue
            color = color_for(tid)
            n = len(points)
            for j in range(1, n):
                fade = j / n  # older segments are thinner and darker
                c = tuple(int(v * (0.35 + 0.65 * fade)) for v in color)
                cv2.line(canvas, points[j - 1], points[j], c, max(1, int(round(base * 2 * fade))), cv2.LINE_AA)
