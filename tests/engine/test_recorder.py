"""Recordings play anywhere (H.264, yuv420p, right rate) and survive the process being killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest

SCRIPT = """
import sys
from vision_desk.engine.pipeline import Pipeline
from vision_desk.engine.runner import Engine
from vision_desk.engine.sinks.recorder import RecorderSink
rec = RecorderSink(sys.argv[1], None)
engine = Engine("demo:", Pipeline(), sinks=[rec]).start()
import time
while rec.frames < 150:
    time.sleep(0.05)
print("RECORDED", flush=True)
time.sleep(60)
"""


def test_recording_survives_sigkill(tmp_path: Path) -> None:
    out = tmp_path / "crash.mp4"
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(out)], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[2])
    try:
        deadline = time.monotonic() + 120
        line = ""
        while "RECORDED" not in line and time.monotonic() < deadline:
            line = proc.stdout.readline()
        assert "RECORDED" in line
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        decoded = [f for f in container.decode(stream)]
    # fragments are cut at every keyframe (2 s): all but the last unfinished fragment is there
    assert len(decoded) >= 60
    assert decoded[0].format.name == "yuv420p"
    assert (decoded[0].width, decoded[0].height) == (1280, 720)
    # timestamps follow the live capture clock, so playback speed is right
    span = float((decoded[-1].pts - decoded[0].pts) * decoded[0].time_base)
    assert abs(span - (len(decoded) - 1) / 30) < 0.5


@pytest.mark.gpu
def test_an_nvenc_recording_decodes_with_every_frame(clip_300: Path, tmp_path: Path) -> None:
    """On an NVIDIA GPU the recorder encodes with NVENC; the file is H.264 that decodes to every frame."""
    from tests.engine.test_engine import decode_count
    from vision_desk.engine.pipeline import Pipeline
    from vision_desk.engine.runner import Engine
    from vision_desk.engine.sinks.recorder import RecorderSink, pick_encoder

    assert pick_encoder("auto") == "h264_nvenc", "NVENC does not open on this GPU (driver, or PyAV's FFmpeg build)"
    out = tmp_path / "nvenc.mp4"
    stats = Engine(str(clip_300), Pipeline(), sinks=[RecorderSink(out, None, encoder="h264_nvenc")], live=False).run()
    assert stats.frames_out == 300
    n, rate = decode_count(out)
    assert n == 300 and rate == pytest.approx(30, abs=0.01)
    with av.open(str(out)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
    assert b"x264" not in out.read_bytes()[:200_000]  # libx264 signs its streams; NVENC does not
