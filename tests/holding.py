"""A stage that holds the engine inside a frame until the test lets it go, and a wait that fails loudly.

A real slow stage (OCR, denoise) keeps the engine inside one frame for long
enough that a user makes several edits before the next frame applies them. The
hold stage is that stage with a length the test decides, so edits are known to
arrive while the engine has not applied them, on any machine, however loaded.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Callable

import pytest

from vision_desk.engine.frame import Frame
from vision_desk.engine.stage import Stage

#: A failing test that never releases the gate must not hang the engine thread for good.
HOLD_LIMIT_S = 120.0


class Gate:
    """Closed until :meth:`release`; the hold stage waits at it."""

    def __init__(self, released: bool = False) -> None:
        self._released = threading.Event()
        self._reached = threading.Event()
        if released:
            self._released.set()

    def pass_through(self) -> None:
        """Called by the hold stage on the processing thread."""
        if not self._released.is_set():
            self._reached.set()
            self._released.wait(HOLD_LIMIT_S)

    @property
    def holding(self) -> bool:
        """The engine is waiting inside a frame (its edits for that frame already applied)."""
        return self._reached.is_set() and not self._released.is_set()

    def release(self) -> None:
        self._released.set()


class HoldStage(Stage):
    """Passes frames through unchanged, waiting at the test's gate first."""

    id = "test_hold"
    title = "Hold (test)"
    gate = Gate(released=True)  # each test sets its own with the ``gate`` fixture

    def process(self, frame: Frame) -> None:
        HoldStage.gate.pass_through()


@pytest.fixture
def gate() -> Iterator[Gate]:
    """A closed gate for the ``test_hold`` stage, released at the end of the test whatever happened."""
    HoldStage.gate = Gate()
    yield HoldStage.gate
    HoldStage.gate.release()


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    """Polls ``condition`` until it holds; fails naming ``what`` after a deadline generous for a loaded machine."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout_s:.0f} s for {what}")
        time.sleep(0.01)
