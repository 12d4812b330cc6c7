"""One tracker path: Ultralytics' ByteTrack or BoT-SORT over a stream of boxes, a track id per box.

The ``track`` stage and the ``faces`` stage both track through :class:`BoxTracker`,
so a face keeps its id by the same rules as any tracked object. Ultralytics is
imported when a tracker is made, never when stages are discovered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from vision_desk.stages.detection.track import TrackParams


def tracker_args(p: TrackParams, kind: str | None = None) -> Any:
    """The namespace Ultralytics' trackers read (its YAML defaults with our parameters on top)."""
    from ultralytics.utils import IterableSimpleNamespace

    args = {
        "tracker_type": kind or p.tracker, "track_high_thresh": p.high_threshold, "track_low_thresh": p.low_threshold,
        "new_track_thresh": p.new_track_threshold, "track_buffer": p.lost_frames, "match_thresh": p.match_threshold,
        "fuse_score": True, "gmc_method": "sparseOptFlow", "proximity_thresh": 0.5, "appearance_thresh": 0.8,
        "with_reid": False, "model": "auto", "device": "cpu",
    }
    return IterableSimpleNamespace(**args)


def make_tracker(p: TrackParams) -> Any:
    """Ultralytics' own BYTETracker or BOTSORT, configured from the ``track`` stage's parameters."""
    from vision_desk.stages.detection.model_cache import configure_ultralytics

    configure_ultralytics()
    import ultralytics.engine.results  # noqa: F401 - the Boxes the trackers take; imported here, off the first frame
    from ultralytics.trackers.bot_sort import BOTSORT
    from ultralytics.trackers.byte_tracker import BYTETracker

    return (BOTSORT if p.tracker == "botsort" else BYTETracker)(tracker_args(p))


class BoxTracker:
    """Ultralytics' tracker for one stream: a frame's boxes in, a track id per box out.

    A new track is confirmed when a detection matches it on a later frame (on
    the tracker's very first frame, at once): Ultralytics' activation rule, so a
    box seen in one frame only never gets an id. Rows that belong to no
    confirmed track get id -1; what to do with them is the caller's choice.
    Ids start at 1 and restart on :meth:`reset`.

    Args:
        params: the ``track`` stage's parameters (tracker kind and thresholds).
    """

    def __init__(self, params: TrackParams) -> None:
        self._tracker = make_tracker(params)
        self._matched: dict[int, Any] = {}  # input row of the last update -> its confirmed track

    def reset(self) -> None:
        """Forgets every track; ids start at 1 again (new file, seek)."""
        self._tracker.reset()
        self._matched.clear()

    @property
    def matched(self) -> bool:
        """Whether the last update put any row on a confirmed track (rows that :meth:`coast` can carry)."""
        return bool(self._matched)

    def update(self, xyxy: np.ndarray, score: np.ndarray, class_id: np.ndarray, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Tracks one frame's detections.

        Args:
            xyxy: (N, 4) boxes.
            score: (N,) confidences; Ultralytics' thresholds apply to them.
            class_id: (N,) numeric classes; the tracker reports them and never matches by them.
            image: the frame (BoT-SORT's camera-motion compensation reads it).

        Returns:
            (ids, boxes): an int64 track id per row (-1: no confirmed track) and
            each row's Kalman-filtered box (the row's own box where the id is -1).
        """
        from ultralytics.engine.results import Boxes

        xyxy = np.asarray(xyxy, np.float32).reshape(-1, 4)
        data = np.column_stack([xyxy, np.reshape(score, -1), np.reshape(class_id, -1)]).astype(np.float32)
        rows = np.asarray(self._tracker.update(Boxes(data.reshape(-1, 6), image.shape[:2]), image), np.float32).reshape(-1, 8)
        by_id = {t.track_id: t for t in self._tracker.tracked_stracks}
        self._matched = {int(r[7]): by_id[int(r[4])] for r in rows}  # (x1, y1, x2, y2, id, score, class, row)
        return self._carry(xyxy)

    def coast(self, xyxy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A frame without new detections: every track's Kalman filter advances one step.

        Keeping the tracker's clock in frames keeps ``lost_frames`` in frames and
        lets the next update find an object where it has moved to meanwhile.

        Args:
            xyxy: the boxes carried from the last update, in its row order.

        Returns:
            (ids, boxes) as :meth:`update` gives them, the boxes at their predicted positions.
        """
        t = self._tracker
        t.frame_id += 1
        pool = list({id(s): s for s in [*t.tracked_stracks, *t.lost_stracks]}.values())
        t.multi_predict(pool)
        return self._carry(np.asarray(xyxy, np.float32).reshape(-1, 4))

    def _carry(self, xyxy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ids = np.full(len(xyxy), -1, np.int64)
        boxes = xyxy.copy()
        for row, track in self._matched.items():
            if row < len(xyxy) and track.is_activated:
                ids[row] = track.track_id
                boxes[row] = track.xyxy
        return ids, boxes
