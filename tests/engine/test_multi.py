"""Several streams in one process (vision_desk.engine.multi): one shared, batched detector; isolation; no thread left."""

from __future__ import annotations

import importlib
import threading
from pathlib import Path

import pytest

from tests.holding import wait_until
from tests.media import write_clip
from tests.stages.detection.conftest import IMGSZ, SIZE, committed_model, counting_movers, crossing_movers, unmatched, zone_movers
from vision_desk.benchmarks.shapes import moving_clip
from vision_desk.engine import model_pool
from vision_desk.engine.frame import Frame
from vision_desk.engine.multi import MultiEngine, output_names
from vision_desk.engine.pipeline import Pipeline, spec_from_dict
from vision_desk.engine.runner import Engine
from vision_desk.engine.stage import REGISTRY, Stage

CONFIDENCE = 0.25


@pytest.fixture(scope="module")
def shape_clips(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Three 30-frame 640x360 clips of shapes moving over a held-out photo, each a different scene."""
    folder = tmp_path_factory.mktemp("multi")
    clips = []
    for k, movers in enumerate([crossing_movers(), zone_movers(), counting_movers()]):
        frames, _ = moving_clip(movers, 30, SIZE, bg=("gravel", "moon")[k % 2], seed=k)
        clips.append(str(write_clip(folder / f"scene{k}.mp4", frames)))
    return clips


def detect_track_spec():  # noqa: ANN201 - PipelineSpec
    model = committed_model("shapes-yolo11n.pt")
    return spec_from_dict({"stages": [{"stage": "detect", "params": {"model": str(model), "imgsz": IMGSZ, "confidence": CONFIDENCE}},
                                      {"stage": "track"}]})


def quiet_threads() -> set[threading.Thread]:
    """The threads alive now, after the libraries the runs use were imported: OpenVINO starts its telemetry
    sender's thread at import, once per process, which is the library's and not a run's."""
    importlib.import_module("openvino")
    return set(threading.enumerate())


def no_thread_left(before: set[threading.Thread]) -> None:
    wait_until(lambda: set(threading.enumerate()) <= before,
               f"the run's threads to end (left: {[t.name for t in set(threading.enumerate()) - before]})")


@pytest.mark.slow
def test_shared_batched_detector_gives_each_stream_what_a_separate_run_gives(shape_clips: list[str]) -> None:
    spec = detect_track_spec()
    separate = {}
    for clip in shape_clips:
        frames: list[Frame] = []
        Engine(clip, Pipeline(spec), on_frame=frames.append, annotate=False).run()
        separate[clip] = frames
    before = quiet_threads()
    shared: dict[str, list[Frame]] = {clip: [] for clip in shape_clips}
    pool: list[model_pool.PoolRow] = []

    def on_frame(stream, frame: Frame) -> None:  # noqa: ANN001
        shared[stream.uri].append(frame)
        pool.extend(model_pool.snapshot())

    saved = model_pool.settings.gather_ms
    model_pool.configure(gather_ms=500)  # a window no scheduling hiccup of a loaded machine outlasts
    try:
        multi = MultiEngine(shape_clips, spec, on_frame=on_frame)
        multi.run()
    finally:
        model_pool.configure(gather_ms=saved)
    assert [s.error for s in multi.streams] == [None] * 3 and [s.failures for s in multi.streams] == [0] * 3
    detectors = {row.key for row in pool if "openvino-detector" in row.key}
    assert len(detectors) == 1, "the three streams did not share one loaded detector"
    assert max(row.users for row in pool if row.key in detectors) == 3
    assert max(row.largest for row in pool if row.key in detectors) >= 2, "no call served two streams at once"
    for clip in shape_clips:
        alone, together = separate[clip], shared[clip]
        assert [f.index for f in together] == [f.index for f in alone] == list(range(30))
        for a, b in zip(alone, together):
            da, db = a.detections.where(source="detect"), b.detections.where(source="detect")
            assert len(da) == len(db) and unmatched(da, db, CONFIDENCE) == [], (clip, a.index)
        assert sum(len(f.detections) for f in together) > 30, "too few objects found to compare anything"
    assert not any("openvino-detector" in r.key for r in model_pool.snapshot()), "the detector outlived its streams"
    no_thread_left(before)


class FailsOnSmallFrames(Stage):
    """Raises on frames narrower than 400 px: a stage broken by one stream's input only."""

    id = "test_fails_on_small"
    title = "Fails on small frames (test)"

    def process(self, frame: Frame) -> None:
        if frame.image.shape[1] < 400:
            raise ValueError(f"cannot handle {frame.image.shape[1]} px wide frames")
        frame.values["checked"] = True


REGISTRY.setdefault(FailsOnSmallFrames.id, FailsOnSmallFrames)


@pytest.mark.parametrize("mode", ["continue", "disable", "raise"])
def test_a_stage_that_raises_on_one_stream_acts_on_that_stream_only(tmp_path: Path, clip_300: Path, mode: str) -> None:
    """continue: the frames go on without the stage's results and it tries again; disable: it is switched off
    there; raise: that stream ends. The other stream runs its whole pipeline to the end whatever the mode."""
    frames, _ = moving_clip(zone_movers(), 12, (320, 180), seed=1)
    small = str(write_clip(tmp_path / "small.mp4", frames))
    spec = spec_from_dict({"stages": [{"stage": "test_fails_on_small"}, {"stage": "grayscale"}]})
    checked: dict[str, int] = {}

    def on_frame(stream, frame: Frame) -> None:  # noqa: ANN001
        checked[stream.name] = checked.get(stream.name, 0) + int(bool(frame.values.get("checked")))

    multi = MultiEngine([str(clip_300), small], spec, max_frames=40, on_frame=on_frame, stage_errors=mode)
    big, little = multi.streams
    stats = multi.run()
    assert stats[0].frames_out == 40 and checked[big.name] == 40
    assert big.error is None and big.failures == 0 and big.engine.pipeline.stage_rows()[0]["enabled"] is True
    assert checked.get(little.name, 0) == 0
    if mode == "raise":
        assert "320 px wide" in str(little.error) and stats[1].frames_out == 0
        return
    assert little.error is None and stats[1].frames_out == 12  # the rest of its pipeline went on
    assert little.failures == (12 if mode == "continue" else 1)
    assert "320 px wide" in str(little.engine.pipeline.errors[-1])
    assert little.engine.pipeline.stage_rows()[0]["enabled"] is (mode == "continue")


def test_output_names_are_distinct_and_carry_no_credentials() -> None:
    names = output_names(["rtsp://admin:pw@127.0.0.1:8554/cam", "demo:", "demo:", "rtsp://127.0.0.1:8554/cam",
                          "clips/gate.mp4"])
    assert names == ["127-0-0-1-8554-cam", "demo", "demo-2", "127-0-0-1-8554-cam-2", "gate"]


@pytest.mark.slow
@pytest.mark.rtsp
def test_four_cameras_demo_and_a_file_one_camera_drops_and_comes_back(clip_300: Path, tmp_path: Path) -> None:
    """Four RTSP servers, demo: and a file in one process with a shared detector: a killed server leaves the others'
    frame counts growing and its stream reconnects when it is back; every output is named after its source with
    no password in it; no thread is left after closing."""
    from vision_desk.benchmarks.servers.rtsp import RtspServer, rtsp_available

    reason = rtsp_available()
    if reason:
        pytest.skip(f"needs the RTSP server: {reason}")
    servers = [RtspServer(path=f"/cam{k}", credentials="viewer:s3cret") for k in range(4)]
    before = quiet_threads()
    for server in servers:
        server.start()
    multi = None
    try:
        sources = [s.url for s in servers] + ["demo:", str(clip_300)]
        multi = MultiEngine(sources, detect_track_spec(), export_dir=tmp_path / "out").start()
        cams, demo, file = multi.streams[:4], multi.streams[4], multi.streams[5]
        live = [*cams, demo]

        def counts() -> list[int]:
            return [s.stats().frames_out for s in live]

        wait_until(lambda: min(counts()) >= 5, "frames from every live stream")
        dropped = cams[1]
        servers[1].stop()  # the camera drops
        wait_until(lambda: dropped.stats().source_state == "reconnecting", "the dropped camera's stream to reconnect")
        start = counts()
        wait_until(lambda: all(now >= then + 10 for k, (now, then) in enumerate(zip(counts(), start)) if live[k] is not dropped),
                   "the other streams to go on while one reconnects")
        assert "s3cret" not in dropped.stats().source_message
        servers[1].start()  # and comes back
        back_from = dropped.stats().frames_out
        wait_until(lambda: dropped.stats().frames_out >= back_from + 5, "the camera's frames after it came back")
        assert dropped.stats().source_state == "running" and dropped.engine.source.status.reconnects >= 1
        wait_until(lambda: not file.engine.running, "the file to be processed to its end")
        assert file.stats().frames_out == 300 and file.error is None
    finally:
        if multi is not None:
            multi.stop()
            assert multi.join(60)
        for server in servers:
            server.stop()
    assert [s.error for s in multi.streams] == [None] * 6
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == sorted([f"127-0-0-1-{s.port}-cam{k}.jsonl" for k, s in enumerate(servers)]
                           + ["demo.jsonl", "moving300.jsonl"])
    for stream in multi.streams:
        text = stream.export.read_text()
        assert text.count("\n") >= 5 and "s3cret" not in text and "viewer" not in stream.export.name
    no_thread_left(before)
