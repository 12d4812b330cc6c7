"""The detect stage: a real trained model on held-out footage, every task path, model errors, exports, batching."""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.media import skimage_bgr, ultralytics_asset
from tests.stages.detection.conftest import IMGSZ, stage_spec, unmatched
from vision_desk.benchmarks.shapes import CLASSES, MAP50_BAR, held_out_clip, map50
from vision_desk.engine.frame import Frame
from vision_desk.engine.pipeline import Pipeline, spec_from_dict
from vision_desk.errors import ModelMissingError, PipelineError, VisionDeskError
from vision_desk.stages.detection import model_cache
from vision_desk.stages.detection.convert import letterbox_shape
from vision_desk.stages.detection.detect import DetectStage

def run_frames(stages: list[dict], images: list[np.ndarray]) -> list[Frame]:
    pipeline = Pipeline(spec_from_dict({"stages": stages}))
    pipeline.setup()
    out = []
    for i, img in enumerate(images):
        frame = Frame(img, i, i / 30.0, source_id="test.mp4")
        pipeline.process(frame)
        out.append(frame)
    pipeline.close()
    return out


@pytest.fixture(scope="module")
def held_out() -> tuple[list[np.ndarray], list]:
    """60 frames of 6 random movers over two photos the model never saw in training."""
    return held_out_clip()


def frames_map50(frames: list[Frame], truth: list) -> float:
    return map50([(f.detections.xyxy, f.detections.score, f.detections.class_id) for f in frames], truth)


# -- declared parameters ----------------------------------------------------------------------------

def test_valid_pipeline_validates() -> None:
    spec = spec_from_dict({"stages": [
        {"stage": "detect", "params": {"model": "yolo11n", "confidence": 0.4, "classes": ["person"], "imgsz": 320, "device": "cuda:1", "batch": 8}},
        {"stage": "track", "params": {"tracker": "botsort"}},
        {"stage": "count", "params": {"line": [0, 100, 640, 100], "zone": [[0, 0], [100, 0], [100, 100]]}},
        {"stage": "privacy", "params": {"classes": ["person"], "method": "blur"}},
    ]})
    assert [s.stage for s in spec.stages] == ["detect", "track", "count", "privacy"]


@pytest.mark.parametrize("stage, params, name", [
    ("detect", {"confidence": 1.5}, "confidence"),
    ("detect", {"imgsz": 100}, "imgsz"),
    ("detect", {"device": "gpu"}, "device"),
    ("detect", {"task": "depth"}, "task"),
    ("detect", {"backend": "tensorflow"}, "backend"),
    ("track", {"tracker": "sort"}, "tracker"),
    ("track", {"lost_frames": 0}, "lost_frames"),
    ("count", {"line": [10, 10, 10, 10]}, "line"),
    ("count", {"zone": [[0, 0], [5, 5]]}, "zone"),
    ("privacy", {"method": "erase"}, "method"),
])
def test_invalid_parameter_names_stage_and_parameter(stage: str, params: dict, name: str) -> None:
    with pytest.raises(PipelineError) as err:
        spec_from_dict({"stages": [{"stage": stage, "params": params}]}, "p.yaml")
    assert f"'{stage}'" in str(err.value) and f"'{name}'" in str(err.value)


def test_letterbox_shape_is_what_pytorch_runs_at() -> None:
    assert letterbox_shape((720, 1280), 640) == (384, 640)
    assert letterbox_shape((360, 640), 128) == (96, 128)
    assert letterbox_shape((480, 640), 640) == (480, 640)
    assert letterbox_shape((1080, 1920), 640) == (384, 640)


# -- a real model on held-out footage ---------------------------------------------------------------

def test_detects_held_out_objects_at_their_true_positions(shapes_model: Path, held_out) -> None:
    frames, truth = held_out
    out = run_frames([stage_spec(shapes_model, backend="pytorch", confidence=0.01)], frames)
    score = frames_map50(out, truth)
    print(f"held-out mAP50 = {score:.3f}")
    assert score >= MAP50_BAR
    assert {str(x) for f in out for x in f.detections.label} == set(CLASSES)
    assert out[0].events and "detect: " in out[0].events[0] and "PyTorch" in out[0].events[0]


