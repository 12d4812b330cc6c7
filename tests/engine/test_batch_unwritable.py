"""The output folder becomes unwritable mid-batch: that file fails with one sentence, the others go on.

Tests run as root in CI, and root ignores permission bits, so the folder is
made unwritable by whatever really stops this process: ``chmod 0o500`` for a
normal user; for root the immutable attribute (``chattr +i``, which stops root
too) where the filesystem has it, else the folder is replaced by a file of the
same name (a disk unmounted under a mount point fails the same way).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.media import moving_object_frames, write_clip
from vision_desk.engine.batch import run_batch
from vision_desk.engine.pipeline import spec_from_dict


def make_unwritable(folder: Path, how: str) -> str:
    """Makes ``folder`` unwritable to this process for real (``how``: "denied" by the system, or replaced by a
    "file"); returns the mechanism used, for :func:`undo`."""
    if how == "denied" and os.geteuid() != 0:
        folder.chmod(0o500)
        return "chmod"
    if how == "denied" and shutil.which("chattr") and subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0:
        try:
            (folder / ".probe").touch()
        except OSError:
            return "chattr"
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    shutil.rmtree(folder)
    folder.write_text("not a folder\n")
    return "file"


def undo(folder: Path, how: str) -> None:
    if how == "chmod":
        folder.chmod(0o700)
    elif how == "chattr":
        subprocess.run(["chattr", "-i", str(folder)], check=True)


@pytest.fixture()
def inputs(tmp_path: Path) -> Path:
    frames, _ = moving_object_frames(20, size=(160, 96), radius=8)
    for name in ("cams/one.mp4", "cams/two.mp4", "zeta.mp4"):
        write_clip(tmp_path / "in" / name, frames)
    return tmp_path / "in"


@pytest.mark.parametrize("how", ["denied", "file"])
def test_a_folder_that_turns_unwritable_fails_only_its_file(how: str, inputs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    done: list[str] = []
    used = ""

    def on_item_done(item) -> None:  # noqa: ANN001
        nonlocal used
        done.append(f"{item.rel} {item.status}")
        if str(item.rel) == "cams/one.mp4":
            used = make_unwritable(out / "cams", how)

    spec = spec_from_dict({"name": "edges", "stages": [{"stage": "canny"}]})
    try:
        summary = run_batch(inputs, spec, out, recursive=True, workers=1, on_item_done=on_item_done)
    finally:
        undo(out / "cams", used)
    assert done == ["cams/one.mp4 done", "cams/two.mp4 failed", "zeta.mp4 done"]
    assert summary.count("done") == 2 and summary.count("failed") == 1  # the command exits 1 for a failed file
    reason = {"chmod": "Permission denied", "chattr": "Operation not permitted", "file": "File exists"}[used]
    assert summary.failed[0].error == (
        f"cannot write the outputs of cams/two.mp4 in {out / 'cams'}: {reason}; make the folder writable (or free "
        "some space) and run the batch again with --resume to finish it.")
    assert (out / "zeta.mp4").stat().st_size > 0 and (out / "zeta.jsonl").stat().st_size > 0
    if used != "file":
        assert sorted(p.name for p in (out / "cams").iterdir()) == ["one.jsonl", "one.mp4"]  # no half-written file
