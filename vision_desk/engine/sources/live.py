"""Live sources: network streams (with reconnect), webcams and the screen."""

from __future__ import annotations

import os
import time

import cv2
import numpy as np

from vision_desk.engine.sources.base import ReaderAbandoned, Source, SourceState
from vision_desk.engine.uri import SourceURI
from vision_desk.errors import SourceError

#: How long opening or reading a stream may take before it counts as dead (``?open_timeout=`` and
#: ``?read_timeout=`` on the URL change them).
OPEN_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 5.0
#: The watchdog gives FFmpeg this long past its own timeout before it abandons a blocked reader (``?watchdog=S`` on
#: the URL sets the whole wait): FFmpeg's timeout normally fires first, but not always (opencv #24393: 90 s).
WATCHDOG_MARGIN_S = 2.0
#: What OpenCV's FFmpeg opens streams with (its variable; one the user sets wins). TCP for RTSP: UDP loses packets
#: (grey smears) on busy networks. Half a second of probing: FFmpeg's default of 5 s made every open, and so every
#: reconnect, take 2 s on a 15 fps camera, for a frame rate it finds as well in 0.5 s.
FFMPEG_OPTIONS = "rtsp_transport;tcp|analyzeduration;500000"


def _ffmpeg_capture(url: str, open_timeout: float, read_timeout: float) -> cv2.VideoCapture:
    os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", FFMPEG_OPTIONS)
    return cv2.VideoCapture(
        url,
        cv2.CAP_FFMPEG,
        [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(open_timeout * 1000), cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(read_timeout * 1000)],
    )


class StreamSource(Source):
    """An RTSP/HTTP/RTMP stream with open/read timeouts and automatic reconnect.

    The first connection must succeed (a dead URL fails within the open
    timeout); once running, a dropped stream is retried about every second
    for a minute, then less often (see :func:`~.base.steady_then_backoff`),
    until it returns or the run is stopped.
    """

    live = True

    def __init__(self, uri: SourceURI, *, open_timeout: float = OPEN_TIMEOUT_S, read_timeout: float = READ_TIMEOUT_S) -> None:
        super().__init__(uri)
        self.open_timeout = float(uri.options.get("open_timeout", open_timeout))
        self.read_timeout = float(uri.options.get("read_timeout", read_timeout))
        self.watchdog = float(uri.options.get("watchdog", max(self.open_timeout, self.read_timeout) + WATCHDOG_MARGIN_S))
        self._cap: cv2.VideoCapture | None = None
        self._connection = 0  # which connection is current; a reader holding an older one was abandoned
        self._t0 = time.monotonic()

    @property
    def stall_timeout(self) -> float | None:
        return self.watchdog

    def abandon(self) -> None:
        self._connection += 1
        self._cap = None  # not released: the blocked reader still uses it, and releases it when FFmpeg lets go
        self.blocked_since = None

    def _blocking(self, call, connection: int):  # noqa: ANN001, ANN202
        """Runs an FFmpeg call the watchdog watches; raises ReaderAbandoned if it gave up on it meanwhile."""
        self.blocked_since = time.monotonic()
        try:
            return call()
        finally:
            if connection == self._connection:
                self.blocked_since = None

    def _connect(self) -> bool:
        connection = self._connection
        cap = self._blocking(lambda: _ffmpeg_capture(self.uri.target, self.open_timeout, self.read_timeout), connection)
        if connection != self._connection:
            cap.release()
            raise ReaderAbandoned
        if not cap.isOpened():
            cap.release()
            return False
        if self._cap is not None:
            self._cap.release()
        self._cap = cap
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.fps = fps if 0 < fps < 1000 else None
        self.size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        return True

    def open(self) -> None:
        self.set_state(SourceState.CONNECTING, f"connecting to {self.name}")
        if not self._connect():
            msg = f"cannot connect to {self.name} within {self.open_timeout:.0f} s; check the URL, the credentials and that the camera or server is up."
            self.set_state(SourceState.FAILED, msg)
            raise SourceError(msg)
        self._t0 = time.monotonic()
        self.set_state(SourceState.RUNNING)

    def read(self) -> tuple[np.ndarray, float] | None:
        while not self._interrupt.is_set():
            cap, connection = self._cap, self._connection
            if cap is not None:
                ok, image = self._blocking(cap.read, connection)
                if connection != self._connection:
                    cap.release()  # abandoned while blocked: this connection is this reader's alone to drop
                    raise ReaderAbandoned
                if ok and image is not None:
                    return image, time.monotonic() - self._t0
                self.close()  # the dead connection's socket and decoder threads go now, not at the reconnect
            self.reconnect(self._connect)
        return None

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


#: Failed reads in a row (0.1 s apart) after which a camera counts as gone and is reopened: a driver hiccup is a
#: read or two, an unplugged camera fails every read.
CAMERA_FAILED_READS = 10