def test_openvino_and_onnx_exports_give_the_same_detections(shapes_model: Path, held_out) -> None:
    """Every backend finds the PyTorch model's boxes (same class, IoU >= 0.9), on any CPU (see ``unmatched``)."""
    frames = held_out[0][::3]
    reference = run_frames([stage_spec(shapes_model, backend="pytorch")], frames)
    assert sum(len(f.detections) for f in reference) > 20
    for backend in ("openvino", "onnx"):
        other = run_frames([stage_spec(shapes_model, backend=backend)], frames)
        problems = [f"frame {i}: {p}" for i, (a, b) in enumerate(zip(reference, other))
                    for p in unmatched(a.detections, b.detections, conf=0.25)]
        assert not problems, f"{backend} differs from PyTorch:\n" + "\n".join(problems)
        assert "export" in other[0].events[0]
    exports = Path(str(shapes_model).removesuffix(".pt") + ".exports")
    assert {p.name for p in exports.iterdir() if not p.name.startswith(".")} >= {"openvino-96x128-b1", "onnx-96x128-b1"}


def test_batched_inference_matches_frame_by_frame(shapes_model: Path, held_out) -> None:
    frames = held_out[0][:8]
    stage = DetectStage(DetectStage.Params(model=str(shapes_model), imgsz=IMGSZ, backend="pytorch", batch=4))
    stage.setup()
    assert stage.batch_size() == 4
    single = [Frame(f, i, 0.0) for i, f in enumerate(frames)]
    for f in single:
        stage.process(f)
    stage.reset()
    batched = [Frame(f, i, 0.0) for i, f in enumerate(frames)]
    stage.process_batch(batched[:4])
    stage.process_batch(batched[4:])
    stage.close()
    assert sum(len(f.detections) for f in single) > 10
    for a, b in zip(single, batched):  # a batch may run other kernels than one frame: float32 tolerances
        assert not unmatched(a.detections, b.detections, conf=0.25)


def test_every_nth_frame_reuses_results_in_between(shapes_model: Path, held_out) -> None:
    pipeline = Pipeline(spec_from_dict({"stages": [stage_spec(shapes_model, backend="pytorch", every=3)]}))
    pipeline.setup()
    frames = [pipeline.process(Frame(img, i, i / 30.0, capture_time=100.0 + i / 30.0)) for i, img in enumerate(held_out[0][:7])]
    pipeline.close()
    origins = [f.origin("detect") for f in frames]
    assert [o.frame_index for o in origins] == [0, 0, 0, 3, 3, 3, 6]
    assert [o.fresh_on(f) for o, f in zip(origins, frames)] == [True, False, False, True, False, False, True]
    assert [o.age_ms(f) for o, f in zip(origins, frames)] == pytest.approx([0, 1000 / 30, 2000 / 30, 0, 1000 / 30, 2000 / 30, 0])
    assert np.array_equal(frames[1].detections.xyxy, frames[0].detections.xyxy)
    assert not np.array_equal(frames[3].detections.xyxy, frames[0].detections.xyxy)


def test_class_filter_by_name(shapes_model: Path, held_out) -> None:
    frames = run_frames([stage_spec(shapes_model, backend="pytorch", classes=["square"])], held_out[0][:6])
    labels = {str(x) for f in frames for x in f.detections.label}
    assert labels == {"square"}


def test_unknown_class_name_is_refused(shapes_model: Path) -> None:
    stage = DetectStage(DetectStage.Params(model=str(shapes_model), classes=["unicorn"]))
    with pytest.raises(VisionDeskError, match=r"\['unicorn'\] are not in model .*circle, square, triangle"):
        stage.setup()
    stage.close()


def test_model_is_loaded_once_and_shared(shapes_model: Path) -> None:
    a = DetectStage(DetectStage.Params(model=str(shapes_model), backend="pytorch", confidence=0.3))
    b = DetectStage(DetectStage.Params(model=str(shapes_model), backend="pytorch", classes=["circle"]))
    before = model_cache.loaded_count()
    a.setup()
    b.setup()
    assert a._model is b._model and model_cache.loaded_count() == before + 1
    a.close()
    assert model_cache.loaded_count() == before + 1  # b still uses it
    b.close()
    assert model_cache.loaded_count() == before


