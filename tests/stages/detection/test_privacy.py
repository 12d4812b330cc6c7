"""The privacy stage hides chosen objects (boxes or masks) and leaves the rest of the picture alone."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.media import skimage_bgr
from tests.stages.detection.conftest import stage_spec
from vision_desk.benchmarks.shapes import moving_clip
from vision_desk.engine.frame import Frame
from vision_desk.engine.pipeline import Pipeline, spec_from_dict
from vision_desk.engine.results import Detections
from vision_desk.stages.detection.privacy import hide_objects, obscure

FACE = (170, 40, 300, 200)  # the astronaut's face, roughly


def detail(img: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())


def colours(img: np.ndarray) -> int:
    return len(np.unique(img.reshape(-1, 3), axis=0))


@pytest.mark.parametrize("method, hidden", [
    ("pixelate", lambda before, after: colours(after) <= (130 // 16 + 1) * (160 // 16 + 1) < colours(before) / 20),
    ("blur", lambda before, after: detail(after) < 0.05 * detail(before)),
    ("fill", lambda before, after: (after == (0, 0, 255)).all()),
])
def test_obscured_box_loses_detail_and_nothing_else_changes(method: str, hidden) -> None:  # noqa: ANN001
    image = skimage_bgr("astronaut")
    out = hide_objects(image, np.array([FACE]), None, method, 16, color=(0, 0, 255))
    x1, y1, x2, y2 = FACE
    outside = np.ones(image.shape[:2], bool)
    outside[y1:y2, x1:x2] = False
    assert np.array_equal(out[outside], image[outside])
    assert hidden(image[y1:y2, x1:x2], out[y1:y2, x1:x2])


def test_pixelate_makes_blocks() -> None:
    region = skimage_bgr("chelsea")[:64, :64]
    out = obscure(region, "pixelate", 16)
    assert len(np.unique(out[:16, :16].reshape(-1, 3), axis=0)) == 1


def test_mask_limits_the_change_to_the_object() -> None:
    image = skimage_bgr("coffee")
    mask = np.zeros(image.shape[:2], bool)
    cv2.circle(mask.view(np.uint8), (300, 200), 60, 1, -1)
    out = hide_objects(image, np.array([[240, 140, 360, 260]]), mask[None], "fill", 8)
    changed = (out != image).any(-1)
    assert changed[200, 300] and not changed[145, 245]  # centre hidden, box corner (outside the disc) kept
    assert not changed[~mask].any()


def test_stage_hides_only_chosen_classes() -> None:
    pipeline = Pipeline(spec_from_dict({"stages": [{"stage": "privacy", "params": {"classes": ["face"], "method": "fill"}}]}))
    frame = Frame(skimage_bgr("astronaut"), 0, 0.0)
    frame.add(Detections.from_boxes([FACE, [10, 300, 60, 350]], ["face", "rocket"]))
    before = frame.image.copy()
    pipeline.process(frame)
    assert (frame.image[100, 200] == 0).all() and np.array_equal(frame.image[320, 30], before[320, 30])
    assert frame.values["privacy_hidden"] == 1


def test_detected_shapes_are_hidden_in_the_frame(shapes_model: Path) -> None:
    from vision_desk.benchmarks.shapes import Mover

    frames, _ = moving_clip([Mover("circle", 200, 180, 0, 0, 45, 1), Mover("square", 450, 180, 0, 0, 40, 2)], 1, bg="moon")
    privacy = {"classes": ["circle"], "method": "fill", "color": [255, 255, 255], "padding": 0.1}
    pipeline = Pipeline(spec_from_dict({"stages": [stage_spec(shapes_model), {"stage": "privacy", "params": privacy}]}))
    pipeline.setup()
    frame = Frame(frames[0].copy(), 0, 0.0)
    pipeline.process(frame)
    pipeline.close()
    assert (frame.image[140:220, 160:240] == 255).all(), "the whole circle is covered"
    assert np.array_equal(frame.image[130:230, 400:500], frames[0][130:230, 400:500]), "the square is left alone"
    assert frame.values["privacy_hidden"] == 1
