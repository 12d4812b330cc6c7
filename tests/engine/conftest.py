from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from tests.media import moving_object_frames, skimage_bgr, write_clip

from vision_desk.benchmarks.servers.rtsp import RtspServer, rtsp_available


@pytest.fixture()
def rtsp_server():
    reason = rtsp_available()
    if reason:
        pytest.skip(f"needs the RTSP server: {reason}")
    server = RtspServer(credentials="viewer:s3cret")
    server.start()
    yield server
    server.stop()


@pytest.fixture()
def batch_dir(tmp_path: Path) -> Path:
    src = tmp_path / "in"
    frames, _ = moving_object_frames(40, size=(320, 180), radius=15)
    write_clip(src / "a_good.mp4", frames)
    write_clip(src / "sub" / "b_good.mp4", frames[:25], fps=25)
    cv2.imwrite(str(src / "c_photo.png"), skimage_bgr("chelsea"))
    good = (src / "a_good.mp4").read_bytes()
    (src / "d_truncated.mp4").write_bytes(good[: len(good) // 2])  # moov atom lost
    (src / "e_empty.mp4").write_bytes(b"")
    (src / "f_text.mp4").write_text("definitely not a video\n" * 20)
    return src