def test_a_model_retrained_at_the_same_path_is_loaded_again(shapes_model: Path, yaml_models: dict, tmp_path: Path) -> None:
    """Replacing the file (a retrained model written over the old one) reaches a running stage within a second
    or so, and the model cache does not hand back the old network for the same path."""
    import shutil
    import time

    path = tmp_path / "model.pt"
    shutil.copyfile(shapes_model, path)
    stage = DetectStage(DetectStage.Params(model=str(path), backend="pytorch"))
    stage.setup()
    image = skimage_bgr("coffee")
    assert stage.task == "detect" and stage._model.task == "detect"
    part = tmp_path / "model.pt.part"
    shutil.copyfile(yaml_models["classify"], part)
    os.replace(part, path)  # as a trainer swaps its result in
    deadline = time.monotonic() + 60
    while stage.task != "classify" and time.monotonic() < deadline:
        stage.process(Frame(image, 0, 0.0))
    assert stage.task == "classify" and stage._model.task == "classify"
    stage.close()


# -- segment / pose / classify / obb paths (models built from Ultralytics' YAML configs) -------------

def test_segment_path_gives_frame_masks_and_polygons(yaml_models: dict) -> None:
    image = cv2.imread(str(ultralytics_asset("bus.jpg")))
    frame = run_frames([{"stage": "detect", "params": {"model": str(yaml_models["segment"]), "task": "segment", "backend": "pytorch", "imgsz": 160, "confidence": 0.0, "max_det": 5}}], [image])[0]
    det = frame.detections
    assert 1 <= len(det) <= 5
    assert det.mask is not None and det.mask.shape == (len(det), *image.shape[:2]) and det.mask.dtype == bool
    assert all(m.any() for m in det.mask)
    assert all(len(p) >= 3 for p in det.data["polygon"])
    records = det.to_records()
    assert "polygon" in records[0] and isinstance(records[0]["polygon"][0][0], float)


def test_pose_path_gives_keypoints_and_skeleton(yaml_models: dict) -> None:
    image = cv2.imread(str(ultralytics_asset("zidane.jpg")))
    frame = run_frames([{"stage": "detect", "params": {"model": str(yaml_models["pose"]), "backend": "pytorch", "imgsz": 160, "confidence": 0.0, "max_det": 3}}], [image])[0]
    det = frame.detections
    assert det.keypoints is not None and det.keypoints.shape == (3, 17, 3)
    assert frame.extras["skeleton"][0] == (15, 13) and len(frame.extras["skeleton"]) == 19
    assert "keypoints" in det.to_records()[0]


def test_classify_path_reports_top_k(yaml_models: dict) -> None:
    frame = run_frames([{"stage": "detect", "params": {"model": str(yaml_models["classify"]), "backend": "pytorch", "imgsz": 64, "top_k": 3}}], [skimage_bgr("chelsea")])[0]
    top = frame.values["detect_top"]
    assert len(top) == 3 and frame.values["detect_class"] == top[0][0]
    scores = [s for _, s in top]
    assert scores == sorted(scores, reverse=True) and 0 < sum(scores) <= 1.0001
    assert len(frame.detections) == 0
    canvas = frame.image.copy()
    DetectStage().draw(canvas, frame)
    assert not np.array_equal(canvas, frame.image)  # the labels are written on the picture


def test_obb_path_gives_rotated_polygons(yaml_models: dict) -> None:
    frame = run_frames([{"stage": "detect", "params": {"model": str(yaml_models["obb"]), "backend": "pytorch", "imgsz": 160, "confidence": 0.0, "max_det": 4}}], [skimage_bgr("rocket")])[0]
    det = frame.detections
    assert len(det) == 4
    assert all(len(p) == 4 for p in det.data["polygon"]) and len(det.data["angle"]) == 4
    for poly, box in zip(det.data["polygon"], det.xyxy):
        pts = np.asarray(poly)
        assert np.allclose([pts[:, 0].min(), pts[:, 1].min()], box[:2], atol=1.0)


# -- errors a user sees -----------------------------------------------------------------------------

def test_missing_manifest_model_names_model_folder_and_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VISION_DESK_MODELS", str(tmp_path))
    with pytest.raises(ModelMissingError) as err:
        DetectStage(DetectStage.Params(model="yolo11s-seg")).setup()
    msg = str(err.value)
    assert "yolo11s-seg" in msg and str(tmp_path) in msg and "vision-desk models pull yolo11s-seg" in msg
    assert msg.count(".") <= 3 and "\n" not in msg


