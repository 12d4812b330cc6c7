"""The one place frames cross from the engine thread to the GUI thread.

The engine calls :meth:`FrameBridge.push` on its processing thread for every
finished frame. The bridge keeps only the newest frame and posts a queued
notification to the GUI thread only when none is pending, so however fast the
engine runs, the event loop never holds more than one frame notification
(latest wins, never a growing queue). Frames from an engine that has been
replaced (an older *generation*) are ignored.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Qt, Signal

from vision_desk.engine.frame import Frame


class FrameBridge(QObject):
    """Newest-frame mailbox between engine threads and the GUI thread.

    Signals:
        frame_ready: emitted (queued to the GUI thread) when a frame waits and
            no earlier notification is still pending.
    """

    frame_ready = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._frame: Frame | None = None
        self._pending = False
        self._generation = 0
        self.pushed = 0  # frames offered by engines of the current generation
        self.notified = 0  # notifications posted to the GUI thread

    def new_generation(self) -> int:
        """Starts accepting frames from a new engine only; returns its generation number."""
        with self._lock:
            self._generation += 1
            self._frame = None
            self._pending = False
            self.pushed = self.notified = 0
            return self._generation

    def push(self, generation: int, frame: Frame) -> None:
        """Offers a finished frame (any thread); replaces one the GUI has not taken yet."""
        with self._lock:
            if generation != self._generation:
                return
            self._frame = frame
            self.pushed += 1
            notify = not self._pending
            self._pending = True
            if notify:
                self.notified += 1
        if notify:
            self.frame_ready.emit()

    def take(self) -> Frame | None:
        """The newest frame (GUI thread); clears the pending flag so the next push notifies again."""
        with self._lock:
            self._pending = False
            return self._frame

    @property
    def pending(self) -> bool:
        """Whether a notification is posted and not yet handled (at most one ever is)."""
        with self._lock:
            return self._pending

    def connect_view(self, slot) -> None:  # noqa: ANN001 - any callable slot
        """Connects the GUI-thread handler explicitly queued (the emitter is an engine thread)."""
        self.frame_ready.connect(slot, Qt.ConnectionType.QueuedConnection)
