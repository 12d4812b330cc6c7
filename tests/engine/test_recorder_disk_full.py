"""The disk fills during a recording: the recording stops with one sentence, what it holds plays, the run goes on.

The full disk is real to the process: a child process runs the engine under a
file-size limit (``RLIMIT_FSIZE``, with ``SIGXFSZ`` ignored so a write past it
fails with ``EFBIG``, as a full disk's fails with ``ENOSPC``). A tmpfs would
need root and a mount the CI runner may not allow; the limit needs neither.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import av
import pytest

from tests.media import panning_frames, write_clip

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 50_000  # bytes: the header and two of the six two-second fragments (111 KB in all) of the clip below

CHILD = """
import json, resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG, as on a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[3]), int(sys.argv[3])))
from vision_desk.engine.pipeline import Pipeline
from vision_desk.engine.runner import Engine
from vision_desk.engine.sinks.recorder import RecorderSink

rec = RecorderSink(sys.argv[2], None)
seen = []
engine = Engine(sys.argv[1], Pipeline(), sinks=[rec], live=False, sink_errors=sys.argv[4],
                on_frame=lambda frame: seen.append((frame.index, rec in engine.failed_sinks)))
try:
    engine.run()
    error = None
except Exception as err:
    error = str(err)
print(json.dumps({"seen": seen, "error": error, "errors": [str(e) for e in engine.pipeline.errors],
                  "recorded": rec.frames}))
"""


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # a panned photo: every frame differs, so the fragments are tens of KB and the limit is hit a few seconds in
    return write_clip(tmp_path_factory.mktemp("clips") / "pan.mp4", panning_frames(360, size=(320, 240)), gop=15)


def record_under_limit(clip: Path, out: Path, sink_errors: str) -> dict:
    r = subprocess.run([sys.executable, "-c", CHILD, str(clip), str(out), str(LIMIT), sink_errors],
                       capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def decode_all(path: Path) -> list[av.VideoFrame]:
    """Every frame, decoded strictly: a fragment cut short raises here."""
    with av.open(str(path)) as container:
        return list(container.decode(video=0))


def test_recording_stops_alone_and_keeps_what_it_had(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "full.mp4"
    result = record_under_limit(clip, out, "drop")
    assert result["error"] is None  # the run went on
    indices = [index for index, _ in result["seen"]]
    assert indices == list(range(360))  # every frame of the file reached the view (on_frame) ...
    dropped_at = next(n for n, (_, dropped) in enumerate(result["seen"]) if dropped)
    assert 0 < dropped_at < 300  # ... also the ones after the recording stopped
    assert result["errors"] == [f"recording to {out} stopped: the file size limit was reached; what was recorded "
                                "before is kept and plays. Free some space (or record to another disk) and record again."]
    assert out.stat().st_size <= LIMIT
    frames = decode_all(out)  # no error: the fragment cut short by the full disk was cut off
    assert 30 <= len(frames) <= result["recorded"]
    assert (frames[0].width, frames[0].height) == (320, 240)


def test_a_command_line_recording_ends_the_run_with_the_sentence(clip: Path, tmp_path: Path) -> None:
    """``vision-desk run --record`` stops (its output is incomplete) with the same sentence; the file plays."""
    out = tmp_path / "cli.mp4"
    result = record_under_limit(clip, out, "raise")
    assert result["error"].startswith(f"recording to {out} stopped: the file size limit was reached")
    assert len(result["seen"]) < 360
    assert len(decode_all(out)) >= 30
