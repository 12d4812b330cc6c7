"""detect's explain toggle: the same objects, with a heatmap of what the model looks at drawn under them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.stages.classify.scenes import SHAPE_BACKGROUNDS, inside, shape_scene
from tests.stages.classify.conftest import INPUT_PIXEL, run


@pytest.fixture(scope="module")
def scenes() -> list:
    rng = np.random.default_rng(5)
    return [shape_scene(rng, (640, 360), SHAPE_BACKGROUNDS[i % len(SHAPE_BACKGROUNDS)]) for i in range(3)]


def test_explain_is_off_by_default_and_says_what_it_does() -> None:
    from vision_desk.engine.params import describe
    from vision_desk.stages.detection.detect import DetectParams

    spec = {s.name: s for s in describe(DetectParams)}["explain"]
    assert spec.default is False and spec.kind == "bool"
    assert spec.help.startswith("Overlay a heatmap of what the model looks at (EigenCAM)")


@pytest.mark.parametrize("backend", ["pytorch", "onnx"])
def test_detect_explain_draws_a_heatmap_and_finds_the_same_objects(shapes_model: Path, scenes: list, backend: str) -> None:
    """With an export backend the heatmap comes from the .pt beside it; the detections are the same either way."""
    images = [s[0] for s in scenes[:3]]
    spec = {"stage": "detect", "params": {"model": str(shapes_model), "imgsz": 128, "backend": backend}}
    plain, plain_drawn = run([spec], images)
    spec["params"]["explain"] = True
    explained, explained_drawn = run([spec], images)
    assert sum(len(f.detections) for f in plain) >= 3
    hits = 0
    for a, b, pa, pb, (_, shape) in zip(plain, explained, plain_drawn, explained_drawn, scenes):
        assert np.array_equal(a.detections.xyxy, b.detections.xyxy) and list(a.detections.label) == list(b.detections.label)
        assert a.extras["detect"]["heatmap"] is None
        heat = b.extras["detect"]["heatmap"]
        assert heat.shape == b.image.shape[:2]
        assert not np.array_equal(pa, pb)
        rows, cols = np.nonzero(heat == heat.max())
        hits += inside((int(cols[0]), int(rows[0])), shape.xyxy, INPUT_PIXEL)
    assert hits >= 2


def test_detect_explain_with_a_users_export_says_it_needs_the_pt(shapes_model: Path, scenes: list, tmp_path: Path) -> None:
    from vision_desk.stages.detection import model_cache

    source = tmp_path / "mine.pt"
    source.write_bytes(shapes_model.read_bytes())
    export = model_cache.ensure_export(source, "onnx", (96, 128))
    frames, drawn = run([{"stage": "detect", "params": {"model": str(export), "explain": True}}], [scenes[0][0]])
    notices = [e for e in frames[0].events if e.startswith("detect: explain")]
    assert notices == ["detect: explain needs the PyTorch .pt model, and model.onnx runs as the file it is, so no heatmap "
                       "is drawn; give the .pt it was exported from."]
    assert frames[0].extras["detect"]["heatmap"] is None and len(frames[0].detections)
