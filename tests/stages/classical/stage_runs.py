"""Helpers for the classical-toolbox stage tests: pipeline-file checks and real runs through the engine."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from vision_desk.engine.annotate import annotate
from vision_desk.engine.frame import Frame
from vision_desk.engine.pipeline import Pipeline, spec_from_dict
from vision_desk.engine.runner import Engine
from vision_desk.errors import PipelineError


def assert_valid_entry(stage: str, params: dict[str, Any]) -> None:
    """A pipeline file entry with these parameters validates and keeps them."""
    spec = spec_from_dict({"name": "t", "stages": [{"stage": stage, "params": params}]}, "test.yaml")
    assert spec.stages[0].stage == stage
    assert spec.stages[0].params == params


def assert_invalid_entry(stage: str, params: dict[str, Any], bad: str) -> None:
    """A pipeline file entry with a bad parameter fails with a message naming the file, stage and parameter."""
    with pytest.raises(PipelineError) as err:
        spec_from_dict({"stages": [{"stage": stage, "params": params}]}, "test.yaml")
    message = str(err.value)
    # A list parameter is named with the position at fault, e.g. 'region.3'.
    assert "test.yaml" in message and f"'{stage}'" in message and re.search(rf"parameter '{bad}[.']", message), message


def entry_tests(valid: list[tuple[str, dict]], invalid: list[tuple[str, dict, str]]) -> tuple[Callable, Callable]:
    """The two table-driven pipeline-file tests of a family, to bind at module level as test_* names."""

    @pytest.mark.parametrize(("stage", "params"), valid)
    def test_valid_pipeline_entries(stage: str, params: dict[str, Any]) -> None:
        assert_valid_entry(stage, params)

    @pytest.mark.parametrize(("stage", "params", "bad"), invalid)
    def test_invalid_pipeline_entries(stage: str, params: dict[str, Any], bad: str) -> None:
        assert_invalid_entry(stage, params, bad)

    return test_valid_pipeline_entries, test_invalid_pipeline_entries


def run_frames(stages: list[dict[str, Any]], images: list[np.ndarray]) -> list[Frame]:
    """Runs a pipeline over images in order (as one video), drawing overlays like the engine does."""
    pipeline = Pipeline(spec_from_dict({"stages": stages}))
    pipeline.setup()
    frames = []
    for i, image in enumerate(images):
        frame = Frame(image=image.copy(), index=i, timestamp=i / 30.0)
        pipeline.process(frame)
        frame.annotated = annotate(frame, pipeline)
        frames.append(frame)
    pipeline.close()
    return frames


def run_clip(path: Path, stages: list[dict[str, Any]], max_frames: int) -> list[Frame]:
    """Runs the real engine (decoder thread, processing thread, overlays) over a clip and keeps its frames.

    Checks what every stage owes every frame: all frames come out, as 3-channel
    uint8 images of the clip's size, with overlays drawn.
    """
    frames: list[Frame] = []
    Engine(str(path), Pipeline(spec_from_dict({"stages": stages})), live=False, annotate=True,
           max_frames=max_frames, on_frame=frames.append).run()
    assert len(frames) == max_frames
    size = frames[0].image.shape
    for f in frames:
        assert f.image.dtype == np.uint8 and f.image.shape == size and size[2] == 3
        assert f.annotated is not None and f.annotated.shape == size
    return frames
