"""MOTChallenge text export: one line per tracked object per frame.

The MOT16/17 layout, readable by TrackEval and py-motmetrics::

    frame, id, bb_left, bb_top, bb_width, bb_height, conf, -1, -1, -1

Frames are numbered from 1; only objects with a track id are written.
"""

from __future__ import annotations

import os
from pathlib import Path

from vision_desk.engine.frame import Frame
from vision_desk.engine.sinks import Sink


def mot_lines(frame: Frame) -> list[str]:
    """The MOTChallenge rows of a frame's tracked objects."""
    det = frame.detections
    rows = []
    for i in range(len(det)):
        tid = int(det.track_id[i])
        if tid < 0:
            continue
        x1, y1, x2, y2 = (float(v) for v in det.xyxy[i])
        rows.append(f"{frame.index + 1},{tid},{x1:.2f},{y1:.2f},{x2 - x1:.2f},{y2 - y1:.2f},{float(det.score[i]):.4f},-1,-1,-1")
    return rows


class MotSink(Sink):
    """Writes tracked objects in MOTChallenge format to ``path`` (via ``path.part`` when ``atomic``)."""

    def __init__(self, path: str | Path, *, atomic: bool = False) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._target = self.path.with_name(self.path.name + ".part") if atomic else self.path
        self._file = open(self._target, "w", encoding="utf-8", buffering=1)
        self.rows = 0

    def write(self, frame: Frame) -> None:
        for line in mot_lines(frame):
            self._file.write(line + "\n")
            self.rows += 1

    def close(self, ok: bool = True) -> None:
        if self._file.closed:
            return
        self._file.close()
        if self._target != self.path:
            if ok:
                os.replace(self._target, self.path)
            else:
                self._target.unlink(missing_ok=True)
