"""Batch: good files complete, bad ones are reported and skipped, --resume does not redo work."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import av
import cv2
import pytest

from tests.media import moving_object_frames, skimage_bgr, write_clip
from vision_desk.engine.batch import run_batch
from vision_desk.engine.pipeline import spec_from_dict

SPEC = spec_from_dict({"name": "motion", "stages": [{"stage": "motion", "params": {"min_area": 300}}]})


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


def frames_in(path: Path) -> int:
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


def test_batch_reports_bad_files_and_completes_good_ones(batch_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    summary = run_batch(batch_dir, SPEC, out, recursive=True)
    status = {str(i.rel): i.status for i in summary.items}
    assert status == {
        "a_good.mp4": "done", "c_photo.png": "done", "d_truncated.mp4": "failed",
        "e_empty.mp4": "failed", "f_text.mp4": "failed", "sub/b_good.mp4": "done",
    }
    errors = {str(i.rel): i.error for i in summary.failed}
    assert "empty" in errors["e_empty.mp4"]
    assert "cannot be decoded" in errors["f_text.mp4"]
    assert frames_in(out / "a_good.mp4") == 40
    assert frames_in(out / "sub" / "b_good.mp4") == 25
    assert len((out / "a_good.jsonl").read_text().splitlines()) == 40
    assert cv2.imread(str(out / "c_photo.png")).shape == skimage_bgr("chelsea").shape
    # nothing half-written is left behind, and failed inputs leave no output
    leftovers = [p.name for p in out.rglob("*") if ".part" in p.name]
    assert leftovers == []
    assert not (out / "d_truncated.mp4").exists() and not (out / "d_truncated.jsonl").exists()
    records = [json.loads(line) for line in (out / "a_good.jsonl").read_text().splitlines()]
    assert any(r["objects"] for r in records[10:])


def test_resume_skips_finished_work(batch_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.rmtree(batch_dir / "sub")
    for bad in ("d_truncated.mp4", "e_empty.mp4", "f_text.mp4"):
        (batch_dir / bad).unlink()
    first = run_batch(batch_dir, SPEC, out)
    assert first.count("done") == 2
    stamp = (out / "a_good.mp4").stat().st_mtime_ns
    (out / "c_photo.jsonl").unlink()  # an incomplete output means redo
    second = run_batch(batch_dir, SPEC, out, resume=True)
    status = {str(i.rel): i.status for i in second.items}
    assert status == {"a_good.mp4": "skipped", "c_photo.png": "done"}
    assert (out / "a_good.mp4").stat().st_mtime_ns == stamp


def test_no_video_writes_only_results(batch_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    summary = run_batch(batch_dir, SPEC, out, video=False)
    assert summary.count("done") == 2
    assert sorted(p.name for p in out.iterdir()) == ["a_good.jsonl", "c_photo.jsonl"]


def test_stateful_stages_reset_between_files(tmp_path: Path) -> None:
    """The same clip twice gives identical results: the background model starts afresh for each file."""
    frames, _ = moving_object_frames(30, size=(320, 180), radius=15)
    write_clip(tmp_path / "in" / "one.mp4", frames)
    write_clip(tmp_path / "in" / "two.mp4", frames)
    run_batch(tmp_path / "in", SPEC, tmp_path / "out", video=False)
    assert (tmp_path / "out" / "one.jsonl").read_text() == (tmp_path / "out" / "two.jsonl").read_text()
