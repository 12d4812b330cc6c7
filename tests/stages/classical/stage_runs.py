"""Helpers for the classical-toolbox stage tests: pipeline-file checks and real runs through the engine."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

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
    """Runs the real engine (decoder thread, processing thread, overlays) over a clip and keeps its frames."""
    frames: list[Frame] = []
    Engine(str(path), Pipeline(spec_from_dict({"stages": stages})), live=False, annotate=True,
           max_frames=max_frames, on_frame=frames.append).run()
    return frames
