"""Edits made within one frame all land, on the stage they name, at the next frame (issue 19, defect 1).

Each test runs a real engine on the demo source through a pipeline that
starts with the hold stage: the engine waits inside a frame, as it does in a
slow stage, while the test edits; then the gate opens and the next frame
applies everything at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.holding import Gate, gate, wait_until  # noqa: F401 - gate is a fixture
from vision_desk.engine.pipeline import Pipeline, spec_from_dict
from vision_desk.engine.runner import Engine
from vision_desk.errors import PipelineError


@pytest.fixture
def held(gate: Gate) -> Iterator[Callable[..., Pipeline]]:
    """Starts an engine through [hold, *stages] and returns its pipeline once the engine waits inside the first frame."""
    engines: list[Engine] = []

    def start(*stages: str) -> Pipeline:
        pipeline = Pipeline(spec_from_dict({"stages": [{"stage": s} for s in ("test_hold", *stages)]}))
        engines.append(Engine("demo:?fps=5", pipeline, annotate=False).start())
        wait_until(lambda: gate.holding, "the engine to wait inside its first frame")
        return pipeline

    yield start
    gate.release()
    for engine in engines:
        engine.stop()
        assert engine.join(30), "the engine did not stop"
        assert engine.error is None, engine.error


def running(pipeline: Pipeline) -> list[str]:
    return [s.stage for s in pipeline.spec().stages]


def params(pipeline: Pipeline, stage: str) -> dict[str, Any]:
    (found,) = [s.params for s in pipeline.spec().stages if s.stage == stage]
    return found


def test_a_parameter_set_just_after_adding_a_stage_reaches_its_stage(held, gate: Gate) -> None:
    pipeline = held("blur", "canny")
    _, _, canny = pipeline.slot_ids()
    pipeline.insert(2, "grayscale")  # canny is now fourth in the chain as edited, third in the one running
    pipeline.set_params(canny, high=700)
    gate.release()
    wait_until(lambda: running(pipeline) == ["test_hold", "blur", "grayscale", "canny"], "grayscale to be added")
    assert params(pipeline, "canny") == {"low": 50, "high": 700}


def test_a_parameter_set_just_after_moving_a_stage_reaches_it(held, gate: Gate) -> None:
    pipeline = held("blur", "morphology")
    _, _, morphology = pipeline.slot_ids()
    pipeline.move(morphology, 1)
    pipeline.set_params(morphology, ksize=21)  # blur, at that position a moment ago, has a ksize too
    gate.release()
    wait_until(lambda: running(pipeline) == ["test_hold", "morphology", "blur"], "morphology to move up")
    assert params(pipeline, "morphology")["ksize"] == 21
    assert params(pipeline, "blur")["ksize"] == 5


def test_a_parameter_set_just_after_removing_the_stage_before_reaches_its_stage(held, gate: Gate) -> None:
    pipeline = held("gamma", "blur")
    _, gamma, blur = pipeline.slot_ids()
    pipeline.remove(gamma)
    pipeline.set_params(blur, ksize=31)
    gate.release()
    wait_until(lambda: running(pipeline) == ["test_hold", "blur"], "gamma to be removed")
    assert params(pipeline, "blur")["ksize"] == 31


def test_two_parameters_set_within_one_frame_both_land(held, gate: Gate) -> None:
    pipeline = held("canny")
    _, canny = pipeline.slot_ids()
    pipeline.set_params(canny, high=600)
    pipeline.set_params(canny, low=400)
    gate.release()
    wait_until(lambda: params(pipeline, "canny")["low"] == 400, "the edits to land")
    assert params(pipeline, "canny") == {"low": 400, "high": 600}


def test_edits_are_checked_at_once_against_the_edits_before_them(held, gate: Gate) -> None:
    """A bad value raises in the caller's thread, naming the stage where the edits so far put it."""
    pipeline = held("blur")
    _, blur = pipeline.slot_ids()
    canny = pipeline.insert(1, "canny")
    with pytest.raises(PipelineError, match=r"^stage 2 'canny': parameter 'low' input should be less than or equal to 1000"):
        pipeline.set_params(canny, low=5000)
    pipeline.set_params(canny, low=10)  # the stage exists for edits before the engine has it
    pipeline.remove(blur)
    with pytest.raises(PipelineError, match="no stage with slot id"):
        pipeline.set_params(blur, ksize=9)
    gate.release()
    wait_until(lambda: running(pipeline) == ["test_hold", "canny"], "the edits to land")
    assert params(pipeline, "canny") == {"low": 10, "high": 150}
    assert [row["id"] for row in pipeline.stage_rows()] == pipeline.slot_ids()
