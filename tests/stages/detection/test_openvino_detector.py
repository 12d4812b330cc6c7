"""The PyTorch-free OpenVINO detector: every step against Ultralytics' own code, on the real trained model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.stages.detection.conftest import SCORE_MARGIN, stage_spec
from tests.stages.detection.test_detect import held_out, run_frames  # noqa: F401 - held_out is a fixture
from vision_desk.stages.detection import model_cache
from vision_desk.stages.detection.openvino_detector import boxes_to_frame, letterbox, select_boxes

SHAPES = [(720, 1280), (360, 640), (480, 640), (1080, 1920), (640, 480), (333, 517), (1, 900)]


@pytest.fixture(scope="module")
def export(shapes_model: Path) -> Path:
    """The shapes model's OpenVINO export at 96x128 (the input 640x360 frames take at imgsz 128)."""
    return model_cache.ensure_export(shapes_model, "openvino", (96, 128))


@pytest.fixture(scope="module")
def pose_export(yaml_models: dict) -> Path:
    """A YOLO11n-pose (from its YAML, seeded weights) exported at 96x160, the input of 640x360 frames at 160."""
    return model_cache.ensure_export(yaml_models["pose"], "openvino", (96, 160))


@pytest.mark.parametrize("frame_hw", SHAPES)
def test_letterbox_is_pixel_identical_to_ultralytics(frame_hw: tuple[int, int]) -> None:
    from ultralytics.data.augment import LetterBox

    from vision_desk.stages.detection.convert import letterbox_shape

    rng = np.random.default_rng(sum(frame_hw))
    image = rng.integers(0, 256, (*frame_hw, 3), dtype=np.uint8)
    input_hw = letterbox_shape(frame_hw, 640)
    theirs = LetterBox(input_hw, auto=False, stride=32)(image=image)
    ours = letterbox(image, input_hw)
    assert ours.shape == (*input_hw, 3)
    assert np.array_equal(ours, theirs)


@pytest.mark.parametrize("frame_hw", SHAPES)
def test_boxes_map_back_to_the_frame_as_ultralytics_scales_them(frame_hw: tuple[int, int]) -> None:
    import torch
    from ultralytics.utils.ops import scale_boxes

    from vision_desk.stages.detection.convert import letterbox_shape

    input_hw = letterbox_shape(frame_hw, 640)
    rng = np.random.default_rng(3)
    xy = rng.uniform(-20, max(input_hw) + 20, (50, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(1, 200, (50, 2))], 1).astype(np.float32)
    theirs = scale_boxes(input_hw, torch.from_numpy(boxes.copy()), frame_hw).numpy()
    ours = boxes_to_frame(boxes.copy(), input_hw, frame_hw)
    assert np.allclose(ours, theirs, atol=1e-3)
    assert ours[:, [0, 2]].min() >= 0 and ours[:, [0, 2]].max() <= frame_hw[1]


@pytest.mark.parametrize(("conf", "iou", "classes", "max_det"), [(0.25, 0.7, None, 300), (0.01, 0.45, None, 300),
                                                                 (0.05, 0.7, [0, 2], 300), (0.01, 0.7, None, 3)])
def test_box_selection_is_ultralytics_nms(export: Path, held_out, conf: float, iou: float, classes, max_det: int) -> None:
    """Confidence filter, best class, class filter, class-aware NMS and max_det, on the raw output of real frames."""
    import torch
    from ultralytics.utils.nms import non_max_suppression

    detector = model_cache.acquire_openvino_detector(export)
    try:
        raw = detector.raw(held_out[0][::6])
    finally:
        model_cache.release(detector)
    compared = 0
    for pred in raw:
        boxes, scores, cls, extra = select_boxes(pred, conf, iou, classes, max_det)
        theirs = non_max_suppression(torch.from_numpy(pred[None].copy()), conf, iou, classes, max_det=max_det)[0].numpy()
        assert extra.shape == (len(boxes), 0)
        assert len(boxes) == len(theirs)
        order = np.lexsort((theirs[:, 0], -theirs[:, 4]))  # ties in score: compare in a fixed order
        mine = np.lexsort((boxes[:, 0], -scores))
        assert np.allclose(boxes[mine], theirs[order, :4], atol=1e-3)
        assert np.allclose(scores[mine], theirs[order, 4], atol=1e-6)
        assert np.array_equal(cls[mine], theirs[order, 5].astype(int))
        compared += len(boxes)
    assert compared > 10


