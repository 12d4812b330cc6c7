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


def _outputs(out: Path) -> dict[str, bytes | int]:
    """Every output of a batch: JSONL files by content, videos by decoded frame count, images by pixels."""
    found: dict[str, bytes | int] = {}
    for path in sorted(out.rglob("*")):
        key = str(path.relative_to(out))
        if path.suffix == ".jsonl":
            found[key] = path.read_bytes()
        elif path.suffix == ".mp4":
            found[key] = frames_in(path)
        elif path.suffix == ".png":
            found[key] = cv2.imread(str(path)).tobytes()
    return found


def test_two_workers_give_what_one_gives(batch_dir: Path, tmp_path: Path) -> None:
    """Files in two worker processes: the same outputs, statuses and error sentences as one process."""
    one = run_batch(batch_dir, SPEC, tmp_path / "one", recursive=True, workers=1)
    done = []
    two = run_batch(batch_dir, SPEC, tmp_path / "two", recursive=True, workers=2, on_item_done=done.append)
    assert [(i.rel, i.status, i.error, i.frames) for i in two.items] == [(i.rel, i.status, i.error, i.frames) for i in one.items]
    assert sorted(str(i.rel) for i in done) == sorted(str(i.rel) for i in two.items)  # each reported once
    assert _outputs(tmp_path / "two") == _outputs(tmp_path / "one")
    assert not [p for p in (tmp_path / "two").rglob("*") if ".part" in p.name]


def test_workers_resume_and_auto(batch_dir: Path, tmp_path: Path) -> None:
    from vision_desk.engine.batch import auto_workers

    out = tmp_path / "out"
    run_batch(batch_dir, SPEC, out, workers=2)  # the top folder only: a_good, c_photo and the bad ones
    again = run_batch(batch_dir, SPEC, out, recursive=True, resume=True, workers="auto")
    status = {str(i.rel): str(i.status) for i in again.items}
    assert status["a_good.mp4"] == status["c_photo.png"] == "skipped" and status["sub/b_good.mp4"] == "done"
    assert frames_in(out / "sub" / "b_good.mp4") == 25
    assert auto_workers(100, cores=16) == 16 and auto_workers(3, cores=16) == 3 and auto_workers(0, cores=4) == 1
    assert auto_workers(100, cores=16, gpus=2) == 2 and auto_workers(1, cores=16, gpus=2) == 1


def test_a_pipeline_wants_a_gpu_when_a_stage_device_is_not_cpu() -> None:
    from vision_desk.engine.batch import wants_gpu
    from vision_desk.engine.batch_ray import gpus_per_task

    detect = spec_from_dict({"name": "d", "stages": [{"stage": "detect", "params": {}}]})  # device auto
    on_cpu = spec_from_dict({"name": "d", "stages": [{"stage": "detect", "params": {"device": "cpu"}}]})
    assert wants_gpu(detect) and not wants_gpu(on_cpu) and not wants_gpu(SPEC)
    assert gpus_per_task(detect, 4.0) == 1.0 and gpus_per_task(detect, 0.0) == 0.0 and gpus_per_task(SPEC, 4.0) == 0.0


def test_mot_files_written_by_track_are_complete_per_file_in_workers(batch_dir: Path, tmp_path: Path) -> None:
    mot = tmp_path / "mot"
    spec = spec_from_dict({"stages": [{"stage": "motion", "params": {"min_area": 300}},
                                      {"stage": "track", "params": {"source": "motion", "mot_path": str(mot / "{source}.txt")}}]})
    one = run_batch(batch_dir, spec, tmp_path / "one", recursive=True, workers=1, video=False)
    first = {p.name: p.read_text() for p in mot.iterdir()}
    shutil.rmtree(mot)
    two = run_batch(batch_dir, spec, tmp_path / "two", recursive=True, workers=2, video=False)
    assert one.count("done") == two.count("done") == 3
    assert {p.name: p.read_text() for p in mot.iterdir()} == first  # renamed as each file finished, none left .part
    assert {"a_good.txt", "b_good.txt"} <= set(first) and first["a_good.txt"].count("\n") > 10


