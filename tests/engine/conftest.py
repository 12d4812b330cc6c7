from __future__ import annotations

import pytest

from tests.servers.rtsp import RtspServer, rtsp_available


@pytest.fixture()
def rtsp_server():
    reason = rtsp_available()
    if reason:
        pytest.skip(f"needs the RTSP server: {reason}")
    server = RtspServer(credentials="viewer:s3cret")
    server.start()
    yield server
    server.stop()
