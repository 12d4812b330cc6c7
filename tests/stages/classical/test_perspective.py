"""The perspective stage's page finder (auto mode) on a real page scan photographed at an angle on real photos."""

from __future__ import annotations

import numpy as np
import pytest

from tests.stages.text.synth import SHEET_SIZE, page_on_table, photo
from vision_desk.engine.frame import Frame
from vision_desk.engine.pipeline import Pipeline, spec_from_dict
from vision_desk.errors import PipelineError
from vision_desk.stages.classical.perspective import find_document, order_corners

def test_order_corners_starts_top_left_and_runs_clockwise() -> None:
    shuffled = np.float32([[90, 85], [10, 12], [12, 80], [95, 8]])
    assert order_corners(shuffled).tolist() == [[10, 12], [95, 8], [90, 85], [12, 80]]
    # a square turned 45 degrees: x + y and y - x tie, the clockwise sort still gives four distinct corners
    diamond = np.float32([[50, 0], [100, 50], [50, 100], [0, 50]])
    assert len({tuple(p) for p in order_corners(diamond[[2, 0, 3, 1]]).tolist()}) == 4


@pytest.mark.parametrize(("yaw", "pitch", "roll", "table"), [(25, -20, 8, "coffee"), (-30, 15, -5, "grass"), (0, 30, 0, "chelsea"), (10, 10, 20, "brick")])
def test_finds_the_page_corners_under_perspective(yaw: float, pitch: float, roll: float, table: str) -> None:
    image, truth = page_on_table(yaw, pitch, roll, table)
    found = find_document(image)
    assert found is not None
    assert np.abs(found - truth).max() < 3  # measured: 1.2 px at most


@pytest.mark.parametrize("scene", ["chelsea", "grass", "brick", "astronaut"])
def test_no_page_on_a_photo_without_one(scene: str) -> None:
    assert find_document(photo(scene, (640, 400)), min_area=0.1) is None


def test_auto_stage_warps_the_page_to_its_true_proportions_and_passes_other_frames() -> None:
    pipeline = Pipeline(spec_from_dict({"stages": [{"stage": "perspective", "params": {"mode": "auto", "width": 800}}]}))
    image, truth = page_on_table()
    frame = pipeline.process(Frame(image, 0, 0.0))
    assert frame.values["document_found"] is True
    assert np.abs(np.array(frame.values["document_corners"]) - truth).max() < 3
    assert frame.image.shape[1] == 800 and abs(frame.image.shape[0] - 800 * SHEET_SIZE[1] / SHEET_SIZE[0]) < 12
    plain = photo("chelsea", (640, 400))
    frame = pipeline.process(Frame(plain, 1, 0.1))
    assert frame.values["document_found"] is False and frame.image is plain


def test_auto_stage_holds_the_last_page_for_hold_frames() -> None:
    pipeline = Pipeline(spec_from_dict({"stages": [{"stage": "perspective", "params": {"mode": "auto", "width": 400, "hold_frames": 1}}]}))
    image, _ = page_on_table()
    plain = photo("chelsea", (960, 600))
    shapes, found = [], []
    for i, img in enumerate([image, plain, plain]):
        frame = pipeline.process(Frame(img, i, i / 30))
        shapes.append(frame.image.shape[1])
        found.append(frame.values["document_found"])
    assert found == [True, False, False]
    assert shapes == [400, 400, 960]  # the held outline still warps the first missed frame, not the second


def test_perspective_auto_pipeline_validates() -> None:
    params = {"mode": "auto", "min_area": 0.2, "hold_frames": 5, "smoothing": 0.5}
    assert spec_from_dict({"stages": [{"stage": "perspective", "params": params}]}).stages[0].stage == "perspective"
    for bad in ({"min_area": 2}, {"smoothing": 1.0}, {"hold_frames": -1}):
        with pytest.raises(PipelineError, match=rf"'perspective'.*{next(iter(bad))}"):
            spec_from_dict({"stages": [{"stage": "perspective", "params": {"mode": "auto", **bad}}]})


def test_perspective_auto_runs_over_a_720p_clip(clip_720p) -> None:  # noqa: ANN001
    from vision_desk.engine.runner import Engine

    pipeline = Pipeline(spec_from_dict({"stages": [{"stage": "perspective", "params": {"mode": "auto"}}]}))
    assert Engine(str(clip_720p), pipeline, live=False, max_frames=20).run().frames_out == 20
    assert pipeline.stage_rows()[0]["error"] is None
