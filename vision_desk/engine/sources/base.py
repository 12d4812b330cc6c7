"""The source interface and its state machine."""

from __future__ import annotations

import enum
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from vision_desk.engine.uri import SourceURI


#: Retries after a drop: every 0.5 to 1 s (at random, so cameras that dropped together do not retry in step) for the
#: first minute, so a camera that comes back is seen within a second; then the wait doubles to at most 10 s, so one
#: that is gone for good is not asked twice a second all night. A refused connection costs the server next to nothing.
STEADY_RETRY_S = (0.5, 1.0)
STEADY_FOR_S = 60.0
BACKOFF_MAX_S = 10.0
#: Web sources resolve the page again on every try (a request to the site): they start at 0.5 s and double at once.
BACKOFF_START_S = 0.5


def steady_then_backoff(steady_for: float = STEADY_FOR_S, rng: random.Random | None = None) -> Iterator[float]:
    """The waits between reconnect attempts: :data:`STEADY_RETRY_S` for ``steady_for`` seconds, then doubling
    (each with up to 20% taken off at random) to at most :data:`BACKOFF_MAX_S`."""
    rng = rng or random.Random()
    started = time.monotonic()
    delay = STEADY_RETRY_S[1]
    while True:
        if time.monotonic() - started < steady_for:
            yield rng.uniform(*STEADY_RETRY_S)
        else:
            delay = min(delay * 2, BACKOFF_MAX_S)
            yield delay * rng.uniform(0.8, 1.0)


def doubling(start: float = BACKOFF_START_S, most: float = BACKOFF_MAX_S) -> Iterator[float]:
    """The waits 0.5, 1, 2, 4 ... s, at most ``most``: for reconnects that cost the other side real work."""
    delay = start
    while True:
        yield delay
        delay = min(delay * 2, most)


class ReaderAbandoned(Exception):
    """Raised in a reader the capture's watchdog gave up on, when its blocked call finally returns: it ends quietly."""


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
    reconnects: int = 0  # times the source came back (RECONNECTING -> RUNNING), not the attempts it took


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

    def set_state(self, state: SourceState, message: str = "") -> None:
        with self._lock:
            old = self._status
            if state != old.state and state not in _TRANSITIONS[old.state]:
                raise RuntimeError(f"source state cannot go from {old.state.value} to {state.value}")
            came_back = old.state is SourceState.RECONNECTING and state is SourceState.RUNNING
            self._status = SourceStatus(state, message, time.monotonic(), old.reconnects + came_back)

    def reconnect(self, connect: Callable[[], bool], attempts: int | None = None,
                  delays: Iterable[float] | None = None) -> bool:
        """After a drop: calls ``connect`` after each wait of ``delays`` (default :func:`steady_then_backoff`)
        until it returns True.

        Returns True once reconnected (RUNNING again), False when interrupted or when ``attempts``
        tries have failed (None: no limit). The status says which attempt it is on.
        """
        waits = iter(delays if delays is not None else steady_then_backoff())
        attempt = 0
        while not self._interrupt.is_set() and (attempts is None or attempt < attempts):
            attempt += 1
            delay = next(waits)
            self.set_state(SourceState.RECONNECTING,
                           f"{self.name} dropped; reconnecting (attempt {attempt}, next in {delay:.1f} s)")
            if self._interrupt.wait(delay):
                return False
            if connect():
                self.set_state(SourceState.RUNNING, f"reconnected after {attempt} attempt(s)")
                return True
        return False

    # -- the watchdog (see CaptureThread) ----------------------------------------
    #: when the reader entered a call into a library that may block past its own timeout (FFmpeg); None outside one
    blocked_since: float | None = None

    @property
    def stall_timeout(self) -> float | None:
        """How long one such call may block before the reader is abandoned and replaced; None: never."""
        return None

    def abandon(self) -> None:
        """Forgets the connection a blocked reader holds, without touching it: that reader, when its call returns,
        raises :class:`ReaderAbandoned` and drops the connection itself. The next read connects anew."""

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
