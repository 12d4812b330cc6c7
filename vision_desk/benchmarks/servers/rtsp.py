"""Starts and stops the real GStreamer RTSP server (``rtsp_server.py`` beside this file) on 127.0.0.1."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

SCRIPT = Path(__file__).with_name("rtsp_server.py")
SYSTEM_PYTHON = "/usr/bin/python3"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rtsp_available() -> str | None:
    """None when the server can run here, else the reason it cannot."""
    if not Path(SYSTEM_PYTHON).exists():
        return "Debian's /usr/bin/python3 is missing"
    probe = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import gi; gi.require_version('GstRtspServer','1.0'); from gi.repository import GstRtspServer"],
        capture_output=True,
    )
    if probe.returncode != 0:
        return "the GStreamer RTSP server is not installed (apt-get install gir1.2-gst-rtsp-server-1.0 ...; see .ci/run)"
    return None


class RtspServer:
    """A restartable server process; ``url`` stays the same across restarts."""

    def __init__(self, path: str = "/test", credentials: str = "") -> None:
        self.port = free_port()
        self.path = path
        self.credentials = credentials
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        auth = f"{self.credentials}@" if self.credentials else ""
        return f"rtsp://{auth}127.0.0.1:{self.port}{self.path}"

    def start(self, timeout: float = 15.0) -> None:
        args = [SYSTEM_PYTHON, str(SCRIPT), str(self.port), self.path] + ([self.credentials] if self.credentials else [])
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if "READY" not in line or time.monotonic() > deadline:
            self.stop()
            raise RuntimeError(f"RTSP server did not start: {line!r}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None
