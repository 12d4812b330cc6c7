"""The source interface and its state machine."""

from __future__ import annotations

import enum
import threading
import time
from dataclasses import dataclass

import numpy as np

from vision_desk.engine.uri import SourceURI


class SourceState(str, enum.Enum):
    IDLE = "idle"
    CONNECTING = "connecting"
    RUNNING = "running"
    RECONNECTING = "reconnecting"
    PAUSED = "paused"
    ENDED = "ended"
    FAILED = "failed"


#: Allowed transitions; anything else is a bug and raises.
_TRANSITIONS: dict[SourceState, set[SourceState]] = {
    SourceState.IDLE: {SourceState.CONNECTING, SourceState.FAILED, SourceState.ENDED},
    SourceState.CONNECTING: {SourceState.RUNNING, SourceState.FAILED, SourceState.ENDED, SourceState.RECONNECTING},
    SourceState.RUNNING: {SourceState.PAUSED, SourceState.RECONNECTING, SourceState.ENDED, SourceState.FAILED},
    SourceState.PAUSED: {SourceState.RUNNING, SourceState.ENDED, SourceState.FAILED, SourceState.RECONNECTING},
    SourceState.RECONNECTING: {SourceState.RUNNING, SourceState.RECONNECTING, SourceState.FAILED, SourceState.ENDED},
    SourceState.ENDED: {SourceState.CONNECTING, SourceState.RUNNING},  # RUNNING: a held file sought again
    SourceState.FAILED: {SourceState.CONNECTING},
}


@dataclass(frozen=True)
class SourceStatus:
    """An immutable view of a source's state for status bars and logs."""

    state: SourceState
    message: str = ""
    since: float = 0.0
    reconnects: int = 0


class Source:
    """Base class of sources.

    ``open`` connects (raising SourceError with a clear message), ``read``
    returns ``(image, timestamp)`` or ``None`` when a finite source has ended.
    ``live`` sources (webcam, stream, screen, demo) keep only the newest frame
    by default; the others never drop one.
    """

    live: bool = False
    seekable: bool = False

    def __init__(self, uri: SourceURI) -> None:
        self.uri = uri
        self.name = uri.masked
        self.fps: float | None = None
        self.frame_count: int | None = None
        self.size: tuple[int, int] | None = None  # (width, height)
        self._lock = threading.Lock()
        self._status = SourceStatus(SourceState.IDLE, since=time.monotonic())
        self._interrupt = threading.Event()

    # -- state machine --------------------------------------------------------
    @property
    def status(self) -> SourceStatus:
        with self._lock:
            return self._status

    def set_state(self, state: SourceState, message: str = "", reconnects: int | None = None) -> None:
        with self._lock:
            old = self._status
            if state != old.state and state not in _TRANSITIONS[old.state]:
                raise RuntimeError(f"source state cannot go from {old.state.value} to {state.value}")
            self._status = SourceStatus(
                state, message, time.monotonic(), old.reconnects if reconnects is None else reconnects
            )

    def interrupt(self) -> None:
        """Wakes any wait inside read/open so the reader thread can stop promptly."""
        self._interrupt.set()

    # -- the interface --------------------------------------------------------
    def open(self) -> None:
        raise NotImplementedError

    def read(self) -> tuple[np.ndarray, float] | None:
        raise NotImplementedError

    def seek(self, index: int) -> None:
        raise NotImplementedError(f"{self.name} cannot seek")

    def close(self) -> None:
        pass