def _camera_present(index: int) -> bool:
    """Whether camera ``index`` can be asked for at all: on Linux its device node exists (it goes when the camera is
    unplugged and comes back when it is plugged in again); elsewhere only opening it tells."""
    return not _on_linux() or os.path.exists(f"/dev/video{index}")


def _on_linux() -> bool:
    return os.name == "posix" and os.uname().sysname == "Linux"


class WebcamSource(Source):
    """A local camera by index, with optional ``?width=&height=&fps=``.

    A camera that stops delivering (unplugged, or its driver restarted) is reopened with the same waits as a
    network stream (:meth:`Source.reconnect`), until it is back or the run is stopped.
    """

    live = True

    def __init__(self, uri: SourceURI) -> None:
        super().__init__(uri)
        self.index = int(uri.target)
        self._cap: cv2.VideoCapture | None = None
        self._t0 = time.monotonic()
        self._failures = 0

    def open(self) -> None:
        self.set_state(SourceState.CONNECTING)
        if not self._connect():
            msg = (f"no camera at index {self.index}: check that it is connected and not in use by another program, "
                   "or try another index.")
            self.set_state(SourceState.FAILED, msg)
            raise SourceError(msg)
        self._t0 = time.monotonic()
        self.set_state(SourceState.RUNNING)

    def _connect(self) -> bool:
        """Opens the camera with the URL's settings; False when it is not there (or not back yet)."""
        if not _camera_present(self.index):
            return False
        cap = cv2.VideoCapture(self.index, cv2.CAP_V4L2 if _on_linux() else cv2.CAP_ANY)
        if not cap.isOpened():
            cap.release()
            return False
        opts = self.uri.options
        for key, prop in (("width", cv2.CAP_PROP_FRAME_WIDTH), ("height", cv2.CAP_PROP_FRAME_HEIGHT), ("fps", cv2.CAP_PROP_FPS)):
            if key in opts:
                cap.set(prop, float(opts[key]))
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # the newest frame, not a backlog in the driver
        self._cap = cap
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.fps = fps if 0 < fps < 1000 else 30.0
        self.size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        self._failures = 0
        return True

    def read(self) -> tuple[np.ndarray, float] | None:
        while not self._interrupt.is_set():
            ok, image = self._cap.read() if self._cap is not None else (False, None)
            if ok and image is not None:
                self._failures = 0
                return image, time.monotonic() - self._t0  # one clock across reopenings: times keep rising
            self._failures += 1
            if self._cap is None or self._failures >= CAMERA_FAILED_READS or not _camera_present(self.index):
                self.close()  # let go of the device now, so the camera can come back under the same index
                self.reconnect(self._connect)
                continue
            self._interrupt.wait(0.1)
        return None

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class ScreenSource(Source):
    """The screen (a monitor by index, or ``?region=x,y,w,h``) captured with mss at ``?fps=`` (default 15)."""

    live = True

    def __init__(self, uri: SourceURI) -> None:
        super().__init__(uri)
        self.fps = float(uri.options.get("fps", 15))
        self._sct = None
        self._area: dict[str, int] = {}
        self._t0 = time.monotonic()
        self._next = 0.0

    def open(self) -> None:
        self.set_state(SourceState.CONNECTING)
        try:
            import mss

            self._sct = mss.MSS()  # mss.mss() is deprecated since 10.2
            monitors = self._sct.monitors
        except Exception as err:  # noqa: BLE001 - mss raises its own types per platform
            msg = f"screen capture is not available here ({err}); it needs a desktop session."
            self.set_state(SourceState.FAILED, msg)
            raise SourceError(msg) from None
        index = int(self.uri.target or 1)
        if not 0 <= index < len(monitors):
            msg = f"no monitor {index}: this desktop has monitors 1 to {len(monitors) - 1} (0 is all of them)."
            self.set_state(SourceState.FAILED, msg)
            raise SourceError(msg)
        self._area = dict(monitors[index])
        if "region" in self.uri.options:
            x, y, w, h = (int(v) for v in self.uri.options["region"].split(","))
            self._area = {"left": self._area["left"] + x, "top": self._area["top"] + y, "width": w, "height": h}
        self.size = (self._area["width"], self._area["height"])
        self._t0 = self._next = time.monotonic()
        self.set_state(SourceState.RUNNING)

    def read(self) -> tuple[np.ndarray, float] | None:
        assert self._sct is not None
        wait = self._next - time.monotonic()
        if wait > 0 and self._interrupt.wait(wait):
            return None
        self._next = max(self._next + 1.0 / self.fps, time.monotonic())
        shot = np.asarray(self._sct.grab(self._area))
        return cv2.cvtColor(shot, cv2.COLOR_BGRA2BGR), time.monotonic() - self._t0

    def close(self) -> None:
        if self._sct is not None:
            self._sct.close()
            self._sct = None
