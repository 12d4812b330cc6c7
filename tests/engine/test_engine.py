"""The engine: lossless counts, bounded live latency, live edits, failing stages, pause/step/seek."""

from __future__ import annotations

import json
import time
from pathlib import Path

import av
import numpy as np
import pytest

from vision_desk.engine.frame import Frame
from vision_desk.engine.params import StageParams, param
from vision_desk.engine.pipeline import Pipeline, spec_from_dict
from vision_desk.engine.runner import Engine
from vision_desk.engine.sinks.export import JsonlSink
from vision_desk.engine.sinks.recorder import RecorderSink
from vision_desk.engine.stage import REGISTRY, Stage
from vision_desk.errors import VisionDeskError


class SlowParams(StageParams):
    ms: int = param(100, ge=0, le=5000, help="sleep per frame")


class SlowStage(Stage):
    """A stage slower than the source (sleeps), to test the live policy."""

    id = "test_slow"
    Params = SlowParams

    def process(self, frame: Frame) -> None:
        time.sleep(self.params.ms / 1000)


class BrokenStage(Stage):
    id = "test_broken"

    def process(self, frame: Frame) -> None:
        raise ValueError("boom")


@pytest.fixture(autouse=True)
def _unregister_test_stages():
    yield
    for sid in ("test_slow", "test_broken"):
        REGISTRY.setdefault(sid, {"test_slow": SlowStage, "test_broken": BrokenStage}[sid])


def decode_count(path: Path) -> tuple[int, float]:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        n = sum(1 for _ in c.decode(s))
        return n, float(s.average_rate or 0)


def test_lossless_300_frames_exports_and_records_300(clip_300: Path, tmp_path: Path) -> None:
    export, video = tmp_path / "out.jsonl", tmp_path / "out.mp4"
    pipeline = Pipeline(spec_from_dict({"stages": [{"stage": "motion"}]}))
    stats = Engine(str(clip_300), pipeline, sinks=[JsonlSink(export), RecorderSink(video, None)], live=False).run()
    assert stats.frames_out == 300 and stats.dropped == 0
    lines = [json.loads(line) for line in export.read_text().splitlines()]
    assert [rec["frame"] for rec in lines] == list(range(300))
    assert set(lines[0]) >= {"frame", "time", "objects", "values"}
    # the moving disc is found as motion once the background model has settled
    assert sum(1 for rec in lines[30:] if rec["objects"]) > 200
    n, rate = decode_count(video)
    assert n == 300 and rate == pytest.approx(30, abs=0.01)


def test_live_latency_stays_bounded_with_a_slow_stage() -> None:
    """Demo at 30 fps through a 100 ms stage: frames are dropped, age does not grow.

    Ages are compared with the stage's own measured time, not with a number of
    seconds, so a loaded machine (where the stage takes longer) holds the test too.
    """
    ages = []

    def on_frame(frame: Frame) -> None:
        ages.append(time.perf_counter() - frame.capture_time)

    pipeline = Pipeline(spec_from_dict({"stages": [{"stage": "test_slow", "params": {"ms": 100}}]}))
    stats = Engine("demo:", pipeline, on_frame=on_frame, max_frames=25, annotate=False).run()
    assert stats.dropped > 0
    assert len(ages) == 25
    stage_s = stats.stages[0]["max_ms"] / 1000.0
    # A frame waits at most one stage time for the stage to be free, then takes one; a queue that kept every
    # frame would make the 25th about 25 stage times old.
    assert max(ages) < 3 * stage_s
    assert np.mean(ages[-5:]) < np.mean(ages[:5]) + stage_s  # the last ones are no older than the first ones


def test_lossless_slow_stage_drops_nothing(clip_300: Path) -> None:
    pipeline = Pipeline(spec_from_dict({"stages": [{"stage": "test_slow", "params": {"ms": 2}}]}))
    frames = []
    Engine(str(clip_300), pipeline, on_frame=frames.append, max_frames=60, annotate=False).run()
    assert [f.index for f in frames] == list(range(60))


def test_params_change_while_running(clip_300: Path) -> None:
    pipeline = Pipeline(spec_from_dict({"stages": [{"stage": "threshold", "params": {"value": 255}}]}))
    (threshold,) = pipeline.slot_ids()
    seen = []

    def on_frame(frame: Frame) -> None:
        seen.append(float(frame.image.mean()))
        if len(seen) == 5:
            pipeline.set_params(threshold, value=0)

    Engine(str(clip_300), pipeline, on_frame=on_frame, max_frames=20, annotate=False).run()
    assert seen[0] == 0.0  # nothing is above 255
    assert seen[-1] > 250  # everything is above 0
    with pytest.raises(VisionDeskError, match="parameter 'value'"):
        pipeline.set_params(threshold, value=999)


def test_structural_edits_apply_between_frames(clip_300: Path) -> None:
    pipeline = Pipeline(spec_from_dict({"stages": [{"stage": "blur"}]}))
    gray = []
    added = []

    def on_frame(frame: Frame) -> None:
        b, g, r = (frame.image[..., i].astype(int) for i in range(3))
        gray.append(bool((b == g).all() and (g == r).all()))
        if len(gray) == 3:
            added.append(pipeline.insert(1, "grayscale"))
        if len(gray) == 8:
            pipeline.set_enabled(added[0], False)

    Engine(str(clip_300), pipeline, on_frame=on_frame, max_frames=14, annotate=False).run()
    assert gray[:3] == [False] * 3 and all(gray[4:8]) and not any(gray[9:])
    assert [s.stage for s in pipeline.spec().stages] == ["blur", "grayscale"]


def test_failing_stage_stops_cli_runs_and_is_disabled_in_the_gui(clip_300: Path) -> None:
    spec = spec_from_dict({"stages": [{"stage": "test_broken"}, {"stage": "grayscale"}]})
    with pytest.raises(VisionDeskError, match="stage 'test_broken' failed on frame 0: ValueError: boom"):
        Engine(str(clip_300), Pipeline(spec), max_frames=5).run()
    pipeline = Pipeline(spec, stage_errors="disable")
    frames = []
    Engine(str(clip_300), pipeline, on_frame=frames.append, max_frames=5).run()
    assert len(frames) == 5
    rows = pipeline.stage_rows()
    assert rows[0]["enabled"] is False and "boom" in rows[0]["error"]


def test_pause_step_and_seek(clip_300: Path) -> None:
    """Started paused, the engine shows nothing until a step, then exactly the frames asked for.

    Frames are delivered in order by one thread, so each later request (a seek) orders the stream: a frame
    shown out of turn would appear before the one sought. No sleep stands in for "nothing happened".
    """
    frames = []
    engine = Engine(str(clip_300), Pipeline(), on_frame=frames.append, realtime=True, annotate=False)
    engine.pause()
    engine.start()

    def wait(what: str, condition) -> None:  # noqa: ANN001
        deadline = time.monotonic() + 30
        while not condition():
            assert time.monotonic() < deadline, f"waited 30 s for {what}; frames: {[f.index for f in frames]}"
            time.sleep(0.01)

    wait("the reader to deliver a frame", lambda: engine.stats().frames_in >= 1)
    engine.step()
    wait("the step", lambda: len(frames) >= 1)
    engine.seek(200)
    wait("the frame sought", lambda: frames[-1].index == 200)
    assert [f.index for f in frames] == [0, 200]
    engine.resume()
    wait("playing on", lambda: frames[-1].index >= 203)
    assert [f.index for f in frames][1:] == list(range(200, frames[-1].index + 1))
    engine.stop()
    assert engine.join(10)


