"""Reading inside the objects of another stage (licence plates, labels, parcels): one crop per object, a vote per track.

The ``ocr`` and ``codes`` stages read the whole frame (or a ``roi``) by
default; given a ``source`` they read inside each box that stage found
instead, and write what they read onto that object as a per-object column
(``text``, ``payload``), so the box's caption and the JSONL export carry it.
Where a ``track`` stage gave the boxes ids, a track's reading is the majority
over its last reads (:class:`~vision_desk.stages.voting.TrackVoter`, the faces
stage's identity vote), so one misread does not flip a plate, and a track is
read only every ``every`` frames, its voted reading carried in between.
Objects without a track id are read on every frame, as they come.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

import numpy as np

from vision_desk.engine.results import Detections
from vision_desk.stages.voting import TrackVoter
from vision_desk.teach.capture import object_crop

Reading = TypeVar("Reading", bound=Hashable)

SOURCE_HELP = ("Read inside each object of this stage (detect, contours, motion ...) and write the result onto the "
               "object; put track first for steady per-track results. Empty: the whole frame, or the roi.")
OF_CLASS_HELP = "With source: only objects with this label (e.g. plate); empty: every object of the source."
MARGIN_HELP = "With source: the crop reaches this fraction of the box's size beyond each side (a tight box clips letters)."

#: A track not read for this many frames (and at least twice ``every``) is forgotten.
FORGET_AFTER = 90


def check_source(stage_id: str, source: str, roi: tuple[int, int, int, int], run: str) -> None:
    """Refuses settings that contradict reading inside another stage's objects (raised as one sentence per stage).

    Raises:
        ValueError: the stage names itself, a roi is set as well, or it is asked to run async.
    """
    if not source:
        return
    if source == stage_id:
        raise ValueError(f"source '{source}' is this stage itself; name the stage whose objects to read, e.g. detect")
    if any(roi[2:]):
        raise ValueError(f"set either roi (one fixed region) or source (the objects of '{source}'), not both")
    if run == "async":
        raise ValueError(f"reading the objects of '{source}' writes onto them in frame order, so it cannot run "
                         "async; set run to auto or sync")


def set_column(det: Detections, name: str, values: dict[int, Any]) -> None:
    """Writes ``values`` (row -> value) into the per-object column ``name``, keeping other rows' values (None if new)."""
    column = det.data.get(name)
    column = np.full(len(det), None, object) if column is None else column.copy()
    for row, value in values.items():
        column[row] = value
    det.data[name] = column


class ObjectReader(Generic[Reading]):
    """Reads each selected object of a frame in its own padded crop, voting per track.

    Args:
        window: how many recent reads of a track vote on its reading.
        every: read a tracked object every N-th frame; in between its voted reading is carried.
    """

    def __init__(self, window: int = 9, every: int = 1) -> None:
        self.every = every
        self._voter: TrackVoter[Reading] = TrackVoter(window, max_age=max(FORGET_AFTER, 2 * every))
        self._last_read: dict[int, int] = {}  # track id -> the frame it was last read on (a failed read counts)
        self._frame = 0

    def reset(self) -> None:
        self._voter.reset()
        self._last_read.clear()
        self._frame = 0

    def read(self, image: np.ndarray, det: Detections, rows: np.ndarray, margin: float,
             read_crop: Callable[[np.ndarray], tuple[Reading, float] | None]) -> dict[int, tuple[Reading, float]]:
        """The (reading, score) of each of ``det``'s ``rows`` that has one: voted for tracked objects.

        Args:
            image: the frame's BGR image.
            det: the frame's objects.
            rows: the indices of the objects to read (``Detections.rows``).
            margin: fraction of a box's size the crop reaches beyond each side.
            read_crop: reads one crop (never empty); None when it finds nothing (a failed read does not vote).
        """
        self._frame += 1
        self._voter.next_round()
        out: dict[int, tuple[Reading, float]] = {}
        for i in (int(r) for r in rows):
            track = int(det.track_id[i])
            got = None
            if track < 0 or self._frame - self._last_read.get(track, -self.every) >= self.every:
                crop = object_crop(image, det.xyxy[i], margin)
                got = read_crop(crop) if crop.size else None  # a box wholly outside the frame has no pixels
                if track >= 0:
                    self._last_read[track] = self._frame
                    if got is not None:
                        got = self._voter.vote(track, *got)
            if got is None and track >= 0:
                got = self._voter.current(track)  # not due, or nothing read this time: the vote so far
            if got is not None:
                out[i] = got
        horizon = self._voter.max_age
        for track in [t for t, seen in self._last_read.items() if self._frame - seen > horizon]:
            del self._last_read[track]
        return out
