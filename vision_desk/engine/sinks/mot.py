"""MOTChallenge text export: one line per tracked object per frame.

The MOT16/17 layout, readable by TrackEval and py-motmetrics::

    frame, id, bb_left, bb_top, bb_width, bb_height, conf, -1, -1, -1

Frames are numbered from 1; only objects with a track id are written.
"""

from __future__ import annotations

from vision_desk.engine.frame import Frame
from vision_desk.engine.sinks.export import JsonlSink


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


class MotSink(JsonlSink):
    """Writes tracked objects in MOTChallenge format to ``path`` (via ``path.part`` when ``atomic``).

    A line-per-record text file like the JSONL export, so it shares that
    sink's file handling (line-buffered, atomic rename on success); only the
    record format differs. ``lines`` counts the rows written.
    """

    def write(self, frame: Frame) -> None:
        for line in mot_lines(frame):
            self._file.write(line + "\n")
            self.lines += 1