@pytest.mark.parametrize(("given", "pull"), [("yolo11s-seg", "yolo11s-seg"), ("yolo11n.pt", "yolo11n"), ("weights/mine.pt", None)])
def test_missing_model_is_a_structured_field_of_the_stage_row(models_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                                             tmp_path: Path, given: str, pull: str | None) -> None:
    """A manifest name, a manifest file name and a path of the user's own: the row says which, and what would fetch it."""
    monkeypatch.chdir(tmp_path)  # 'weights/mine.pt' is looked for under the working directory
    spec = spec_from_dict({"stages": [{"stage": "detect", "params": {"model": given}}, {"stage": "grayscale"}]})
    pipeline = Pipeline(spec, stage_errors="disable")
    pipeline.setup()
    detect, gray = pipeline.stage_rows()
    folder = models_dir if pull else tmp_path / "weights"
    assert detect["enabled"] is False and detect["error"].startswith("stage 'detect' could not start: ")
    assert detect["missing_models"] == [{"model": given, "pull": pull, "folder": str(folder)}]
    assert gray["enabled"] is True and gray["error"] is None and gray["missing_models"] == []
    (failure,) = pipeline.errors  # the message the GUI shows keeps the fields too
    assert isinstance(failure, ModelMissingError) and str(failure) == detect["error"]
    assert [m.as_dict() for m in failure.missing] == detect["missing_models"]
    # the CLI's run stops with the same error, fields and all
    with pytest.raises(ModelMissingError) as err:
        Pipeline(spec).setup()
    assert str(err.value) == detect["error"] and err.value.missing == failure.missing


