"""A camera that disappears and comes back (issue 18's "a camera disappears").

This machine has no V4L2 device and no ``v4l2loopback``, so the camera is a
stand-in for ``cv2.VideoCapture`` on a USB camera, with what unplugging does
to a real one: its ``/dev/videoN`` node goes, the open capture fails every
read from then on (even once the camera is back: the old file handle is
dead), and a new capture opens only once the node is back.
"""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np
import pytest

from vision_desk.engine.pipeline import Pipeline
from vision_desk.engine.runner import Engine
from vision_desk.engine.sources import SourceState
from vision_desk.engine.sources import live


class UsbCamera:
    """Stands in for ``cv2.VideoCapture(index, backend)``: 30 fps of numbered grey frames while plugged in."""

    plugged = True
    generation = 0  # plugging in again makes a new device; captures of an older one stay dead
    hiccup = 0  # reads to fail while still plugged in (a driver hiccup)
    presence_checks = 0
    lock = threading.Lock()
    open_captures: list[UsbCamera] = []

    def __init__(self, index: int, backend: int) -> None:
        self.alive = UsbCamera.plugged
        self.generation = UsbCamera.generation
        self.n = 0
        if self.alive:
            UsbCamera.open_captures.append(self)

    @classmethod
    def present(cls, index: int) -> bool:
        cls.presence_checks += 1
        return cls.plugged

    @classmethod
    def unplug(cls) -> None:
        cls.plugged = False

    @classmethod
    def plug_in(cls) -> None:
        cls.generation += 1
        cls.plugged = True

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        return self.alive

    def read(self) -> tuple[bool, np.ndarray | None]:
        time.sleep(1 / 30)
        with UsbCamera.lock:
            if UsbCamera.hiccup > 0:
                UsbCamera.hiccup -= 1
                return False, None
        if not (self.alive and UsbCamera.plugged and self.generation == UsbCamera.generation):
            return False, None
        self.n += 1
        return True, np.full((48, 64, 3), self.n % 256, np.uint8)

    def set(self, prop: int, value: float) -> bool:
        return True

    def get(self, prop: int) -> float:
        return {cv2.CAP_PROP_FPS: 30.0, cv2.CAP_PROP_FRAME_WIDTH: 64.0, cv2.CAP_PROP_FRAME_HEIGHT: 48.0}.get(prop, 0.0)

    def release(self) -> None:
        if self in UsbCamera.open_captures:
            UsbCamera.open_captures.remove(self)
        self.alive = False


@pytest.fixture()
def usb_camera(monkeypatch: pytest.MonkeyPatch) -> type[UsbCamera]:
    monkeypatch.setattr(UsbCamera, "plugged", True)
    monkeypatch.setattr(UsbCamera, "generation", 0)
    monkeypatch.setattr(UsbCamera, "hiccup", 0)
    monkeypatch.setattr(UsbCamera, "presence_checks", 0)
    monkeypatch.setattr(UsbCamera, "open_captures", [])
    monkeypatch.setattr(live.cv2, "VideoCapture", UsbCamera)
    monkeypatch.setattr(live, "_camera_present", UsbCamera.present)
    return UsbCamera


def wait_for(condition, timeout: float = 10.0) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return bool(condition())


def test_an_unplugged_camera_is_reopened_when_it_comes_back(usb_camera: type[UsbCamera]) -> None:
    arrivals: list[tuple[float, float]] = []  # (arrival, the frame's own time)
    engine = Engine("cam:3", Pipeline(), annotate=False,
                    on_frame=lambda frame: arrivals.append((time.monotonic(), frame.timestamp))).start()
    try:
        assert wait_for(lambda: len(arrivals) >= 10), "no frames from the camera"
        usb_camera.unplug()
        assert wait_for(lambda: engine.source.status.state is SourceState.RECONNECTING)
        assert "reconnecting" in engine.source.status.message
        checks_before = usb_camera.presence_checks
        time.sleep(3.0)  # the outage itself is what is tested
        tries = usb_camera.presence_checks - checks_before
        assert 2 <= tries <= 8, f"{tries} tries in a 3 s outage: retries every 0.5-1 s, not a busy loop"
        assert engine.running and not usb_camera.open_captures  # the dead device was let go at once
        usb_camera.plug_in()
        up = time.monotonic()
        assert wait_for(lambda: arrivals[-1][0] > up, 5), "no frames within 5 s of the camera's return"
        resumed = next(t for t, _ in arrivals if t > up) - up
        assert resumed < 3.0, f"frames came back {resumed:.2f} s after the camera"
        assert engine.source.status.state is SourceState.RUNNING and engine.source.status.reconnects == 1
        assert len(usb_camera.open_captures) == 1
    finally:
        engine.stop()
        assert engine.join(10)
    assert engine.error is None
    times = [ts for _, ts in arrivals]
    assert all(b > a for a, b in zip(times, times[1:])), "frame times went back after the camera was reopened"


def test_a_few_failed_reads_are_a_hiccup_not_a_lost_camera(usb_camera: type[UsbCamera]) -> None:
    frames: list = []
    engine = Engine("cam:0", Pipeline(), annotate=False, on_frame=frames.append).start()
    try:
        assert wait_for(lambda: len(frames) >= 5)
        with usb_camera.lock:
            usb_camera.hiccup = 3
        assert wait_for(lambda: usb_camera.hiccup == 0)
        seen = len(frames)
        assert wait_for(lambda: len(frames) >= seen + 5)
        assert engine.source.status.reconnects == 0 and len(usb_camera.open_captures) == 1
    finally:
        engine.stop()
        assert engine.join(10)


def test_stopping_while_the_camera_is_away_does_not_wait_for_it(usb_camera: type[UsbCamera]) -> None:
    frames: list = []
    engine = Engine("cam:0", Pipeline(), annotate=False, on_frame=frames.append).start()
    assert wait_for(lambda: len(frames) >= 3)
    usb_camera.unplug()
    assert wait_for(lambda: engine.source.status.state is SourceState.RECONNECTING)
    engine.stop()
    assert engine.join(5), "stop waited for a camera that is not coming back"
    assert engine.error is None and not usb_camera.open_captures
