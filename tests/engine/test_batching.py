"""The engine hands batching stages several frames at once in lossless runs, in order, and only then."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from tests.media import moving_object_frames, write_clip
from vision_desk.engine.frame import Frame
from vision_desk.engine.params import StageParams, param
from vision_desk.engine.pipeline import Pipeline, spec_from_dict
from vision_desk.engine.runner import Engine
from vision_desk.engine.sinks.export import JsonlSink
from vision_desk.engine.stage import Stage


class BatcherParams(StageParams):
    batch: int = param(4, ge=1, le=64, help="Frames wanted at once.")


class BatcherStage(Stage):
    """Records the batches it gets and writes a per-frame value that depends on every earlier frame."""

    id = "test_batcher"
    title = "Batch recorder (tests)"
    category = "Tests"
    Params = BatcherParams

    #: Set by a test: the first batch waits until it is true for the batch's length (the reader has got
    #: ahead), so that frames are waiting when the next batch is gathered, on a loaded machine as on an idle one.
    gate: Callable[[int], bool] | None = None

    def __init__(self, params: StageParams | None = None) -> None:
        super().__init__(params)
        self.batches: list[list[int]] = []
        self.total = 0

    def batch_size(self) -> int:
        return self.params.batch

    def process(self, frame: Frame) -> None:
        self.process_batch([frame])

    def process_batch(self, frames: list[Frame]) -> None:
        if not self.batches and self.gate is not None:
            deadline = time.monotonic() + 30
            while not self.gate(len(frames)):
                assert time.monotonic() < deadline, "the reader never got ahead of the first batch"
                time.sleep(0.005)
        self.batches.append([f.index for f in frames])
        for f in frames:
            self.total += int(f.image[::16, ::16].sum() % 1000)  # running state: order matters
            f.values["running"] = self.total
            f.values["mean"] = round(float(f.image.mean()), 3)


class OrderStage(Stage):
    """A plain stage (no batching): must still see every frame once, in order."""

    id = "test_order"
    title = "Order check (tests)"
    category = "Tests"

    def __init__(self, params: StageParams | None = None) -> None:
        super().__init__(params)
        self.seen: list[int] = []

    def process(self, frame: Frame) -> None:
        self.seen.append(frame.index)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    frames, _ = moving_object_frames(40, size=(320, 180), radius=15, speed=6, start=20)
    return write_clip(tmp_path_factory.mktemp("batching") / "moving40.mp4", frames)


def run(clip: Path, out: Path, batch: int, *, live: bool = False, max_frames: int | None = None,
        read_ahead: int = 0) -> tuple[Pipeline, list[dict]]:
    """Runs the clip through [test_batcher, test_order]; the first batch waits until read_ahead more frames are read."""
    pipeline = Pipeline(spec_from_dict({"stages": [{"stage": "test_batcher", "params": {"batch": batch}}, {"stage": "test_order"}]}))
    engine = Engine(str(clip), pipeline, sinks=[JsonlSink(out)], live=live, annotate=True, max_frames=max_frames, close_pipeline=False)
    pipeline.setup()
    if read_ahead:
        stages(pipeline)[0].gate = lambda taken: engine.stats().frames_in >= taken + read_ahead
    engine.run()
    return pipeline, [json.loads(line) for line in out.read_text().splitlines()]


def stages(pipeline: Pipeline) -> tuple[BatcherStage, OrderStage]:
    slots = pipeline._slots  # the test looks inside on purpose: it checks what each stage received
    return slots[0].stage, slots[1].stage


def test_lossless_batches_keep_every_frame_in_order_and_match_unbatched_output(clip: Path, tmp_path: Path) -> None:
    one, records_1 = run(clip, tmp_path / "b1.jsonl", 1, read_ahead=8)
    many, records_8 = run(clip, tmp_path / "b8.jsonl", 8, read_ahead=8)
    batcher, order = stages(many)
    flat = [i for b in batcher.batches for i in b]
    assert flat == list(range(40)) and order.seen == list(range(40))
    first = len(batcher.batches[0])
    assert batcher.batches[1] == list(range(first, first + 8)), "8 frames were waiting: the next batch takes them all"
    assert all(len(b) <= 8 for b in batcher.batches)
    assert all(len(b) == 1 for b in stages(one)[0].batches)
    assert records_8 == records_1  # same values, same order: batching changes nothing in the results
    # the monitor's timing has a sample per frame, a batch's time spread evenly over its frames
    samples = list(many._slots[0].timing.samples)
    assert len(samples) == 40 and len(set(samples[first:first + 8])) == 1 and samples[first] > 0


def test_max_frames_is_exact_with_batches(clip: Path, tmp_path: Path) -> None:
    pipeline, records = run(clip, tmp_path / "max.jsonl", 8, max_frames=13)
    assert [r["frame"] for r in records] == list(range(13))
    assert sum(len(b) for b in stages(pipeline)[0].batches) == 13


def test_live_runs_never_batch(clip: Path, tmp_path: Path) -> None:
    pipeline, records = run(clip, tmp_path / "live.jsonl", 8, live=True)
    assert records, "frames were processed"
    assert all(len(b) == 1 for b in stages(pipeline)[0].batches)


def test_default_process_batch_calls_process_in_order() -> None:
    stage = OrderStage()
    frames = [Frame(np.zeros((4, 4, 3), np.uint8), i, i / 30) for i in range(5)]
    stage.process_batch(frames)
    assert stage.seen == [0, 1, 2, 3, 4]
    assert stage.batch_size() == 1