def test_missing_model_through_the_cli_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, clip_720p: Path) -> None:
    from vision_desk.cli import main

    monkeypatch.setenv("VISION_DESK_MODELS", str(tmp_path / "empty"))
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("stages:\n  - stage: detect\n")
    assert main(["run", str(clip_720p), "-p", str(pipeline), "--max-frames", "2"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: stage 'detect' could not start: model 'yolo11n' is not downloaded")
    assert "vision-desk models pull yolo11n" in err[0]


@pytest.mark.parametrize("content", [b"", b"not a model at all" * 100, "truncated"])
def test_corrupt_model_file_is_one_clear_sentence(tmp_path: Path, shapes_model: Path, content: bytes | str) -> None:
    bad = tmp_path / "broken.pt"
    bad.write_bytes(shapes_model.read_bytes()[: shapes_model.stat().st_size // 2] if content == "truncated" else content)
    with pytest.raises(VisionDeskError) as err:
        DetectStage(DetectStage.Params(model=str(bad))).setup()
    msg = str(err.value)
    assert "broken.pt" in msg and ("could not be loaded" in msg or "is empty" in msg)
    assert "Traceback" not in msg and "\n" not in msg


def test_missing_path_says_so(tmp_path: Path) -> None:
    with pytest.raises(ModelMissingError, match="not found; check the path"):
        DetectStage(DetectStage.Params(model=str(tmp_path / "nowhere" / "m.pt"))).setup()


@pytest.mark.parametrize("task", ["segment", "pose", "classify"])
def test_task_mismatch_is_refused(shapes_model: Path, task: str) -> None:
    stage = DetectStage(DetectStage.Params(model=str(shapes_model), task=task))
    with pytest.raises(VisionDeskError, match=f"is a detect model but stage 'detect' is set to task '{task}'"):
        stage.setup()
    stage.close()


def test_classify_model_refused_where_boxes_are_required(yaml_models: dict) -> None:
    stage = DetectStage(DetectStage.Params(model=str(yaml_models["classify"]), task="detect"))
    with pytest.raises(VisionDeskError, match="is a classify model"):
        stage.setup()
    stage.close()


# -- exports and the offline guard --------------------------------------------------------------------

def test_export_is_built_once_and_rebuilt_when_the_model_changes(tmp_path: Path, shapes_model: Path, yaml_models: dict) -> None:
    source = tmp_path / "m.pt"
    source.write_bytes(shapes_model.read_bytes())
    first = model_cache.ensure_export(source, "onnx", (96, 128))
    stamp = (first.parent / "source.json").stat().st_mtime_ns
    built = first.stat().st_mtime_ns
    assert model_cache.ensure_export(source, "onnx", (96, 128)) == first and first.stat().st_mtime_ns == built
    os.utime(source)  # touched, same bytes: still current (checked by sha256), not rebuilt
    assert model_cache.ensure_export(source, "onnx", (96, 128)) == first and first.stat().st_mtime_ns == built
    assert json.loads((first.parent / "source.json").read_text())["mtime_ns"] == source.stat().st_mtime_ns
    source.write_bytes(yaml_models["segment"].read_bytes())  # a different model under the same name
    again = model_cache.ensure_export(source, "onnx", (96, 128))
    assert again == first and (first.parent / "source.json").stat().st_mtime_ns != stamp
    assert json.loads((first.parent / "source.json").read_text())["size"] == source.stat().st_size


def test_ultralytics_runs_offline_without_touching_user_settings() -> None:
    from ultralytics.utils import SETTINGS

    settings_file = Path(SETTINGS.file)
    before = settings_file.read_bytes() if settings_file.is_file() else None
    YOLO = model_cache.ultralytics_offline()  # noqa: N806
    import ultralytics.utils as uu
    from ultralytics.utils import checks, events

    assert YOLO.__name__ == "YOLO"
    assert uu.ONLINE is False and checks.ONLINE is False and events.ONLINE is False
    assert checks.AUTOINSTALL is False and uu.SETTINGS["sync"] is False
    assert os.environ["YOLO_OFFLINE"] == "1" and os.environ["YOLO_AUTOINSTALL"] == "false"
    after = settings_file.read_bytes() if settings_file.is_file() else None
    assert after == before  # switched off in memory only; the user's Ultralytics settings file is untouched


def test_detect_runs_over_a_720p_clip(shapes_model: Path, clip_720p: Path, tmp_path: Path) -> None:
    from vision_desk.engine.runner import Engine
    from vision_desk.engine.sinks.export import JsonlSink

    spec = spec_from_dict({"stages": [stage_spec(shapes_model), {"stage": "track"}, {"stage": "privacy", "params": {"classes": []}}]})
    out = tmp_path / "o.jsonl"
    stats = Engine(str(clip_720p), Pipeline(spec), sinks=[JsonlSink(out)], live=False, max_frames=12).run()
    assert stats.frames_out == 12
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 12 and "detect_count" in records[0]["values"] and "track_count" in records[0]["values"]


def test_a_users_own_export_runs_as_it_is(shapes_model: Path, held_out, tmp_path: Path) -> None:
    source = tmp_path / "mine.pt"
    source.write_bytes(shapes_model.read_bytes())
    onnx_file = model_cache.ensure_export(source, "onnx", (96, 128))
    frames = held_out[0][:4]
    theirs = run_frames([{"stage": "detect", "params": {"model": str(onnx_file), "imgsz": 640}}], frames)
    ours = run_frames([stage_spec(shapes_model, backend="pytorch")], frames)
    assert "via onnx" in theirs[0].events[0]  # the file itself, at the 96x128 it was exported for (imgsz ignored)
    assert sum(len(f.detections) for f in ours) > 5
    for a, b in zip(ours, theirs):
        assert not unmatched(a.detections, b.detections, conf=0.25)


def test_changing_the_model_parameters_while_running_reloads(shapes_model: Path, held_out) -> None:
    pipeline = Pipeline(spec_from_dict({"stages": [stage_spec(shapes_model, backend="pytorch")]}))
    pipeline.setup()
    first = pipeline.process(Frame(held_out[0][0], 0, 0.0))
    assert len({str(x) for x in first.detections.label}) > 1
    (detect,) = pipeline.slot_ids()
    pipeline.set_params(detect, classes=["triangle"])
    second = pipeline.process(Frame(held_out[0][1], 1, 0.0))
    assert {str(x) for x in second.detections.label} == {"triangle"}
    pipeline.set_params(detect, classes=["dragon"])  # refused when applied: the stage stops with the reason
    with pytest.raises(VisionDeskError, match="dragon"):
        pipeline.process(Frame(held_out[0][2], 2, 0.0))
    pipeline.close()


@pytest.mark.parametrize("path", ["count-objects.yaml", "privacy.yaml", "pose.yaml"])
def test_presets_validate(path: str) -> None:
    from vision_desk.engine.pipeline import load_spec
    from vision_desk.resources import pipelines_dir

    spec = load_spec(pipelines_dir() / path)
    assert spec.stages[0].stage == "detect"
