"""Heatmaps from pytorch-grad-cam: EigenCAM on the committed shapes detector, Grad-CAM on a classifier trained here,
the layers explained by default, and the drawing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.stages.classify.conftest import CAT_INPUT, INPUT_PIXEL
from tests.stages.classify.scenes import CAT_HELD_OUT_PHOTOS, SHAPE_BACKGROUNDS, cat_scene, inside, shape_scene
from vision_desk.errors import VisionDeskError
from vision_desk.stages.classify.explain import (
    blend_heatmap,
    classifier_heatmap,
    classify_and_explain,
    default_target_layers,
    detector_heatmap,
    frame_tensor,
    heatmap_peak,
)
from vision_desk.stages.detection import model_cache

@pytest.fixture(scope="module")
def shapes_loaded(shapes_model: Path):  # noqa: ANN201
    loaded = model_cache.acquire(shapes_model, "cpu", False)
    yield loaded
    model_cache.release(loaded)


# -- EigenCAM on a detector -------------------------------------------------------------------------

def test_eigencam_peak_falls_on_the_shape(shapes_loaded) -> None:  # noqa: ANN001
    rng = np.random.default_rng(7)
    scenes = [shape_scene(rng, (640, 360), SHAPE_BACKGROUNDS[i % len(SHAPE_BACKGROUNDS)]) for i in range(16)]
    hits = []
    for image, shape in scenes:
        heat = detector_heatmap(shapes_loaded, image)
        assert heat.shape == image.shape[:2] and heat.dtype == np.float32
        assert heat.min() >= 0.0 and heat.max() == pytest.approx(1.0)
        hits.append(inside(heatmap_peak(heat), shape.xyxy, INPUT_PIXEL))
    assert sum(hits) >= 0.8 * len(scenes), f"the peak fell on the shape in {sum(hits)} of {len(scenes)} scenes"


@pytest.mark.parametrize("size", [(360, 640), (300, 451)], ids=["portrait", "odd"])
def test_eigencam_maps_back_through_the_letterbox(shapes_loaded, size: tuple[int, int]) -> None:  # noqa: ANN001
    """Frames padded at the sides (portrait) or by odd amounts: the heatmap still lands on the shape."""
    rng = np.random.default_rng(3)
    scenes = [shape_scene(rng, size, SHAPE_BACKGROUNDS[i % len(SHAPE_BACKGROUNDS)], radius=(24, 40)) for i in range(8)]
    pixel = max(size) / 128
    hits = 0
    for image, shape in scenes:
        heat = detector_heatmap(shapes_loaded, image)
        assert heat.shape == image.shape[:2]
        hits += inside(heatmap_peak(heat), shape.xyxy, pixel)
    assert hits >= 0.8 * len(scenes)


def test_eigencam_leaves_the_shared_model_as_it_was(shapes_loaded) -> None:  # noqa: ANN001
    """The heatmap runs on a private copy, whose hooks are removed afterwards: detection is unchanged."""
    image, _ = shape_scene(np.random.default_rng(1), (640, 360), "moon")
    before = shapes_loaded.predict([image], imgsz=128)[0].boxes.xyxy.numpy()
    detector_heatmap(shapes_loaded, image)
    after = shapes_loaded.predict([image], imgsz=128)[0].boxes.xyxy.numpy()
    assert len(before) and np.array_equal(before, after)
    copy, _ = shapes_loaded.explainer
    assert copy is not shapes_loaded.yolo.model
    for network in (copy, shapes_loaded.yolo.model):
        assert not any(m._forward_hooks for m in network.modules())


def test_a_model_other_than_pytorch_is_refused(shapes_model: Path, tmp_path: Path) -> None:
    source = tmp_path / "m.pt"
    source.write_bytes(shapes_model.read_bytes())
    export = model_cache.acquire(model_cache.ensure_export(source, "onnx", (96, 128)), "cpu", False)
    try:
        with pytest.raises(VisionDeskError, match="a heatmap needs the PyTorch model; model.onnx is a onnx file"):
            detector_heatmap(export, np.zeros((96, 128, 3), np.uint8))
    finally:
        model_cache.release(export)


# -- Grad-CAM on a classifier trained here ----------------------------------------------------------

@pytest.fixture(scope="module")
def held_out_cats() -> tuple[list, list]:
    """20 held-out scenes with the cat and 20 without, on photos the classifier never saw."""
    rng = np.random.default_rng(11)
    cats = [cat_scene(rng, CAT_HELD_OUT_PHOTOS, True) for _ in range(20)]
    others = [cat_scene(rng, CAT_HELD_OUT_PHOTOS, False)[0] for _ in range(20)]
    return cats, others


@pytest.mark.slow
def test_classifier_trained_here_tells_cats_on_held_out_photos(cat_classifier, held_out_cats) -> None:  # noqa: ANN001
    """The trained fixture is good before the heatmap tests rely on it."""
    import torch

    cats, others = held_out_cats
    with torch.no_grad():
        said = [int(cat_classifier(frame_tensor(image, CAT_INPUT)).argmax()) for image in [c for c, _ in cats] + others]
    right = sum(s == 1 for s in said[:20]) + sum(s == 0 for s in said[20:])
    assert right >= 36, f"{right} of 40 held-out scenes classified right"


@pytest.mark.slow
@pytest.mark.parametrize("method, class_index", [("gradcam", None), ("gradcam++", None), ("gradcam", 1)],
                         ids=["gradcam-top", "gradcam++-top", "gradcam-cat"])
def test_gradcam_peak_falls_on_the_cat(cat_classifier, held_out_cats, method: str, class_index: int | None) -> None:  # noqa: ANN001
    """The top class (a scene counts only when it is 'cat'), or the cat class asked for by index."""
    cats, _ = held_out_cats
    layers = default_target_layers(cat_classifier)
    assert layers == [cat_classifier.layer4[-1]]
    hits = 0
    for image, box in cats:
        heat, index, probability = classify_and_explain(cat_classifier, frame_tensor(image, CAT_INPUT), layers,
                                                        class_index, method, size=image.shape[:2])
        assert heat.shape == image.shape[:2] and heat.dtype == np.float32 and 0.0 <= heat.min() <= heat.max() <= 1.0
        if class_index is None:
            assert 0.5 <= probability <= 1.0  # the top class of two
        # one input pixel (2 scene pixels) of margin, as for the detector
        hits += index == 1 and inside(heatmap_peak(heat), box, image.shape[1] / CAT_INPUT)
    assert hits >= 0.8 * len(cats), f"{method}: the peak fell on the cat in {hits} of {len(cats)} scenes"


@pytest.mark.slow
def test_a_chosen_class_is_explained_rather_than_the_top_one(cat_classifier, held_out_cats) -> None:  # noqa: ANN001
    image, _ = held_out_cats[0][0]
    x = frame_tensor(image, CAT_INPUT)
    layers = default_target_layers(cat_classifier)
    top, top_index, _ = classify_and_explain(cat_classifier, x, layers)
    other, other_index, p_other = classify_and_explain(cat_classifier, x, layers, class_index=1 - top_index)
    assert other_index == 1 - top_index and p_other < 0.5
    assert np.array_equal(top, classifier_heatmap(cat_classifier, x, layers))  # None: the top class
    assert not np.allclose(top, other, atol=0.05)
    with pytest.raises(VisionDeskError, match="class index 7 is out of range"):
        classifier_heatmap(cat_classifier, x, layers, class_index=7)


# -- the layers explained by default --------------------------------------------------------------

def _torchvision(name: str) -> tuple:
    import torchvision

    model = torchvision.models.get_model(name, weights=None, num_classes=3)
    expected = {"resnet18": lambda m: m.layer4[-1], "mobilenet_v3_small": lambda m: m.features[-1],
                "efficientnet_b0": lambda m: m.features[-1], "shufflenet_v2_x0_5": lambda m: m.conv5}[name](model)
    return model, expected


def _ultralytics_classify() -> tuple:
    from vision_desk.stages.detection.model_cache import ultralytics_offline

    model = ultralytics_offline()("yolo11n-cls.yaml").model
    return model, model.model[-2]


@pytest.mark.parametrize("make", [
    lambda: _torchvision("resnet18"), lambda: _torchvision("mobilenet_v3_small"), lambda: _torchvision("efficientnet_b0"),
    lambda: _torchvision("shufflenet_v2_x0_5"), _ultralytics_classify,
], ids=["resnet18", "mobilenet_v3_small", "efficientnet_b0", "shufflenet_v2", "ultralytics-cls"])
def test_default_layers_are_the_last_convolutional_block(make) -> None:  # noqa: ANN001
    model, expected = make()
    assert default_target_layers(model) == [expected]


@pytest.mark.parametrize("name", ["vit_b_16", "sequential"])
def test_an_unknown_network_is_one_sentence(name: str) -> None:
    import torch
    import torchvision

    model = torchvision.models.vit_b_16(weights=None) if name == "vit_b_16" else torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3))
    with pytest.raises(VisionDeskError) as err:
        default_target_layers(model)
    message = str(err.value)
    assert type(model).__name__ in message and "target_layers" in message and "\n" not in message


def test_gradcam_runs_on_an_ultralytics_classifier_with_frozen_weights() -> None:
    """Ultralytics' classify head returns (probabilities, logits) and its predictor freezes the weights: the
    heatmap still comes (the gradients flow from the input)."""
    from skimage import data

    import torch

    torch.manual_seed(0)  # untrained weights: whether the map is flat or not depends on them, not on the code
    model, layer = _ultralytics_classify()
    for p in model.parameters():
        p.requires_grad_(False)
    image = data.chelsea()[..., ::-1].copy()
    heat, index, probability = classify_and_explain(model.eval(), frame_tensor(image, 64, None, None), [layer],
                                                    size=image.shape[:2])
    assert heat.shape == image.shape[:2] and np.isfinite(heat).all() and 0.0 <= heat.min() <= heat.max() <= 1.0
    assert 0 <= index < 1000 and 0.0 < probability <= 1.0


# -- drawing -------------------------------------------------------------------------------------

def test_blend_colours_hot_places_red_and_cold_ones_blue() -> None:
    """On a grey photo, red minus blue is the heatmap's colour alone: +alpha*128 where hot, -alpha*128 where cold."""
    from skimage import data

    canvas = np.ascontiguousarray(data.camera()[:, :, None].repeat(3, 2))
    heat = np.zeros(canvas.shape[:2], np.float32)
    heat[100:200, 300:400] = 1.0
    before = canvas.copy()
    blend_heatmap(canvas, heat, 0.6)
    red_minus_blue = canvas[..., 2].astype(int) - canvas[..., 0]
    assert red_minus_blue[110:190, 310:390].mean() == pytest.approx(0.6 * 128, abs=2)
    assert red_minus_blue[300:400, 50:150].mean() == pytest.approx(-0.6 * 128, abs=2)
    untouched = before.copy()
    blend_heatmap(untouched, heat, 0.0)
    assert np.array_equal(untouched, before)
    small = before.copy()
    blend_heatmap(small, heat[::2, ::2], 0.6)  # a map of another size is stretched to the picture
    inner = (slice(110, 190), slice(310, 390))  # away from the square's edges, which stretching softens
    assert np.array_equal(small[inner], canvas[inner])
