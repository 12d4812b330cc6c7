"""Stable identities: which track a face belongs to, and a vote over its recent recognitions.

A face takes the track id of the tracked person box that contains it (the
``track`` stage sets ``track_id`` on person boxes); where no tracked boxes
exist, the faces stage tracks the faces themselves with the ``track`` stage's
ByteTrack (``vision_desk.stages.detection.tracker.BoxTracker``). Each track
keeps its last few recognitions and shows the name most of them agree on
(:class:`vision_desk.stages.voting.TrackVoter`), so one blurred frame does not
flip a label.
"""

from __future__ import annotations

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