@pytest.fixture
def ultralytics_openvino_f32(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ultralytics' OpenVINO predictor compiled in float32, as ours is, so a comparison tests the code around the
    network (letterbox, normalisation, NMS, scaling) and not bfloat16, which OpenVINO picks by default on CPUs
    with AVX512-BF16 or AMX."""
    import openvino as ov

    compile_model = ov.Core.compile_model

    def in_f32(self, model, device_name=None, config=None):  # noqa: ANN001, ANN202
        return compile_model(self, model, device_name, {**(config or {}), "INFERENCE_PRECISION_HINT": "f32"})

    monkeypatch.setattr(ov.Core, "compile_model", in_f32)


#: Float32 runs of one export differ by about 1e-5 px between code paths and instruction sets; one pixel of the
#: 96x128 input is 5 frame pixels here, so 0.5 px still fails any offset in the letterbox or the scaling.
BOX_ATOL_PX = 0.5


def test_detections_equal_ultralytics_predictor_on_the_same_export(export: Path, held_out, ultralytics_openvino_f32) -> None:
    """End to end, one frame at a time and as concurrent requests: Ultralytics' own OpenVINO run, box for box."""
    frames = held_out[0][:12]
    YOLO = model_cache.ultralytics_offline()  # noqa: N806
    reference = YOLO(str(export), task="detect").predict(frames, imgsz=[96, 128], conf=0.1, verbose=False)
    detector = model_cache.acquire_openvino_detector(export)
    try:
        single = [detector.detect([f], 0.1, 0.7, None, 300)[0] for f in frames]
        batched = detector.detect(frames[:5], 0.1, 0.7, None, 300) + detector.detect(frames[5:], 0.1, 0.7, None, 300)
        assert detector.parallel_requests >= 1
    finally:
        model_cache.release(detector)
    total = 0
    for ref, a, b in zip(reference, single, batched):
        boxes = ref.boxes
        # a box within SCORE_MARGIN of the threshold may fall on either side of it in the other run
        sure = boxes.conf.numpy() >= 0.1 + SCORE_MARGIN
        for xyxy, score, cls, keypoints in (a, b):
            assert keypoints is None
            mine = score >= 0.1 + SCORE_MARGIN
            assert mine.sum() == sure.sum()
            ref_xyxy, ref_cls = boxes.xyxy.numpy()[sure], boxes.cls.numpy()[sure].astype(int)
            for box, c in zip(xyxy[mine], cls[mine]):  # each of ours is one of theirs, to the pixel tolerance
                twin = np.abs(ref_xyxy - box).max(1).argmin()
                assert np.abs(ref_xyxy[twin] - box).max() <= BOX_ATOL_PX and ref_cls[twin] == c
        total += int(sure.sum())
    assert total > 20


def test_pose_keypoints_are_ultralytics_own(pose_export: Path, held_out, ultralytics_openvino_f32) -> None:
    """A pose head: NMS keeps the keypoint channels of the same anchors, scaled to the frame like Ultralytics'.

    The YAML-built model has 80 classes and untrained (tiny) class scores, hence confidence 0.
    """
    import torch
    from ultralytics.utils.nms import non_max_suppression

    frames = held_out[0][:4]
    YOLO = model_cache.ultralytics_offline()  # noqa: N806
    reference = YOLO(str(pose_export), task="pose").predict(frames, imgsz=[96, 160], conf=0.0, max_det=10, verbose=False)
    detector = model_cache.acquire_openvino_detector(pose_export)
    try:
        assert detector.kpt_shape == (17, 3) and detector.nc == 80
        pred = detector.raw(frames[:1])[0]
        ours = detector.detect(frames, 0.0, 0.7, None, 10)
    finally:
        model_cache.release(detector)
    assert pred.shape[0] == 4 + 80 + 51
    boxes, scores, cls, extra = select_boxes(pred, 0.0, 0.7, None, 10, nc=80)
    theirs = non_max_suppression(torch.from_numpy(pred[None].copy()), 0.0, 0.7, None, max_det=10, nc=80)[0].numpy()
    assert len(boxes) == len(theirs) > 0 and extra.shape == (len(boxes), 51)
    assert np.allclose(extra, theirs[:, 6:], atol=1e-4)
    points = 0
    for ref, (xyxy, score, cls, keypoints) in zip(reference, ours):
        assert len(xyxy) == len(ref.boxes) and keypoints.shape == (len(xyxy), 17, 3)
        assert np.allclose(xyxy, ref.boxes.xyxy.numpy(), atol=BOX_ATOL_PX)
        assert np.allclose(keypoints[..., :2], ref.keypoints.data.numpy()[..., :2], atol=BOX_ATOL_PX)
        assert np.allclose(keypoints[..., 2], ref.keypoints.data.numpy()[..., 2], atol=1e-3)  # visibility scores
        points += keypoints.shape[0] * 17
    assert points > 0


def test_the_stage_runs_pose_exports_on_it_with_keypoints_and_skeleton(yaml_models: dict, held_out, pose_export: Path) -> None:
    frame = run_frames([{"stage": "detect", "params": {"model": str(yaml_models["pose"]), "backend": "openvino", "imgsz": 160,
                                                       "confidence": 0.0, "max_det": 3}}], held_out[0][:1])[0]
    assert "no PyTorch" in frame.events[0]
    assert len(frame.detections) and frame.detections.keypoints.shape == (len(frame.detections), 17, 3)
    assert frame.extras["skeleton"][0] == (15, 13)


def test_the_stage_runs_detection_exports_on_it_and_shares_it(shapes_model: Path, held_out) -> None:
    from vision_desk.engine.frame import Frame
    from vision_desk.engine.pipeline import Pipeline, spec_from_dict
    from vision_desk.stages.detection.openvino_detector import OpenVINODetector

    before = model_cache.loaded_count()
    pipeline = Pipeline(spec_from_dict({"stages": [stage_spec(shapes_model, backend="openvino"),
                                                   stage_spec(shapes_model, backend="openvino", classes=["circle"])]}))
    pipeline.setup()
    frame = pipeline.process(Frame(held_out[0][0], 0, 0.0))
    a, b = (slot.stage._exports[(96, 128)] for slot in pipeline._slots)  # noqa: SLF001 - what the stages run on
    assert isinstance(a, OpenVINODetector) and a is b and model_cache.loaded_count() == before + 1
    assert "no PyTorch" in frame.events[0]
    labels = [str(x) for x in frame.detections.label]
    assert {"circle", "square"} <= set(labels) and labels.count("circle") >= 2  # both stages' circles
    pipeline.close()
    assert model_cache.loaded_count() == before


def test_model_info_is_cached_beside_the_exports_and_follows_the_file(tmp_path: Path, shapes_model: Path,
                                                                      yaml_models: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "m.pt"
    source.write_bytes(shapes_model.read_bytes())
    info = model_cache.model_info(source)
    assert info.task == "detect" and info.names == {0: "circle", 1: "square", 2: "triangle"}
    assert json.loads((tmp_path / "m.exports" / "model.json").read_text())["task"] == "detect"
    with monkeypatch.context() as m:
        m.setattr(model_cache, "acquire", lambda *a, **k: pytest.fail("the model was loaded although its info is cached"))
        assert model_cache.model_info(source) == info
    source.write_bytes(yaml_models["pose"].read_bytes())  # another model under the same name
    again = model_cache.model_info(source)
    assert again.task == "pose" and again.kpt_shape == (17, 3)


def test_a_cpu_detection_run_on_a_cached_export_never_imports_pytorch(shapes_model: Path, export: Path) -> None:
    model_cache.model_info(shapes_model)  # what the first run leaves behind, with the export
    code = f"""
import sys
import numpy as np
from vision_desk.engine.frame import Frame
from vision_desk.engine.pipeline import Pipeline, spec_from_dict
p = Pipeline(spec_from_dict({{"stages": [{json.dumps(stage_spec(shapes_model, backend="openvino", device="cpu"))}]}}))
p.setup()
frame = p.process(Frame(np.full((360, 640, 3), 90, np.uint8), 0, 0.0))
print(frame.events[0])
assert "torch" not in sys.modules and "ultralytics" not in sys.modules, "PyTorch or Ultralytics was imported"
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parents[3], env=os.environ)
    assert out.returncode == 0, out.stderr[-1500:]
    assert "no PyTorch" in out.stdout


@pytest.mark.skipif(sys.platform == "darwin", reason="on a Mac the MPS check needs torch")
def test_choosing_the_cpu_without_a_gpu_driver_never_imports_pytorch() -> None:
    code = """
import sys
import vision_desk.weights as w
w._gpu_driver_present = lambda: False
assert w.pick_device("auto") == "cpu" and w.pick_device("cuda:0") == "cpu" and w.pick_device("cpu") == "cpu"
assert "torch" not in sys.modules
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-1500:]


def test_a_gpu_index_that_is_not_there_falls_back_to_the_best_device(monkeypatch: pytest.MonkeyPatch) -> None:
    """cuda:1 on a one-GPU machine runs on cuda:0 (what auto picks), not into a CUDA error at the first frame.

    No GPU is lent to CI, so torch is told there is one; on a GPU machine the same rule holds for real.
    """
    import torch

    import vision_desk.weights as w

    monkeypatch.setattr(w, "_gpu_driver_present", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    w.pick_device.cache_clear()
    try:
        assert [w.pick_device(d) for d in ("cuda:1", "cuda:0", "cuda", "auto", "cpu")] == ["cuda:0", "cuda:0", "cuda", "cuda:0", "cpu"]
    finally:
        w.pick_device.cache_clear()


def test_a_damaged_compiled_model_cache_is_rebuilt_not_fatal(export: Path, held_out, tmp_path: Path) -> None:
    """A crash while OpenVINO wrote its compiled-model cache leaves a garbage or truncated blob: the next start recompiles."""
    import shutil

    from vision_desk.stages.detection.openvino_detector import OpenVINODetector

    folder = tmp_path / export.name
    shutil.copytree(export, folder, ignore=shutil.ignore_patterns("compiled"))
    meta = model_cache.export_metadata(folder)
    frames = held_out[0][:3]
    fresh = OpenVINODetector(folder, meta)
    expected = fresh.raw(frames[:1]) + fresh.raw(frames[1:])  # LATENCY and THROUGHPUT models, both cached now
    blobs = sorted((folder / "compiled").glob("*.blob"))
    assert blobs
    for damage in (lambda data: b"\0garbage" * 64, lambda data: data[: len(data) // 2]):
        for blob in blobs:
            blob.chmod(0o644)  # OpenVINO writes its cache read-only
            blob.write_bytes(damage(blob.read_bytes()))
        again = OpenVINODetector(folder, meta)
        got = again.raw(frames[:1]) + again.raw(frames[1:])
        for a, b in zip(expected, got):
            np.testing.assert_allclose(a, b, atol=1e-4)
