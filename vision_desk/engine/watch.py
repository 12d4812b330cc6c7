"""Noticing a model rewritten in place: retrained from the Teach panel, or a new file copied over the old one."""

from __future__ import annotations

import time
from pathlib import Path

#: How often (seconds) a watched model is looked at: a stat call, cheap, but not on every frame.
CHECK_EVERY_S = 1.0


def file_stamp(path: str | Path) -> tuple[int, int]:
    """(mtime_ns, size) of a model file; for a folder, of its newest file (a taught model's ``teach.json`` is
    written last, an OpenVINO export's files together); (0, 0) when it is not there."""
    path = Path(path)
    try:
        if path.is_dir():
            stats = [p.stat() for p in path.iterdir() if p.is_file()]
            newest = max(stats, key=lambda st: st.st_mtime_ns, default=None)
            return (newest.st_mtime_ns, newest.st_size) if newest else (0, 0)
        st = path.stat()
        return st.st_mtime_ns, st.st_size
    except OSError:
        return (0, 0)


class FileWatch:
    """Tells, at most once every :data:`CHECK_EVERY_S`, whether a model file or folder has changed since it was
    loaded. A model being replaced is swapped in whole (see :func:`vision_desk.teach.model.save_model`), so a
    change seen here is a complete new model."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.stamp = file_stamp(self.path)
        self._checked = time.monotonic()

    def changed(self) -> bool:
        now = time.monotonic()
        if now - self._checked < CHECK_EVERY_S:
            return False
        self._checked = now
        stamp = file_stamp(self.path)
        return stamp != (0, 0) and stamp != self.stamp
