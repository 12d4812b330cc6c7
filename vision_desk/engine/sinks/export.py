"""JSON Lines export: one object per processed frame, flushed per line so a crash loses nothing written."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from vision_desk.engine.frame import Frame
from vision_desk.engine.results import to_jsonable
from vision_desk.engine.sinks import Sink


def frame_record(frame: Frame, origins: bool = False) -> dict[str, Any]:
    """The export record of a frame: ``{"frame", "time", "objects", "values"}`` (+ ``events`` when any).

    With ``origins`` (live runs) it adds ``origins``: for each stage that marked where its results
    come from, ``{"frame": index computed on, "age_ms": capture-time difference}``. Lossless runs
    leave it out: their carried results follow from ``every``, and capture times differ from run to
    run, which would make two exports of one file differ.
    """
    record: dict[str, Any] = {
        "frame": frame.index,
        "time": round(frame.timestamp, 4),
        "objects": frame.detections.to_records(),
        "values": to_jsonable(frame.values),
    }
    if frame.events:
        record["events"] = list(frame.events)
    if origins and frame.origins:
        record["origins"] = {stage: {"frame": o.frame_index, "age_ms": round(o.age_ms(frame), 1)}
                             for stage, o in frame.origins.items()}
    return record


class JsonlSink(Sink):
    """Writes one JSON object per line to ``path`` (via ``path.part`` when ``atomic``)."""

    def __init__(self, path: str | Path, *, atomic: bool = False) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._target = self.path.with_name(self.path.name + ".part") if atomic else self.path
        self._file = open(self._target, "w", encoding="utf-8", buffering=1)  # line-buffered
        self.lines = 0
        self._origins = False

    def attach(self, source, live: bool = False) -> None:  # noqa: ANN001
        self._origins = live

    def write(self, frame: Frame) -> None:
        record = frame_record(frame, origins=self._origins)
        self._file.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        self.lines += 1

    def close(self, ok: bool = True) -> None:
        if self._file.closed:
            return
        self._file.close()
        if self._target != self.path:
            if ok:
                os.replace(self._target, self.path)
            else:
                self._target.unlink(missing_ok=True)
