"""``imgsz: auto``: every model runs at its own size, as Ultralytics runs it (the parity tests check the outcome)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.media import skimage_bgr
from tests.stages.detection.conftest import unmatched
from tests.stages.detection.test_detect import run_frames
from vision_desk.benchmarks.shapes import held_out_clip
from vision_desk.engine.params import describe, parse_cli_value
from vision_desk.engine.pipeline import spec_from_dict
from vision_desk.errors import PipelineError
from vision_desk.stages.detection import model_cache
from vision_desk.stages.detection.detect import DetectStage


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    return held_out_clip()[0][:3]  # 640x360


def detect(model: Path, **params: object) -> dict:
    # On the CPU, as the references run: on a GPU machine the default device would be FP16 CUDA.
    return {"stage": "detect", "params": {"model": str(model), "device": "cpu", **params}}


@pytest.mark.parametrize("backend, export", [("pytorch", None), ("openvino", "openvino-96x128-b1")])
def test_auto_runs_a_checkpoint_at_its_training_size(shapes_model: Path, frames, backend: str, export: str | None) -> None:
    from vision_desk.stages.detection.model_cache import ultralytics_offline

    assert DetectStage.Params().imgsz == "auto"
    ours = run_frames([detect(shapes_model, backend=backend)], frames)
    # the shapes model was trained at 128: a 640x360 frame goes in at 96x128, Ultralytics' own default for it
    assert "input 96x128, the model's own imgsz 128" in ours[0].events[0]
    if export:
        assert (shapes_model.parent / f"{shapes_model.stem}.exports" / export).is_dir()
    theirs = ultralytics_offline()(str(shapes_model)).predict(frames, conf=0.25, device="cpu", verbose=False)
    assert sum(len(f.detections) for f in ours) >= 6
    for frame, result in zip(ours, theirs):
        from vision_desk.stages.detection.convert import result_to_detections

        assert not unmatched(frame.detections, result_to_detections(result, "detect"), conf=0.25)


def test_a_set_size_wins_and_changes_live(shapes_model: Path, frames) -> None:
    stage = DetectStage(DetectStage.Params(model=str(shapes_model), imgsz=256, backend="openvino"))
    stage.setup()
    try:
        stage.infer([frames[0]])
        assert stage.input_shape == (160, 256) and "input 160x256, imgsz 256" in stage.summary()
        stage.update_params(DetectStage.Params(model=str(shapes_model), imgsz="auto", backend="openvino"))
        stage.infer([frames[0]])
        assert stage.input_shape == (96, 128) and "the model's own imgsz 128" in stage.summary()
    finally:
        stage.close()


def test_an_export_runs_at_the_shape_it_was_built_for(shapes_model: Path, frames, tmp_path: Path) -> None:
    source = tmp_path / "mine.pt"
    source.write_bytes(shapes_model.read_bytes())
    onnx_file = model_cache.ensure_export(source, "onnx", (96, 128))
    (frame,) = run_frames([detect(onnx_file)], frames[:1])
    assert "input 96x128, fixed by the export" in frame.events[0]


@pytest.fixture(scope="module")
def classifier(yaml_models: dict, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The untrained classification model, saved as if it had been trained at 64 (square, as classifiers are)."""
    import torch

    ckpt = torch.load(yaml_models["classify"], weights_only=False)
    ckpt["train_args"] = {"imgsz": 64, "task": "classify"}
    path = tmp_path_factory.mktemp("cls") / "cls64.pt"
    torch.save(ckpt, path)
    return path


def test_a_classifier_runs_square_at_its_own_size_on_every_backend(classifier: Path) -> None:
    image = [skimage_bgr("chelsea")]  # 300x451: a rectangular input would stretch or pad what the model sees
    runs = {b: run_frames([detect(classifier, backend=b, top_k=5)], image)[0] for b in ("pytorch", "openvino")}
    assert "input 64x64, the model's own imgsz 64" in runs["openvino"].events[0]
    assert (classifier.parent / "cls64.exports" / "openvino-64x64-b1").is_dir()
    # Sorted scores, not labels: an untrained model's near-equal scores may swap places between backends.
    scores = {b: [s for _, s in f.values["detect_top"]] for b, f in runs.items()}
    assert np.allclose(scores["pytorch"], scores["openvino"], atol=1e-4)


def test_model_info_remembers_the_training_size(shapes_model: Path, tmp_path: Path) -> None:
    source = tmp_path / "m.pt"
    source.write_bytes(shapes_model.read_bytes())
    assert model_cache.model_info(source).imgsz == 128
    cache = tmp_path / "m.exports" / "model.json"
    data = json.loads(cache.read_text())
    assert data["imgsz"] == 128
    del data["imgsz"]  # written by an older version: asked again, not guessed
    cache.write_text(json.dumps(data))
    assert model_cache.model_info(source).imgsz == 128 and json.loads(cache.read_text())["imgsz"] == 128


def test_a_model_that_records_no_size_runs_at_ultralytics_default(yaml_models: dict) -> None:
    assert model_cache.model_info(yaml_models["pose"]).imgsz == model_cache.DEFAULT_IMGSZ == 640


@pytest.mark.parametrize("text, expected", [("auto", "auto"), ("AUTO", "auto"), ("320", 320), ("1280", 1280)])
def test_imgsz_takes_auto_or_a_size(text: str, expected: object) -> None:
    spec_from_dict({"stages": [{"stage": "detect", "params": {"imgsz": parse_cli_value(text)}}]})  # a valid pipeline
    assert DetectStage.Params(imgsz=parse_cli_value(text)).imgsz == expected


@pytest.mark.parametrize("value", [100, 16, 8192, "big", 3.5, True])
def test_a_wrong_imgsz_is_one_sentence_naming_both_choices(value: object) -> None:
    with pytest.raises(PipelineError) as err:
        spec_from_dict({"stages": [{"stage": "detect", "params": {"imgsz": value}}]})
    message = str(err.value)
    assert "'imgsz'" in message and "must be auto or a whole number from 32 to 4096 and a multiple of 32" in message
    assert message.count(";") == 0  # one reason, not one per branch of the type


def test_the_listing_shows_auto_with_its_bounds() -> None:
    spec = next(s for s in describe(DetectStage.Params) if s.name == "imgsz")
    listed = spec.as_dict()
    assert listed["type"] == "int" and listed["default"] == "auto" and listed["auto"] is True
    assert (listed["minimum"], listed["maximum"], listed["step"]) == (32, 4096, 32)
    assert "trained at" in listed["help"]


def test_the_text_listing_offers_auto_beside_the_range(capsys) -> None:
    from vision_desk.cli import main

    assert main(["stages"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.strip().startswith("imgsz"))
    assert '"auto"' in line and "[auto | 32..4096]" in line
