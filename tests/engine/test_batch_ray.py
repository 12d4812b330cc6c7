"""Batch on a real two-node Ray cluster (head and worker node on loopback): same outputs, retries, --resume."""

from __future__ import annotations

import ipaddress
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.engine.test_batch import SPEC, _outputs, frames_in
from tests.media import moving_object_frames, write_clip
from vision_desk.engine.batch import ItemStatus, run_batch

pytestmark = [pytest.mark.cluster, pytest.mark.slow]
ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def cluster():
    from vision_desk.benchmarks.ray_cluster import RayCluster

    started = RayCluster(cpus=1)
    saved = started.use_here()  # this process is the driver: it needs the token too
    try:
        started.start()
        yield started
    finally:
        ray.shutdown()
        started.stop()
        started.restore(saved)


@pytest.fixture()
def long_clips(tmp_path: Path) -> Path:
    """Three clips long enough (480 frames) for a worker to be killed in the middle of one, even on a fast machine."""
    src = tmp_path / "long"
    frames, _ = moving_object_frames(480, size=(320, 180), radius=15, speed=1)
    for name in ("one", "two", "three"):
        write_clip(src / f"{name}.mp4", frames)
    return src


def _no_leftovers(out: Path) -> list[str]:
    return [p.name for p in out.rglob("*") if ".part" in p.name]


def test_ray_batch_gives_what_one_process_gives(cluster, batch_dir: Path, tmp_path: Path) -> None:
    here = run_batch(batch_dir, SPEC, tmp_path / "here", recursive=True, workers=1)
    seen = []
    on_ray = run_batch(batch_dir, SPEC, tmp_path / "ray", recursive=True, ray=cluster.address,
                       on_progress=seen.append)
    assert {str(i.rel): i.status for i in on_ray.items} == {str(i.rel): i.status for i in here.items}
    assert on_ray.count(ItemStatus.FAILED) == 3  # the truncated, empty and text files, each with its sentence
    assert {str(i.rel): i.error for i in on_ray.failed} == {str(i.rel): i.error for i in here.failed}
    assert _outputs(tmp_path / "ray") == _outputs(tmp_path / "here")
    assert _no_leftovers(tmp_path / "ray") == []
    assert seen and max(p.frame for p in seen) > 0  # the workers' progress reached the driver
    nodes = [n for n in ray.nodes() if n["Alive"]]
    assert len(nodes) == 2 and all(ipaddress.ip_address(n["NodeManagerAddress"]).is_loopback for n in nodes)


def test_a_worker_killed_mid_file_is_retried_and_each_output_written_once(cluster, long_clips: Path,
                                                                           tmp_path: Path) -> None:
    killed: list[int] = []

    def kill_one_worker(progress) -> None:  # noqa: ANN001
        if not killed and 0 < progress.frame < 400:
            for pid in cluster.worker_pids("_run_item"):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                break

    out = tmp_path / "out"
    summary = run_batch(long_clips, SPEC, out, ray=cluster.address, on_progress=kill_one_worker)
    assert killed, "no Ray worker was seen running a file"
    assert summary.count(ItemStatus.DONE) == 3, [i.error for i in summary.items]
    for name in ("one", "two", "three"):
        assert frames_in(out / f"{name}.mp4") == 480
        lines = (out / f"{name}.jsonl").read_text().splitlines()
        assert len(lines) == 480  # the retried file's results once, not a second copy appended
    assert _no_leftovers(out) == []


def test_resume_after_the_driver_is_killed_finishes_only_what_is_missing(cluster, long_clips: Path,
                                                                         tmp_path: Path) -> None:
    out = tmp_path / "out"
    pipeline = tmp_path / "motion.yaml"
    pipeline.write_text(yaml.safe_dump(SPEC.as_dict()))
    driver = subprocess.Popen([sys.executable, "-m", "vision_desk.cli", "batch", str(long_clips), "-p", str(pipeline),
                               "--out", str(out), "--ray", cluster.address],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=os.environ.copy())
    deadline = time.monotonic() + 180
    while not list(out.glob("*.jsonl")) and driver.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    driver.kill()
    driver.wait(30)
    finished = {p.stem for p in out.glob("*.jsonl")}
    assert finished, f"the driver finished nothing before it was killed: {driver.stderr.read()[-800:]!r}"

    again = run_batch(long_clips, SPEC, out, resume=True, ray=cluster.address)
    status = {i.rel.stem: i.status for i in again.items}
    assert {name for name, s in status.items() if s == ItemStatus.SKIPPED} == finished
    assert all(s in (ItemStatus.SKIPPED, ItemStatus.DONE) for s in status.values()), status
    here = run_batch(long_clips, SPEC, tmp_path / "here", workers=1)
    assert here.count(ItemStatus.DONE) == 3
    assert _outputs(out) == _outputs(tmp_path / "here")
    assert _no_leftovers(out) == []


def test_an_unreachable_cluster_is_one_sentence(tmp_path: Path, long_clips: Path) -> None:
    from vision_desk.benchmarks.servers.rtsp import free_port

    pipeline = tmp_path / "motion.yaml"
    pipeline.write_text(yaml.safe_dump(SPEC.as_dict()))
    address = f"127.0.0.2:{free_port()}"
    result = subprocess.run([sys.executable, "-m", "vision_desk.cli", "batch", str(long_clips), "-p", str(pipeline),
                             "--out", str(tmp_path / "out"), "--ray", address], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: cannot reach the Ray cluster at {address} (Connection refused); start its head with "
                      "`ray start --head` and give the address it prints, or check the host and port."]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_a_long_file_cut_into_segments_on_ray_gives_the_whole_file_export(cluster, tmp_path: Path) -> None:
    from tests.engine.test_batch_segments import CONTOURS

    frames, _ = moving_object_frames(300, size=(320, 180), radius=15, speed=1)
    write_clip(tmp_path / "in" / "long.mp4", frames, gop=30)
    whole = run_batch(tmp_path / "in", CONTOURS, tmp_path / "whole", workers=1)
    cut = run_batch(tmp_path / "in", CONTOURS, tmp_path / "cut", ray=cluster.address, segment_seconds=3.0)
    assert whole.items[0].status == cut.items[0].status == ItemStatus.DONE
    assert (tmp_path / "cut" / "long.jsonl").read_bytes() == (tmp_path / "whole" / "long.jsonl").read_bytes()
    assert frames_in(tmp_path / "cut" / "long.mp4") == 300
    assert sorted(p.name for p in (tmp_path / "cut").iterdir()) == ["long.jsonl", "long.mp4"]
