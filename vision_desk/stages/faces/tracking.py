"""Stable identities: which track a face belongs to, and a vote over its recent recognitions.

A face takes the track id of the tracked person box that contains it (the
``track`` stage sets ``track_id`` on person boxes); where no tracked boxes
exist, the faces stage tracks the faces themselves with the ``track`` stage's
ByteTrack (``vision_desk.stages.detection.tracker.BoxTracker``). Each track
keeps its last few recognitions and shows the name most of them agree on, so
one blurred frame does not flip a label.
"""

from __future__ import annotations

from collections import Counter, deque

import numpy as np

from vision_desk.engine.results import Detections


def person_tracks(detections: Detections, exclude_source: str) -> Detections:
    """The tracked person boxes another stage put in the frame (e.g. the ``track`` stage)."""
    if detections.empty:
        return detections
    keep = (detections.track_id >= 0) & (detections.label == "person") & (detections.source != exclude_source)
    return detections[keep]


def tracks_containing(faces: np.ndarray, people: Detections) -> np.ndarray:
    """For each face box, the track id of the smallest person box holding its centre (-1 for none).

    Faces are matched largest first and each person track takes one face, so
    a second face inside the same person box stays untracked.
    """
    faces = np.asarray(faces, np.float32).reshape(-1, 4)
    ids = np.full(len(faces), -1, np.int64)
    if people.empty or not len(faces):
        return ids
    boxes = people.xyxy
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    used: set[int] = set()
    for i in np.argsort(-(faces[:, 2] - faces[:, 0]) * (faces[:, 3] - faces[:, 1]), kind="stable"):
        cx, cy = (faces[i, 0] + faces[i, 2]) / 2, (faces[i, 1] + faces[i, 3]) / 2
        inside = (boxes[:, 0] <= cx) & (cx <= boxes[:, 2]) & (boxes[:, 1] <= cy) & (cy <= boxes[:, 3])
        for j in np.argsort(areas):
            tid = int(people.track_id[j])
            if inside[j] and tid not in used:
                ids[i] = tid
                used.add(tid)
                break
    return ids


class IdentityVoter:
    """Per-track majority vote over the last ``window`` recognitions.

    The winner is the name with the most votes (``unknown`` votes too); ties go
    to the higher mean similarity. Its similarity is the mean over its votes.
    Tracks not voted on for ``max_age`` rounds are forgotten.
    """

    def __init__(self, window: int = 15, max_age: int = 30) -> None:
        self.window = window
        self.max_age = max_age
        self._votes: dict[object, deque[tuple[str, float]]] = {}
        self._seen: dict[object, int] = {}
        self._round = 0

    def reset(self) -> None:
        self._votes.clear()
        self._seen.clear()
        self._round = 0

    def next_round(self) -> None:
        """Marks the start of a detection round and forgets tracks gone for too long."""
        self._round += 1
        for key, seen in list(self._seen.items()):
            if self._round - seen > self.max_age:
                del self._votes[key], self._seen[key]

    def vote(self, key: object, name: str, similarity: float) -> tuple[str, float]:
        """Adds one recognition for a track and returns the track's current (name, similarity)."""
        votes = self._votes.setdefault(key, deque(maxlen=self.window))
        votes.append((name, float(similarity)))
        self._seen[key] = self._round
        counts = Counter(n for n, _ in votes)
        mean = {n: float(np.mean([s for m, s in votes if m == n])) for n in counts}
        winner = max(counts, key=lambda n: (counts[n], mean[n]))
        return winner, mean[winner]
