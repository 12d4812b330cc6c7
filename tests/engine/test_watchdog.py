"""The watchdog: a reader blocked inside FFmpeg past its timeout is abandoned and replaced; nobody waits for it.

The block is real: a half-up camera on 127.0.0.1 (tests/servers/stalling_mjpeg.py)
sends MJPEG over HTTP and then goes silent without closing, so FFmpeg's read
waits. FFmpeg's own read timeout (``?read_timeout=30``) is set past the
watchdog's (``?watchdog=1``), as happens when FFmpeg's timeout does not fire
(opencv #24393); with the defaults FFmpeg gives up first (5 s) and the
watchdog (7 s) is the second line.
"""

from __future__ import annotations

import threading
import time

import cv2
import pytest

from tests.media import skimage_bgr
from tests.servers.stalling_mjpeg import StallingMjpegServer
from vision_desk.engine.capture import MAX_ABANDONED
from vision_desk.engine.pipeline import Pipeline
from vision_desk.engine.runner import Engine


def capture_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name.startswith("capture:") and t.is_alive())


def wait_for(what: str, condition, timeout: float = 30.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"waited {timeout:.0f} s for {what}"
        time.sleep(0.02)


@pytest.fixture()
def camera():
    servers: list[StallingMjpegServer] = []

    def start(**kwargs) -> StallingMjpegServer:  # noqa: ANN003
        server = StallingMjpegServer(cv2.resize(skimage_bgr("astronaut"), (320, 240)), **kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def test_a_stalled_reader_is_replaced_and_frames_come_again(camera) -> None:
    """Each connection stalls after 10 frames and is closed by the server 3 s later: three stalls, three new
    readers, frames after each, and the abandoned readers end once FFmpeg lets go (no thread growth)."""
    server = camera(frames=10, hold_s=3.0)
    before = capture_threads()
    frames: list[float] = []
    engine = Engine(f"{server.url}?read_timeout=30&watchdog=1", Pipeline(), annotate=False,
                    on_frame=lambda frame: frames.append(time.monotonic()))
    engine.start()
    try:
        for stall in range(1, 4):
            wait_for(f"reader {stall} to be replaced", lambda: engine.capture.replaced >= stall)
            seen = len(frames)
            wait_for(f"frames after stall {stall}", lambda: len(frames) >= seen + 3)
        assert engine.source.status.reconnects >= 3
        assert server.connections >= 4 and engine.running and engine.error is None
        assert engine.capture.abandoned_alive <= MAX_ABANDONED
        wait_for("the abandoned readers to end once the server closed their connections",
                 lambda: engine.capture.abandoned_alive == 0, timeout=15)
        assert capture_threads() - before == 1  # the current reader only
    finally:
        engine.stop()
        assert engine.join(5)


def test_stop_does_not_wait_for_a_blocked_reader(camera) -> None:
    server = camera(frames=5, hold_s=60.0)  # never lets go during the test
    engine = Engine(f"{server.url}?read_timeout=30&watchdog=20", Pipeline(), annotate=False)
    engine.start()
    wait_for("the reader to block in FFmpeg", lambda: engine.source.blocked_since is not None
             and time.monotonic() - engine.source.blocked_since > 0.5 and engine.stats().frames_out >= 5)
    t0 = time.monotonic()
    engine.stop()
    assert engine.join(3.0), "the engine waited for its blocked reader"
    assert time.monotonic() - t0 < 3.0
    assert engine.capture.is_alive()  # the reader is still blocked inside FFmpeg, left behind as a daemon thread
