"""`vision-desk soak --gui`: the soak inside the real app, run as a user runs it (a separate process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def _soak(tmp_path: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "XDG_DATA_HOME": str(tmp_path / "data")}
    return subprocess.run([sys.executable, "-m", "vision_desk.cli", "soak", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.mark.slow  # about 40 s: the app's start and half a minute of frames
def test_a_soak_in_the_app_samples_painted_frames_and_the_gui_threads_lateness(tmp_path: Path) -> None:
    report, picture = tmp_path / "soak.json", tmp_path / "end.png"
    done = _soak(tmp_path, "demo:?fps=15", "--gui", "--minutes", "0.5", "--interval", "3", "--warmup", "6",
                 "--report", str(report), "--screenshot", str(picture))
    assert done.returncode in (0, 1), done.stderr  # 1 only when a bound is missed, which 30 s cannot judge
    assert "Traceback" not in done.stderr
    data = json.loads(report.read_text())
    samples = data["samples"]
    assert len(samples) >= 8
    # the app painted what the engine analysed: frames on screen grow with the analysed ones
    assert samples[-1]["frames_shown"] > samples[1]["frames_shown"] > 0
    assert samples[-1]["frames_shown"] >= 0.5 * (samples[-1]["frames"] - samples[1]["frames"])
    assert all(s["gui_late_max_ms"] is not None and s["gui_late_max_ms"] >= 0 for s in samples)
    assert all(s["source_state"] == "running" for s in samples)
    verdict = data["verdict"]
    assert verdict["gui_late_max_ms"] == max(s["gui_late_max_ms"] for s in samples if s["t_s"] >= 6)
    assert "GUI event loop: at most" in done.stderr and "memory:" in done.stderr
    assert picture.stat().st_size > 10_000  # the window as it was at the end


WALL = """name: two demos
rows: 1
cols: 2
tiles:
- {row: 0, col: 0, source: "demo:?fps=10", pipeline: {name: blur, stages: [{stage: blur, params: {ksize: 5}}]}}
- {row: 0, col: 1, source: "demo:?fps=10", pipeline: {name: gray, stages: [{stage: grayscale}]}}
"""


@pytest.mark.slow  # about 40 s, as above
def test_a_soak_of_a_wall_samples_every_tile(tmp_path: Path) -> None:
    layout, report = tmp_path / "two.yaml", tmp_path / "wall.json"
    layout.write_text(WALL)
    done = _soak(tmp_path, "--gui", "--layout", str(layout), "--minutes", "0.5", "--interval", "3", "--warmup", "6",
                 "--report", str(report))
    assert done.returncode in (0, 1), done.stderr
    assert "Traceback" not in done.stderr and f"soak: the wall {layout} in the app" in done.stderr
    data = json.loads(report.read_text())
    samples = data["samples"]
    assert len(samples) >= 8 and data["pipeline"] == "each tile's own"
    # both tiles' engines in every sample, counted by state (one tile alone would read "running")
    assert all(s["source_state"] == "2 running" for s in samples[1:]), [s["source_state"] for s in samples]
    assert samples[-1]["frames_shown"] > samples[1]["frames_shown"] > 0
    assert samples[-1]["frames"] > samples[1]["frames"]


def test_soak_options_that_do_not_fit_the_app_are_one_sentence(tmp_path: Path) -> None:
    done = _soak(tmp_path, "demo:", "--gui", "--minutes", "1", "--set", "motion.min_area=5", timeout=60)
    assert done.returncode == 2 or done.returncode == 1
    assert "--set is not taken with --gui" in done.stderr and "Traceback" not in done.stderr
    done = _soak(tmp_path, "demo:", "--minutes", "1", "--screenshot", "x.png", timeout=60)
    assert "--screenshot needs --gui" in done.stderr and "Traceback" not in done.stderr
    (tmp_path / "bad.yaml").write_text("name: bad\nrows: 0\ncols: 2\ntiles: []\n")
    for args, sentence in ((["--layout", "x.yaml"], "--layout needs --gui"),
                           (["demo:", "--gui", "--layout", "x.yaml"], "--layout brings its own sources"),
                           (["--gui"], "give a SOURCE to soak"),
                           (["--gui", "--layout", str(tmp_path / "bad.yaml")], f"{tmp_path / 'bad.yaml'}: field 'rows'")):
        done = _soak(tmp_path, *args, "--minutes", "1", timeout=60)
        assert done.returncode != 0 and sentence in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
