"""Nothing is sent behind the user's back: OpenVINO's converter writes no client id and counts no use in Vision Desk."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: A real conversion, as Ultralytics' OpenVINO export and the teach export run it (a small network: seconds).
CONVERT = """
import sys
if sys.argv[1] == "vision_desk":
    import vision_desk  # noqa: F401
import openvino as ov
import torch

model = ov.convert_model(torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU()),
                         example_input=torch.zeros(1, 3, 16, 16))
print("channels", model.outputs[0].get_partial_shape()[1].get_length())
"""


def convert_in(home: Path, first: str) -> list[str]:
    """Runs the conversion in a fresh process whose home folder is ``home``; returns what it left there."""
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "PYTHONPATH": str(ROOT)}
    env.pop("CI", None)  # OpenVINO's telemetry stays silent under CI=true: test what a user's machine does
    done = subprocess.run([sys.executable, "-c", CONVERT, first], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "channels 4" in done.stdout  # it really converted
    return sorted(str(p.relative_to(home)) for p in home.rglob("*"))


def test_openvino_conversion_in_vision_desk_writes_no_telemetry_id(tmp_path: Path) -> None:
    without = convert_in(tmp_path / "plain", "openvino")
    if not without:
        pytest.skip("this OpenVINO writes no telemetry files even outside Vision Desk; nothing to block")
    assert "intel/openvino_ga_cid" in without  # the client id OpenVINO's telemetry sends with its events
    assert convert_in(tmp_path / "vision_desk", "vision_desk") == []
