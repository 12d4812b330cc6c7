"""The gradcam stage (params, a run through the engine, drawing, models and their errors) and detect's explain toggle."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.stages.classify.conftest import INPUT_PIXEL, run
from tests.stages.classify.scenes import SHAPE_BACKGROUNDS, inside, shape_scene
from vision_desk.engine.frame import Frame
from vision_desk.engine.pipeline import Pipeline, spec_from_dict
from vision_desk.errors import ModelMissingError, PipelineError, VisionDeskError
from vision_desk.stages.classify.gradcam import GradCamStage

@pytest.fixture(scope="module")
def scenes() -> list:
    rng = np.random.default_rng(5)
    return [shape_scene(rng, (640, 360), SHAPE_BACKGROUNDS[i % len(SHAPE_BACKGROUNDS)]) for i in range(6)]


# -- declared parameters ----------------------------------------------------------------------------

def test_valid_pipeline_validates() -> None:
    spec = spec_from_dict({"stages": [
        {"stage": "gradcam", "params": {"model": "tv-resnet18", "method": "gradcam++", "class": "tabby", "alpha": 0.3,
                                        "every": 5, "run": "async"}},
    ]})
    params = GradCamStage.Params.model_validate(spec.stages[0].params)
    assert getattr(params, "class") == "tabby" and params.method == "gradcam++" and params.every == 5


@pytest.mark.parametrize("params, name", [
    ({"method": "scorecam"}, "method"),
    ({"alpha": 1.5}, "alpha"),
    ({"every": 0}, "every"),
    ({"klass": "cat"}, "klass"),
])
def test_invalid_parameter_names_stage_and_parameter(params: dict, name: str) -> None:
    with pytest.raises(PipelineError) as err:
        spec_from_dict({"stages": [{"stage": "gradcam", "params": params}]}, "p.yaml")
    assert "'gradcam'" in str(err.value) and f"'{name}'" in str(err.value)


def test_class_is_listed_and_set_like_any_parameter() -> None:
    from vision_desk.engine.params import describe

    specs = {s.name: s for s in describe(GradCamStage.Params)}
    assert specs["class"].kind == "str" and specs["method"].choices == ("auto", "gradcam", "gradcam++", "eigencam")
    assert specs["alpha"].widget == "slider" and (specs["alpha"].minimum, specs["alpha"].maximum) == (0.0, 1.0)
    from vision_desk.engine.pipeline import apply_overrides

    spec = apply_overrides(spec_from_dict({"stages": [{"stage": "gradcam"}]}), ["gradcam.class=tabby", "gradcam.every=3"])
    assert spec.stages[0].params["class"] == "tabby" and spec.stages[0].params["every"] == 3
    pipeline = Pipeline(spec)
    pipeline.set_params(pipeline.slot_ids()[0], **{"class": "tiger cat"})  # the GUI's way in
    with pytest.raises(PipelineError, match="'class'"):
        pipeline.set_params(pipeline.slot_ids()[0], **{"class": ["tabby"]})


# -- a run on real pictures -------------------------------------------------------------------------

def test_heatmap_peaks_on_the_shape_through_the_engine(shapes_model: Path, scenes: list) -> None:
    frames, drawn = run([{"stage": "gradcam", "params": {"model": str(shapes_model)}}], [s[0] for s in scenes])
    hits = 0
    for frame, picture, (image, shape) in zip(frames, drawn, scenes):
        assert np.array_equal(frame.image, image)  # an analysing stage: the picture is left alone
        heat = frame.extras["gradcam"]["heatmap"]
        assert heat.shape == image.shape[:2] and heat.dtype == np.float32
        x, y = frame.values["gradcam_peak_x"], frame.values["gradcam_peak_y"]
        assert heat[y, x] == heat.max()
        hits += inside((x, y), shape.xyxy, INPUT_PIXEL)
        assert not np.array_equal(picture, image)  # the heatmap is drawn over the copy
    assert hits >= 0.8 * len(scenes)
    assert "gradcam_class" not in frames[0].values  # EigenCAM has no class


def test_draw_blends_the_heatmap_at_alpha(shapes_model: Path, scenes: list) -> None:
    image = scenes[0][0]
    stage = GradCamStage(GradCamStage.Params(model=str(shapes_model), alpha=0.7))
    stage.setup()
    try:
        frame = Frame(image.copy(), 0, 0.0)
        stage.process(frame)
        assert stage.summary() == f"{shapes_model.name} · EigenCAM (detector) on cpu"
        canvas = image.copy()
        stage.draw(canvas, frame)
        changed = np.abs(canvas.astype(int) - image).sum(axis=2) > 0
        assert changed.mean() > 0.9  # all over the picture: cold places turn blue, hot ones red
        x, y = frame.values["gradcam_peak_x"], frame.values["gradcam_peak_y"]
        b, g, r = canvas[y, x].astype(int) - (0.3 * image[y, x]).astype(int)
        assert r > b  # the hottest place is drawn red
        stage.update_params(GradCamStage.Params(model=str(shapes_model), alpha=0.0))
        untouched = image.copy()
        stage.draw(untouched, frame)
        assert np.array_equal(untouched, image)
    finally:
        stage.close()


def test_every_n_frames_keeps_the_heatmap_in_between(shapes_model: Path, scenes: list) -> None:
    images = [s[0] for s in scenes[:3]]
    frames, _ = run([{"stage": "gradcam", "params": {"model": str(shapes_model), "every": 2}}], images)
    assert frames[1].extras["gradcam"]["heatmap"] is frames[0].extras["gradcam"]["heatmap"]
    assert frames[1].origin("gradcam").frame_index == 0 and frames[2].origin("gradcam").frame_index == 2
    assert frames[2].values["gradcam_peak_x"] != frames[0].values["gradcam_peak_x"]


def test_a_torchvision_classifier_by_name(models_dir: Path) -> None:
    """tv-resnet18 by name, its weights from the models folder under the manifest's file name (here torchvision's
    architecture with untrained weights, saved as the real file would be): ImageNet labels, a chosen class."""
    import torch
    import torchvision
    from skimage import data

    models_dir.mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), models_dir / "resnet18-f37072fd.pth")
    image = np.ascontiguousarray(data.chelsea()[..., ::-1])
    frames, drawn = run([{"stage": "gradcam", "params": {"model": "tv-resnet18", "class": "tabby"}}], [image])
    values = frames[0].values
    assert values["gradcam_class"] == "tabby" and 0.0 < values["gradcam_score"] < 1.0
    assert 0 <= values["gradcam_peak_x"] < image.shape[1] and 0 <= values["gradcam_peak_y"] < image.shape[0]
    assert frames[0].extras["gradcam"]["heatmap"].shape == image.shape[:2]
    assert not np.array_equal(drawn[0], image)


# -- models and the errors a user sees --------------------------------------------------------------

@pytest.mark.parametrize("model", ["yolo11n", "tv-resnet18"])
def test_missing_model_is_one_sentence_with_the_pull_command(models_dir: Path, model: str) -> None:
    with pytest.raises(ModelMissingError) as err:
        GradCamStage(GradCamStage.Params(model=model)).setup()
    message = str(err.value)
    assert f"vision-desk models pull {model}" in message and str(models_dir) in message
    assert "\n" not in message and message.count(". ") == 0
    assert err.value.missing[0].pull == model


def test_missing_path_says_so(tmp_path: Path) -> None:
    with pytest.raises(ModelMissingError, match="not found; check the path"):
        GradCamStage(GradCamStage.Params(model=str(tmp_path / "nowhere" / "m.pt"))).setup()


@pytest.mark.parametrize("params, words", [
    ({"method": "gradcam"}, "Grad-CAM needs a class score, which detector .* does not give; set method to eigencam or auto"),
    ({"method": "gradcam++"}, "Grad-CAM\\+\\+ needs a class score"),
    ({"class": "circle"}, "EigenCAM shows what .* looks at without a class, so 'class' must stay empty"),
])
def test_a_detector_refuses_what_needs_a_class(shapes_model: Path, params: dict, words: str) -> None:
    stage = GradCamStage(GradCamStage.Params(model=str(shapes_model), **params))
    with pytest.raises(VisionDeskError, match=words):
        stage.setup()
    stage.close()


def test_an_export_is_refused_with_what_to_give_instead(shapes_model: Path, tmp_path: Path) -> None:
    from vision_desk.stages.detection import model_cache

    source = tmp_path / "m.pt"
    source.write_bytes(shapes_model.read_bytes())
    export = model_cache.ensure_export(source, "onnx", (96, 128))
    with pytest.raises(VisionDeskError, match="needs the PyTorch model \\(.pt\\) to look inside; model.onnx is a onnx export"):
        GradCamStage(GradCamStage.Params(model=str(export))).setup()


def test_an_unknown_class_of_a_classifier_names_some_classes(yaml_classifier: Path) -> None:
    stage = GradCamStage(GradCamStage.Params(model=str(yaml_classifier), **{"class": "unicorn"}))
    with pytest.raises(VisionDeskError, match="class 'unicorn' is not one of model .*'s classes \\(.*\\.\\.\\.\\)"):
        stage.setup()
    stage.close()


def test_an_ultralytics_classifier_gets_gradcam_of_its_top_class(yaml_classifier: Path) -> None:
    from skimage import data

    image = np.ascontiguousarray(data.astronaut()[..., ::-1])
    frames, _ = run([{"stage": "gradcam", "params": {"model": str(yaml_classifier)}}], [image])
    values = frames[0].values
    assert isinstance(values["gradcam_class"], str) and 0.0 < values["gradcam_score"] <= 1.0
    assert frames[0].extras["gradcam"]["heatmap"].shape == image.shape[:2]


@pytest.fixture(scope="module")
def yaml_classifier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained Ultralytics classify model (YOLO11n-cls from its YAML config, 1000 ImageNet classes), saved as a .pt."""
    import torch

    from vision_desk.stages.detection.model_cache import ultralytics_offline

    path = tmp_path_factory.mktemp("cls") / "yolo11n-cls.pt"
    torch.manual_seed(1)
    ultralytics_offline()("yolo11n-cls.yaml").save(str(path))
    return path
