"""`--on-stage-error continue|stop`: a stage that raises on one frame in a hundred, through the real command line.

The stage under the fault is a test stage (the thing under test is the error
handling, not a stage): it writes the frame's index as a value and raises on
every frame whose index ends in 37. It is registered only inside the child
process that runs the command line, so no test that walks every stage sees it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.media import moving_object_frames, write_clip

ROOT = Path(__file__).resolve().parents[1]

LAUNCHER = textwrap.dedent('''
    import sys
    from vision_desk.cli import main
    from vision_desk.engine.stage import Stage

    class FlakyStage(Stage):
        id = "flaky_test"
        title = "Flaky (test)"
        values = {"seen": "the frame's index"}

        def process(self, frame):
            if frame.index % 100 == 37:
                raise ValueError(f"cannot read frame {frame.index}")
            frame.values["seen"] = frame.index

    sys.exit(main(sys.argv[1:]))
''')


@pytest.fixture(scope="module")
def flaky(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the launcher script, a pipeline file with the flaky stage)."""
    folder = tmp_path_factory.mktemp("flaky")
    (folder / "launch.py").write_text(LAUNCHER)
    (folder / "flaky.yaml").write_text("name: flaky\nstages:\n  - stage: flaky_test\n")
    return folder / "launch.py", folder / "flaky.yaml"


@pytest.fixture(scope="module")
def clip_250(tmp_path_factory: pytest.TempPathFactory) -> Path:
    frames, _ = moving_object_frames(250, size=(160, 96), radius=8, speed=1)
    return write_clip(tmp_path_factory.mktemp("clips") / "clip_250.mp4", frames)


def vd(launcher: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(launcher), *args], capture_output=True, text=True, timeout=120, cwd=ROOT)


def test_run_continues_by_default_and_names_each_bad_frame(flaky, clip_250: Path, tmp_path: Path) -> None:
    launcher, pipeline = flaky
    out = tmp_path / "out.jsonl"
    r = vd(launcher, "run", str(clip_250), "--pipeline", str(pipeline), "--export", str(out))
    assert r.returncode == 0, r.stderr
    for index in (37, 137, 237):
        assert f"warning: stage 'flaky_test' failed on frame {index}: ValueError: cannot read frame {index}" in r.stderr
    assert "3 stage failures" in r.stderr and "Traceback" not in r.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["frame"] for row in rows] == list(range(250))  # every frame went on, the bad ones too
    missing = [row["frame"] for row in rows if "seen" not in row["values"]]
    assert missing == [37, 137, 237]  # ... without the failed stage's result, and the next frame had it again


def test_run_stops_at_the_first_bad_frame_when_asked(flaky, clip_250: Path, tmp_path: Path) -> None:
    launcher, pipeline = flaky
    out = tmp_path / "out.jsonl"
    r = vd(launcher, "run", str(clip_250), "--pipeline", str(pipeline), "--export", str(out), "--on-stage-error", "stop")
    assert r.returncode == 1
    assert r.stderr.strip().splitlines()[-1] == \
        "error: stage 'flaky_test' failed on frame 37: ValueError: cannot read frame 37"
    assert "Traceback" not in r.stderr
    assert len(out.read_text().splitlines()) == 37  # frames 0-36 were exported, then the run stopped


@pytest.mark.parametrize("mode", ["stop", "continue"])
def test_batch_fails_only_the_file_or_goes_on(mode: str, flaky, clip_250: Path, tmp_path: Path) -> None:
    """stop (batch's default): the file with a bad frame fails with the sentence, a short file before it is done."""
    launcher, pipeline = flaky
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "long.mp4").write_bytes(clip_250.read_bytes())
    frames, _ = moving_object_frames(30, size=(160, 96), radius=8)
    write_clip(inputs / "short.mp4", frames)  # never reaches frame 37
    args = ["batch", str(inputs), "--pipeline", str(pipeline), "--out", str(tmp_path / "out"), "--no-video", "-j", "1"]
    r = vd(launcher, *args, *(["--on-stage-error", "continue"] if mode == "continue" else []))
    assert "Traceback" not in r.stderr
    short = tmp_path / "out" / "short.jsonl"
    assert len(short.read_text().splitlines()) == 30
    long = tmp_path / "out" / "long.jsonl"
    if mode == "stop":
        assert r.returncode == 1
        assert "FAILED  long.mp4: stage 'flaky_test' failed on frame 37: ValueError: cannot read frame 37" in r.stderr
        assert "batch: 1 done, 1 failed" in r.stderr
        assert not long.exists()
    else:
        assert r.returncode == 0, r.stderr
        for index in (37, 137, 237):
            assert f"warning long.mp4: stage 'flaky_test' failed on frame {index}" in r.stderr
        assert "batch: 2 done, 0 failed" in r.stderr
        assert len(long.read_text().splitlines()) == 250