def test_a_killed_worker_fails_its_files_with_a_sentence_and_resume_finishes_them(tmp_path: Path) -> None:
    import multiprocessing
    import os
    import signal

    src = tmp_path / "in"
    frames, _ = moving_object_frames(600, size=(320, 180), radius=15, speed=0)  # long enough to be killed mid-way
    for name in ("a", "b", "c"):
        write_clip(src / f"{name}.mp4", frames)
    killed = []
    # only the batch's own workers: this process may have other children (the faces stage's dlib worker)
    others = {child.pid for child in multiprocessing.active_children()}

    def kill_a_worker(progress) -> None:  # noqa: ANN001 - BatchProgress
        workers = [child for child in multiprocessing.active_children() if child.pid not in others]
        if not killed and progress.frame > 0 and workers:
            os.kill(workers[0].pid, signal.SIGKILL)
            killed.append(workers[0].pid)

    out = tmp_path / "out"
    first = run_batch(src, SPEC, out, workers=2, on_progress=kill_a_worker)
    assert killed
    failed = first.failed
    assert failed and all("worker process stopped before finishing" in i.error and "--resume" in i.error for i in failed)
    again = run_batch(src, SPEC, out, workers=2, resume=True)
    assert again.count("failed") == 0 and again.count("done") == len(failed)
    for name in ("a", "b", "c"):
        assert len((out / f"{name}.jsonl").read_text().splitlines()) == 600 and frames_in(out / f"{name}.mp4") == 600
    assert [p.name for p in out.iterdir() if ".part" in p.name] == []  # what the killed worker left was redone


def test_a_list_of_files_and_web_videos(web_base: str, tmp_path: Path) -> None:
    frames, _ = moving_object_frames(15, size=(320, 180), radius=15)
    write_clip(tmp_path / "in" / "local.mp4", frames)
    listing = tmp_path / "in" / "sources.txt"
    listing.write_text(f"# what to process\nlocal.mp4\n\n{web_base}/video.html\n{web_base}/hls/master.m3u8?height=200\n"
                       f"web:{web_base}/novideo.html\n{web_base}/video.html\n{web_base}/live/index.m3u8\n")
    out = tmp_path / "out"
    summary = run_batch(listing, SPEC, out, workers=1)
    assert [i.status for i in summary.items] == ["done", "done", "done", "failed", "failed"]  # the repeat only once
    local, page, hls, novideo, live = summary.items
    assert (frames_in(out / "local.mp4"), frames_in(page.outputs[0]), frames_in(hls.outputs[0])) == (15, 20, 30)
    with av.open(str(hls.outputs[0])) as container:
        assert container.streams.video[0].height == 180  # ?height= in a list too
    assert page.outputs[0].parent == out and page.outputs[0].name.endswith("-video-html.mp4")
    assert len(page.outputs[1].read_text().splitlines()) == 20
    assert novideo.error.startswith("no video found at") and "live broadcast" in live.error
    assert not novideo.outputs[0].exists() and not live.outputs[0].exists() and not live.outputs[1].exists()
    again = run_batch(listing, SPEC, out, workers=1, resume=True)  # the names come from the URLs: stable
    assert [i.status for i in again.items][:3] == ["skipped"] * 3


def test_a_list_naming_a_live_stream_is_refused_with_a_sentence(tmp_path: Path) -> None:
    from vision_desk.errors import VisionDeskError

    listing = tmp_path / "list.txt"
    listing.write_text("rtsp://viewer:s3cret@127.0.0.1/cam\n")
    with pytest.raises(VisionDeskError, match="never ends") as err:
        run_batch(listing, SPEC, tmp_path / "out")
    assert "s3cret" not in str(err.value)
