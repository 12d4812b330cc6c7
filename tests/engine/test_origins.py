"""Where a frame's results come from: ResultOrigin on the frame, and in the JSONL export of live runs only."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.media import moving_object_frames, write_clip
from vision_desk.engine.frame import Frame, ResultOrigin
from vision_desk.engine.params import StageParams, param
from vision_desk.engine.pipeline import Pipeline, spec_from_dict
from vision_desk.engine.runner import Engine
from vision_desk.engine.sinks.export import JsonlSink
from vision_desk.engine.stage import Stage


def test_an_origin_is_fresh_on_its_own_frame_and_ages_by_capture_time() -> None:
    image = np.zeros((4, 4, 3), np.uint8)
    first, later = Frame(image, 7, 0.0, capture_time=20.0), Frame(image, 9, 0.1, capture_time=20.25)
    origin = first.mark("detect")
    assert origin == ResultOrigin("detect", 7, 20.0) and first.origin("detect") is origin
    assert origin.fresh_on(first) and origin.age_ms(first) == 0.0
    assert later.mark("detect", origin) is origin and later.origin("detect") is origin
    assert not origin.fresh_on(later) and origin.age_ms(later) == pytest.approx(250.0)
    assert later.origin("faces") is None  # that stage put nothing here


def test_a_seek_back_to_the_same_index_is_a_new_frame() -> None:
    image = np.zeros((4, 4, 3), np.uint8)
    origin = Frame(image, 5, 0.2, capture_time=1.0).mark("ocr")
    again = Frame(image, 5, 0.2, capture_time=3.0)
    assert not origin.fresh_on(again) and origin.age_ms(again) == pytest.approx(2000.0)


class BrightnessParams(StageParams):
    every: int = param(3, ge=1, le=10, help="Measure every N-th frame; the frames between reuse the last value.")


class BrightnessStage(Stage):
    """Measures the mean brightness every N-th frame and carries it in between, as detect and faces do."""

    id = "test_brightness"
    title = "Carried brightness (tests)"
    category = "Tests"
    Params = BrightnessParams
    values = {"brightness": "Mean pixel value of the frame measured last."}

    def __init__(self, params: StageParams | None = None) -> None:
        super().__init__(params)
        self.reset()

    def reset(self) -> None:
        self._count = 0
        self._last: tuple[float, ResultOrigin] | None = None

    def process(self, frame: Frame) -> None:
        if self._count % self.params.every == 0:
            self._last = (round(float(frame.image.mean()), 3), frame.mark(self.id))
        else:
            frame.mark(self.id, self._last[1])
        self._count += 1
        frame.values["brightness"] = self._last[0]


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    frames, _ = moving_object_frames(30, size=(320, 180), radius=15, speed=6, start=20)
    return write_clip(tmp_path_factory.mktemp("origins") / "moving30.mp4", frames)


def export(clip: Path, out: Path, live: bool) -> list[dict]:
    pipeline = Pipeline(spec_from_dict({"stages": [{"stage": "test_brightness"}]}))
    Engine(str(clip), pipeline, sinks=[JsonlSink(out)], live=live).run()
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_lossless_exports_leave_origins_out_and_repeat_byte_for_byte(clip: Path, tmp_path: Path) -> None:
    records = export(clip, tmp_path / "a.jsonl", live=False)
    assert [r["frame"] for r in records] == list(range(30))
    assert all(set(r) == {"frame", "time", "objects", "values"} for r in records)
    assert all(r["values"] == {"brightness": records[r["frame"] - r["frame"] % 3]["values"]["brightness"]} for r in records)
    export(clip, tmp_path / "b.jsonl", live=False)
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()


def test_live_exports_name_the_frame_each_result_came_from_and_its_age(clip: Path, tmp_path: Path) -> None:
    records = export(clip, tmp_path / "live.jsonl", live=True)
    # a live run loads its stages in the background, so on a busy machine the first frames may go by before
    # the stage is ready; from its first result on, every frame carries one
    ready = [k for k, r in enumerate(records) if "test_brightness" in r.get("origins", {})]
    assert ready, "the stage measured some frames"
    records = records[ready[0]:]
    processed = [r["frame"] for r in records]
    for k, r in enumerate(records):
        origin = r["origins"]["test_brightness"]
        assert origin["frame"] == processed[k - k % 3], "measured on every third frame processed (a live run may drop some)"
        assert origin["age_ms"] >= 0 and (origin["frame"] != r["frame"] or origin["age_ms"] == 0)
