"""Detect stages of three streams on three threads sharing one PyTorch model: their frames go through its
batching front (frames with the same options and size as one predictor batch), and each stage gets exactly what
it gets alone. The GPU path's code, run here on the CPU."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.holding import wait_until
from tests.stages.detection.conftest import IMGSZ, SIZE, counting_movers, crossing_movers, unmatched, zone_movers
from vision_desk.benchmarks.shapes import moving_clip
from vision_desk.engine import model_pool
from vision_desk.engine.frame import Frame
from vision_desk.stages.detection.detect import DetectStage

FRAMES = 5


@pytest.mark.slow
def test_three_streams_share_one_pytorch_model_and_each_gets_its_own_results(shapes_model: Path) -> None:
    streams = {  # two alike (one predictor batch), one with other options and another frame size
        "a": (moving_clip(crossing_movers(), FRAMES, SIZE, seed=3)[0], 0.2),
        "b": (moving_clip(counting_movers(), FRAMES, SIZE, bg="moon", seed=5)[0], 0.2),
        "c": (moving_clip(zone_movers(), FRAMES, (480, 270), seed=7)[0], 0.5),
    }
    stages = {k: DetectStage(DetectStage.Params(model=str(shapes_model), backend="pytorch", imgsz=IMGSZ, confidence=conf))
              for k, (_, conf) in streams.items()}
    for stage in stages.values():
        stage.setup()
    saved = (model_pool.settings.gather_ms, model_pool.settings.active_s)
    try:
        model = stages["a"]._model
        assert all(s._model is model for s in stages.values()) and model_pool.users(model) == 3
        model_pool.configure(active_s=0.05)
        alone = {k: [detect(stages[k], image, i) for i, image in enumerate(images)] for k, (images, _) in streams.items()}
        wait_until(lambda: model_pool.snapshot(model)[0].active == 0, "this thread's runs alone to be forgotten")
        # each call waits for all three streams (a window no hiccup of a loaded machine outlasts)
        model_pool.configure(gather_ms=300, active_s=60)
        (before,) = model_pool.snapshot(model)
        together: dict[str, list] = {}
        start = threading.Barrier(len(streams))

        def stream(key: str) -> None:
            start.wait()
            together[key] = [detect(stages[key], image, i) for i, image in enumerate(streams[key][0])]

        threads = [threading.Thread(target=stream, args=(k,)) for k in streams]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        (after,) = model_pool.snapshot(model)
        assert after.requests - before.requests == 3 * FRAMES and after.largest >= 2, "no call served two streams"
        for key, (_, conf) in streams.items():
            assert len(together[key]) == FRAMES
            for i, (x, y) in enumerate(zip(alone[key], together[key])):
                assert len(x) == len(y) and unmatched(x, y, conf) == [], (key, i)
        assert all(sum(map(len, found)) >= FRAMES for found in together.values()), "too few objects to compare"
    finally:
        model_pool.configure(gather_ms=saved[0], active_s=saved[1])
        for stage in stages.values():
            stage.close()


def detect(stage: DetectStage, image, index: int):  # noqa: ANN001, ANN201 - an image in, Detections out
    frame = Frame(image, index, index / 30)
    stage.process(frame)
    return frame.detections
