"""Every source kind with real input."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.media import skimage_bgr, ultralytics_asset
from vision_desk.engine.pipeline import Pipeline
from vision_desk.engine.runner import Engine
from vision_desk.engine.sinks.export import JsonlSink
from vision_desk.engine.sources import SourceState, open_source
from vision_desk.engine.sources.demo import QR_PAYLOAD
from vision_desk.errors import SourceError


def collect(uri, **kwargs) -> list:  # noqa: ANN001
    frames = []
    engine = Engine(uri, Pipeline(), on_frame=frames.append, annotate=False, **kwargs)
    engine.run()
    return frames


def test_video_file_every_frame_in_order(clip_300: Path) -> None:
    frames = collect(str(clip_300))
    assert [f.index for f in frames] == list(range(300))
    assert frames[0].image.shape == (360, 640, 3)
    assert frames[30].timestamp == pytest.approx(1.0, abs=1e-6)


def test_single_image_and_folder(tmp_path: Path) -> None:
    bus = ultralytics_asset("bus.jpg")
    frames = collect(str(bus))
    assert len(frames) == 1 and frames[0].image.shape == cv2.imread(str(bus)).shape
    for i, name in enumerate(["astronaut", "coffee", "chelsea"]):
        cv2.imwrite(str(tmp_path / f"{i:02d}_{name}.png"), skimage_bgr(name))
    (tmp_path / "notes.txt").write_text("not an image")
    frames = collect(str(tmp_path))
    assert len(frames) == 3
    assert np.array_equal(frames[1].image, skimage_bgr("coffee"))
    frames = collect(str(tmp_path / "*_c*.png"))
    assert len(frames) == 2


def test_demo_source_is_live_and_finite_when_asked() -> None:
    frames = collect("demo:", max_frames=20)
    assert len(frames) == 20
    assert frames[0].image.shape == (720, 1280, 3)
    # the QR code it shows decodes to its payload, and the scene moves
    data, _, _ = cv2.QRCodeDetector().detectAndDecode(frames[-1].image)
    assert data == QR_PAYLOAD
    assert np.abs(frames[0].image.astype(int) - frames[-1].image.astype(int)).mean() > 1.0
    assert open_source("demo:").live


def test_missing_webcam_names_the_index() -> None:
    engine = Engine("cam:7", Pipeline())
    with pytest.raises(SourceError, match="no camera at index 7"):
        engine.run()


def test_corrupt_file_fails_with_one_sentence(tmp_path: Path) -> None:
    bad = tmp_path / "fake.mp4"
    bad.write_text("this is not a video")
    with pytest.raises(SourceError, match="cannot be decoded"):
        Engine(str(bad), Pipeline()).run()
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(SourceError, match="empty"):
        Engine(str(empty), Pipeline()).run()


def test_dead_stream_fails_fast() -> None:
    from tests.servers.rtsp import free_port

    # A refused connection fails on the first try, without waiting out the open timeout (compared with that
    # setting, not with a number of seconds a loaded machine could pass) and without a reconnect schedule.
    engine = Engine(f"rtsp://user:pw@127.0.0.1:{free_port()}/nothing?open_timeout=120", Pipeline())
    t0 = time.monotonic()
    with pytest.raises(SourceError, match="cannot connect") as err:
        engine.run()
    assert time.monotonic() - t0 < 120 / 4
    assert engine.source.status.state.value == "failed" and engine.source.status.reconnects == 0
    assert "pw" not in str(err.value) and "***:***@" in str(err.value)


@pytest.mark.rtsp
def test_rtsp_frames_arrive_then_reconnect(rtsp_server, tmp_path: Path) -> None:
    frames = []
    export = tmp_path / "rtsp.jsonl"
    engine = Engine(rtsp_server.url, Pipeline(), on_frame=frames.append, sinks=[JsonlSink(export)]).start()
    try:
        deadline = time.monotonic() + 20
        while len(frames) < 10 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(frames) >= 10, "no frames from the RTSP server"
        assert frames[0].image.shape == (240, 320, 3)
        assert "s3cret" not in frames[0].source_id and "viewer" not in frames[0].source_id
        rtsp_server.stop()  # the camera drops
        deadline = time.monotonic() + 20
        while engine.source.status.state != SourceState.RECONNECTING and time.monotonic() < deadline:
            time.sleep(0.1)
        assert engine.source.status.state == SourceState.RECONNECTING
        assert "s3cret" not in engine.stats().source_message
        before = len(frames)
        rtsp_server.start()  # and comes back
        deadline = time.monotonic() + 30
        while len(frames) < before + 10 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(frames) >= before + 10, "frames did not resume after the server restarted"
        assert engine.source.status.state == SourceState.RUNNING
        assert engine.source.status.reconnects >= 1
    finally:
        engine.stop()
        assert engine.join(15)
    assert engine.error is None
    assert "s3cret" not in export.read_text()


def test_screen_capture_on_a_virtual_display(monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import shutil
    import subprocess

    if shutil.which("Xvfb") is None:
        pytest.skip("needs Xvfb (installed by ./setup.sh --test)")
    # -displayfd: Xvfb picks a free display and writes its number once it accepts connections
    # (no clash with another X server, no guessing how long start-up takes); -noreset: without it
    # the server resets when its last client leaves, and a capture opened during the reset fails.
    read_end, write_end = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_end), "-screen", "0", "640x400x24", "-nolisten", "tcp", "-noreset"],
        pass_fds=(write_end,), stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    try:
        with os.fdopen(read_end) as ready:
            number = ready.readline().strip()
        assert number.isdigit(), "Xvfb did not start"
        monkeypatch.setenv("DISPLAY", ":" + number)
        frames = collect("screen:?fps=10", max_frames=5)
        assert len(frames) == 5
        assert frames[0].image.shape == (400, 640, 3)
        frames = collect("screen:?region=10,20,200,100", max_frames=2)
        assert frames[0].image.shape == (100, 200, 3)
        with pytest.raises(SourceError, match="no monitor 5"):
            collect("screen:5", max_frames=1)
    finally:
        xvfb.kill()
        xvfb.wait()
