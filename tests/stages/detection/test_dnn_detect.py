"""dnn_detect: Darknet YOLO, Caffe SSD and TensorFlow SSD networks the tests write, whose boxes are known.

Expected boxes come from each format's own decoding formulas applied to the painted cells' colours (see
dnn_files.py), computed here without OpenCV; the stage must give them to half a pixel.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.media import skimage_bgr, write_clip
from tests.stages.detection.dnn_files import (
    GRID, LARGE, NET, SMALL, SSD_LOC, SSD_VARIANCE, YoloHead, paint, write_caffe_ssd, write_tf_ssd,
    write_yolo, yolov3_layout, yolov4_tiny_layout,
)
from vision_desk.engine.frame import Frame
from vision_desk.engine.pipeline import Pipeline, spec_from_dict
from vision_desk.engine.runner import Engine
from vision_desk.engine.sinks.export import JsonlSink
from vision_desk.engine.stage import stage_class
from vision_desk.errors import ModelMissingError, PipelineError, VisionDeskError
from vision_desk.stages.detection.dnn_nets import cuda_available, darknet_weight_count, family_of, stem_of

SIZE = (192, 128)  # frame (w, h): cells of 48 x 32 pixels
YELLOW, MAGENTA, WHITE, GREEN, RED = (0, 255, 255), (255, 0, 255), (255, 255, 255), (0, 255, 0), (0, 0, 255)


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + np.exp(-x))


def background() -> np.ndarray:
    """A real photo, darkened to a fifth: no cell of it is red or green enough to score."""
    return (cv2.resize(skimage_bgr("coffee"), SIZE, interpolation=cv2.INTER_AREA) * 0.2).astype(np.uint8)


def scene(cells: dict[tuple[int, int], tuple[int, int, int]]) -> np.ndarray:
    image = background()
    for (row, col), bgr in cells.items():
        paint(image, row, col, bgr)
    return image


def run(params: dict, image: np.ndarray) -> Frame:
    cls = stage_class("dnn_detect")
    stage = cls(cls.Params(**params))
    stage.setup()
    frame = Frame(image, 0, 0.0)
    stage.process(frame)
    return frame


def rows(frame: Frame) -> list[tuple[str, list[float], float]]:
    det = frame.detections.where(source="dnn_detect")
    out = [(str(det.label[i]), det.xyxy[i].tolist(), float(det.score[i])) for i in range(len(det))]
    return sorted(out, key=lambda r: (r[0], r[1][1], r[1][0]))


def assert_same(got: list, expected: list) -> None:
    expected = sorted(expected, key=lambda r: (r[0], r[1][1], r[1][0]))
    assert [r[0] for r in got] == [r[0] for r in expected]
    np.testing.assert_allclose([r[1] for r in got], [r[1] for r in expected], atol=0.5)  # pixels
    np.testing.assert_allclose([r[2] for r in got], [r[2] for r in expected], atol=1e-4)


def clip(box: list[float]) -> list[float]:
    w, h = SIZE
    return [min(max(box[0], 0), w), min(max(box[1], 0), h), min(max(box[2], 0), w), min(max(box[3], 0), h)]


# -- expected values, from the formats' formulas ----------------------------------------------------------------

def yolo_box(head: YoloHead, row: int, col: int) -> list[float]:
    """Darknet's decoding: centre (cell + sigmoid(t) * scale_x_y - (scale_x_y - 1) / 2) / grid, size anchor * exp(t) / input."""
    tx, ty, tw, th = head.box
    s = head.scale_x_y
    w, h = SIZE
    cx = (col + sigmoid(tx) * s - (s - 1) / 2) / head.grid * w
    cy = (row + sigmoid(ty) * s - (s - 1) / 2) / head.grid * h
    bw, bh = head.anchor[0] * np.exp(tw) / NET * w, head.anchor[1] * np.exp(th) / NET * h
    return clip([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2])


def yolo_expected(head: YoloHead, row: int, col: int, bgr: tuple[int, int, int], confidence: float = 0.25) -> list:
    """The boxes one cell of a head gives: objectness times each class's probability, every class above confidence."""
    b, g, r = (v / 255 for v in bgr)
    objectness = sigmoid(head.objectness[0] + head.objectness[1] * r)
    scores = {"lemon": objectness * sigmoid(-10 + 20 * g), "plum": objectness * sigmoid(-10 + 18 * b)}
    return [(label, yolo_box(head, row, col), score) for label, score in scores.items() if score >= confidence]


def ssd_box(row: int, col: int) -> list[float]:
    """SSD CENTER_SIZE decoding of the constant offsets against the cell's prior box (a cell's size, at its centre)."""
    dx, dy, dw, dh = SSD_LOC
    vx, vy, vw, vh = SSD_VARIANCE
    pw = ph = 8 / NET
    cx, cy = (col + 0.5) / GRID + vx * dx * pw, (row + 0.5) / GRID + vy * dy * ph
    bw, bh = pw * np.exp(vw * dw), ph * np.exp(vh * dh)
    w, h = SIZE
    return clip([(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h])


def caffe_scores(bgr: tuple[int, int, int]) -> dict[str, float]:
    """softmax(0, 10 * green, 10 * red) over MobileNet-SSD's input, (pixel - 127.5) / 127.5."""
    b, g, r = ((v - 127.5) / 127.5 for v in bgr)
    e = np.exp([0.0, 10 * g, 10 * r])
    return {"leaf": e[1] / e.sum(), "cherry": e[2] / e.sum()}


def tf_scores(bgr: tuple[int, int, int]) -> dict[str, float]:
    """sigmoid(-10 + 20 * channel / 255) on the raw pixels, the TensorFlow SSD family's input."""
    b, g, r = bgr
    return {"leaf": sigmoid(-10 + 20 * g / 255), "cherry": sigmoid(-10 + 20 * r / 255)}


# -- parameters and files ---------------------------------------------------------------------------------------

def test_valid_pipeline_validates() -> None:
    spec = spec_from_dict({"stages": [{"stage": "dnn_detect", "params": {"model": "yolov3", "width": 608, "height": 608, "agnostic": True,
                                                                          "mean": [104, 117, 123], "channels": "bgr", "first_class_id": 1}}]})
    assert spec.stages[0].params["width"] == 608


@pytest.mark.parametrize(("params", "name"), [
    ({"confidence": 1.5}, "confidence"), ({"family": "onnx"}, "family"), ({"width": 8}, "width"),
    ({"first_class_id": 2}, "first_class_id"), ({"mean": "grey"}, "mean"), ({"channels": "rbg"}, "channels"), ({"nms": 0.5}, "nms"),
])
def test_invalid_pipeline_names_stage_and_parameter(params: dict, name: str) -> None:
    with pytest.raises(PipelineError) as err:
        spec_from_dict({"stages": [{"stage": "dnn_detect", "params": params}]})
    assert "'dnn_detect'" in str(err.value) and f"'{name}'" in str(err.value)


def test_missing_default_model_is_one_sentence_with_every_pull_command(models_dir: Path) -> None:
    with pytest.raises(ModelMissingError) as err:
        stage_class("dnn_detect")().setup()
    text = str(err.value)
    assert "\n" not in text and ". " not in text
    assert text.endswith("vision-desk models pull yolov4-tiny && vision-desk models pull yolov4-tiny-cfg && vision-desk models pull coco-names")
    assert [(m.pull, m.folder) for m in err.value.missing] == [(n, str(models_dir)) for n in ("yolov4-tiny", "yolov4-tiny-cfg", "coco-names")]


def test_every_classic_manifest_model_lists_its_layout_and_names() -> None:
    from vision_desk.models import load_manifest

    manifest = load_manifest()
    models = {n: e for n, e in manifest.items() if "dnn_detect" in e.used_by and family_of(e.file)}
    assert {"yolov3", "yolov3-tiny", "yolov4", "yolov4-tiny", "mobilenet-ssd", "ssd-mobilenet-v2-coco"} <= set(models)
    layouts = {"darknet": ".cfg", "caffe": ".prototxt", "tensorflow": ".pbtxt"}
    for name, entry in models.items():
        files = [manifest[n].file for n in entry.needs]
        assert sum(f.endswith(layouts[family_of(entry.file)]) for f in files) == 1, name
        assert sum(f.endswith((".names", ".txt")) for f in files) == 1, name


@pytest.mark.parametrize(("name", "family", "stem"), [
    ("yolov4-tiny.weights", "darknet", "yolov4-tiny"), ("MobileNetSSD_deploy.caffemodel", "caffe", "MobileNetSSD_deploy"),
    ("frozen.pb", "tensorflow", "frozen"), ("ssd_mobilenet_v2_coco_2018_03_29.tar.gz", "tensorflow", "ssd_mobilenet_v2_coco_2018_03_29"),
    ("model.onnx", None, "model"),
])
def test_family_and_stem_from_the_file_name(name: str, family: str | None, stem: str) -> None:
    assert family_of(name) == family and stem_of(name) == stem


def test_an_unknown_ending_asks_for_the_family_and_the_override_loads_it(tmp_path: Path) -> None:
    files = write_yolo(tmp_path)
    renamed = files["weights"].rename(tmp_path / "tiny-yolo.bin")
    image = scene({(0, 1): YELLOW})
    with pytest.raises(VisionDeskError, match="cannot tell the network family of tiny-yolo.bin.*set family"):
        run({"model": str(renamed)}, image)
    frame = run({"model": str(renamed), "family": "darknet", "config": str(files["cfg"]), "names": str(files["names"])}, image)
    assert_same(rows(frame), yolo_expected(SMALL, 0, 1, YELLOW))


def test_a_path_model_without_its_layout_beside_it_says_which_file_to_give(tmp_path: Path) -> None:
    files = write_yolo(tmp_path)
    files["cfg"].unlink()
    with pytest.raises(VisionDeskError, match=r"no network layout for tiny-yolo.weights: there is no tiny-yolo.cfg beside it; set config"):
        run({"model": str(files["weights"])}, background())


# -- Darknet YOLO ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("version", [(0, 2, 0), (0, 1, 0)])
def test_yolo_boxes_from_both_output_layers_are_decoded_exactly(tmp_path: Path, version: tuple[int, int, int]) -> None:
    """Lemons (yellow), a plum (magenta), a white cell that is both, and a 2x2 block of lemons that the large head
    also sees. Weights files with a 64-bit (0.2) and a 32-bit (0.1) 'seen' counter load alike."""
    files = write_yolo(tmp_path, version=version)
    block = {(r, c): YELLOW for r in (2, 3) for c in (2, 3)}
    cells = {(0, 1): YELLOW, (0, 3): MAGENTA, (3, 0): WHITE, **block}
    frame = run({"model": str(files["weights"])}, scene(cells))
    expected = [box for (r, c), bgr in cells.items() for box in yolo_expected(SMALL, r, c, bgr)]
    expected += yolo_expected(LARGE, 1, 1, YELLOW)
    assert len(expected) == 9
    assert_same(rows(frame), expected)
    assert frame.values["dnn_detect_count"] == 9
    assert frame.events == ["dnn_detect: tiny-yolo.weights (Darknet YOLO, 2 YOLO output layers, input 32x32, 2 class names "
                            "from tiny-yolo.names) on cpu via OpenCV DNN"]
    det = frame.detections
    assert set(zip(det.label, det.class_id)) == {("lemon", 0), ("plum", 1)} and (det.track_id == -1).all()


def test_class_agnostic_nms_keeps_one_class_per_box(tmp_path: Path) -> None:
    files = write_yolo(tmp_path)
    cells = {(3, 0): WHITE, (0, 3): MAGENTA}
    per_class = rows(run({"model": str(files["weights"])}, scene(cells)))
    agnostic = rows(run({"model": str(files["weights"]), "agnostic": True}, scene(cells)))
    assert_same(per_class, yolo_expected(SMALL, 3, 0, WHITE) + yolo_expected(SMALL, 0, 3, MAGENTA))
    # the white cell's plum (objectness x sigmoid(8)) loses to its lemon (x sigmoid(10)); the lone plum stays
    assert_same(agnostic, yolo_expected(SMALL, 3, 0, WHITE)[:1] + yolo_expected(SMALL, 0, 3, MAGENTA))


@pytest.mark.parametrize(("iou", "kept"), [(0.45, 1), (0.55, 2)])
def test_nms_drops_the_weaker_of_two_boxes_overlapping_by_half(tmp_path: Path, iou: float, kept: int) -> None:
    """Anchors three cells wide: neighbouring cells' boxes overlap at IoU (3 - 1) / (3 + 1) = 0.5."""
    wide = YoloHead((24, 8), (0.0, 0.0, 0.0, 0.0), 1.0, (-10.0, 20.0), 4)
    files = write_yolo(tmp_path, heads=(wide, LARGE))
    dim = (0, 255, 200)  # less red: objectness sigmoid(-10 + 20 * 200 / 255) = 0.9966
    got = rows(run({"model": str(files["weights"]), "iou": iou}, scene({(1, 1): YELLOW, (1, 2): dim})))
    expected = yolo_expected(wide, 1, 1, YELLOW) + yolo_expected(wide, 1, 2, dim)
    assert_same(got, expected[:kept])


@pytest.mark.parametrize(("confidence", "found"), [(0.1, 1), (0.15, 0)])
def test_yolo_scores_below_opencvs_region_threshold_reach_the_confidence_parameter(tmp_path: Path, confidence: float, found: int) -> None:
    """A lemon scored 0.119: OpenCV's region layer would zero it (its thresh is 0.2); the stage sets thresh=0."""
    files = write_yolo(tmp_path)
    pale = (0, 102, 255)  # full red, green 0.4: sigmoid(-10 + 8) = 0.119
    got = rows(run({"model": str(files["weights"]), "confidence": confidence}, scene({(2, 1): pale})))
    expected = yolo_expected(SMALL, 2, 1, pale, confidence)
    assert len(expected) == found
    assert_same(got, expected)
    assert [round(r[2], 3) for r in got] == [0.119] * found


def test_classes_keep_names_or_numbers_and_unknown_names_are_refused(tmp_path: Path) -> None:
    files = write_yolo(tmp_path)
    image = scene({(0, 1): YELLOW, (0, 3): MAGENTA})
    assert [r[0] for r in rows(run({"model": str(files["weights"]), "classes": ["Plum"]}, image))] == ["plum"]
    assert [r[0] for r in rows(run({"model": str(files["weights"]), "classes": ["0"]}, image))] == ["lemon"]
    with pytest.raises(VisionDeskError, match=r"class\(es\) \['pear'\] are not in tiny-yolo.names \(it has lemon, plum\)"):
        run({"model": str(files["weights"]), "classes": ["pear"]}, image)
    numbers = run({"model": str(files["weights"]), "names": ""}, image)  # no names: labels are the class numbers
    assert sorted(numbers.detections.label) == ["0", "1"]


def test_truncated_weights_are_refused_not_run(tmp_path: Path) -> None:
    files = write_yolo(tmp_path)
    data = files["weights"].read_bytes()
    files["weights"].write_bytes(data[:-4])
    with pytest.raises(VisionDeskError, match=rf"tiny-yolo.weights holds {len(data) - 4} bytes, but its .cfg needs {len(data)}: it is truncated"):
        run({"model": str(files["weights"])}, background())


def test_weights_size_arithmetic_matches_the_published_yolo_files() -> None:
    """yolov3.weights is 248,007,048 bytes and yolov4-tiny.weights 24,251,276: a 20-byte header and float32s."""
    assert 20 + 4 * darknet_weight_count(yolov3_layout()) == 248_007_048
    assert 20 + 4 * darknet_weight_count(yolov4_tiny_layout()) == 24_251_276


def test_a_network_without_detection_outputs_is_refused(tmp_path: Path) -> None:
    from vision_desk.stages.artistic.caffe_write import write_tiny_colorization

    files = write_tiny_colorization(tmp_path, np.zeros((313, 2)))
    with pytest.raises(VisionDeskError, match="ends in Silence layers, not YOLO region layers or an SSD DetectionOutput"):
        run({"model": str(files["caffemodel"]), "config": str(files["prototxt"])}, background())


def test_cuda_is_refused_in_one_sentence_where_opencv_has_none(tmp_path: Path) -> None:
    if cuda_available():
        pytest.skip("this OpenCV build has a CUDA backend and a GPU")
    files = write_yolo(tmp_path)
    with pytest.raises(VisionDeskError, match="asked to run on CUDA, but this OpenCV build has no CUDA backend.*set device to auto or cpu"):
        run({"model": str(files["weights"]), "device": "cuda"}, background())
    assert run({"model": str(files["weights"]), "device": "auto"}, background()).events[0].endswith("on cpu via OpenCV DNN")


# -- SSDs --------------------------------------------------------------------------------------------------------

SSD_CELLS = {(1, 2): GREEN, (3, 0): RED, (0, 0): (0, 255, 249)}  # a leaf, a cherry, and a cell that is more leaf than cherry


@pytest.mark.parametrize("background_line", [False, True])
def test_caffe_ssd_boxes_and_labels_with_or_without_a_background_line(tmp_path: Path, background_line: bool) -> None:
    """Label 0 is the background: names start at label 1, unless their first line is 'background'."""
    files = write_caffe_ssd(tmp_path, background_line=background_line)
    frame = run({"model": str(files["caffemodel"])}, scene(SSD_CELLS))
    expected = [(label, ssd_box(r, c), s) for (r, c), bgr in SSD_CELLS.items() for label, s in caffe_scores(bgr).items() if s >= 0.25]
    assert len(expected) == 4  # the mixed cell is a leaf (0.62) and a cherry (0.38)
    assert_same(rows(frame), expected)
    assert set(zip(frame.detections.label, frame.detections.class_id)) == {("leaf", 1), ("cherry", 2)}
    assert "(Caffe SSD, SSD DetectionOutput, input 32x32" in frame.events[0]  # the prototxt's input shape


def test_ssd_first_class_id_override_and_agnostic_nms(tmp_path: Path) -> None:
    files = write_caffe_ssd(tmp_path)
    shifted = run({"model": str(files["caffemodel"]), "first_class_id": 0}, scene({(1, 2): GREEN}))
    assert list(shifted.detections.label) == ["cherry"]  # label 1 read as the names' line 1
    agnostic = rows(run({"model": str(files["caffemodel"]), "agnostic": True}, scene(SSD_CELLS)))
    assert [r[0] for r in agnostic] == ["cherry", "leaf", "leaf"]  # the mixed cell keeps only its leaf


@pytest.mark.parametrize("archive", [False, True])
def test_tensorflow_ssd_from_a_frozen_graph_or_its_archive(tmp_path: Path, archive: bool) -> None:
    files = write_tf_ssd(tmp_path, archive=archive)
    frame = run({"model": str(files["pb"]), "width": 32, "height": 32}, scene(SSD_CELLS))
    expected = [(label, ssd_box(r, c), s) for (r, c), bgr in SSD_CELLS.items() for label, s in tf_scores(bgr).items() if s >= 0.25]
    assert len(expected) == 4
    assert_same(rows(frame), expected)
    assert f"dnn_detect: {files['pb'].name} (TensorFlow SSD, SSD DetectionOutput, input 32x32, 2 class names" in frame.events[0]


# -- in pipelines ------------------------------------------------------------------------------------------------

def test_dnn_detect_then_track_count_and_privacy_in_a_pipeline(tmp_path: Path) -> None:
    """A lemon moving right along row 0 and a plum moving left along row 3, a cell every 6 frames, on a real clip:
    track gives each one id for the whole clip, count sees the lemon cross the middle line in and the plum out,
    privacy fills the plum's box."""
    wide = YoloHead((16, 8), (0.0, 0.0, 0.0, 0.0), 1.0, (-10.0, 20.0), 4)  # boxes two cells wide: steps overlap at IoU 0.5
    files = write_yolo(tmp_path / "net", heads=(wide, LARGE))
    frames = [scene({(0, i // 6): YELLOW, (3, 3 - i // 6): MAGENTA}) for i in range(24)]
    clip = write_clip(tmp_path / "fruit.mp4", frames)
    stages = [{"stage": "dnn_detect", "params": {"model": str(files["weights"])}},
              {"stage": "track", "params": {"source": "dnn_detect"}},
              {"stage": "count", "params": {"line": [96, 0, 96, 127], "line_anchor": "center", "source": "dnn_detect"}},
              {"stage": "privacy", "params": {"classes": ["plum"], "method": "fill", "padding": 0.0, "color": [0, 255, 0]}}]
    out = tmp_path / "fruit.jsonl"
    images: dict[int, np.ndarray] = {}
    engine = Engine(str(clip), Pipeline(spec_from_dict({"stages": stages})), sinks=[JsonlSink(out)], live=False, annotate=False,
                    on_frame=lambda f: images.__setitem__(f.index, f.image.copy()))
    engine.run()
    assert engine.error is None
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 24
    ids: dict[str, set] = {"lemon": set(), "plum": set()}
    for i, rec in enumerate(records):
        objects = {o["label"]: o for o in rec["objects"]}
        assert sorted(objects) == ["lemon", "plum"], f"frame {i}: {rec['objects']}"
        for label, row, col in (("lemon", 0, i // 6), ("plum", 3, 3 - i // 6)):
            np.testing.assert_allclose(objects[label]["xyxy"], yolo_box(wide, row, col), atol=0.5)
            ids[label].add(objects[label]["track_id"])
    assert all(len(v) == 1 and None not in v for v in ids.values()) and ids["lemon"] != ids["plum"]
    last = records[-1]["values"]
    assert (last["count_in"], last["count_out"], last["count_in_lemon"], last["count_out_plum"]) == (1, 1, 1, 1)
    x1, y1, x2, y2 = np.round(yolo_box(wide, 3, 0)).astype(int)  # the plum on the last frame, filled green
    assert (images[23][y1 + 1:y2 - 1, x1 + 1:x2 - 1] == (0, 255, 0)).all()


def test_every_third_frame_carries_the_objects_with_their_origin(tmp_path: Path) -> None:
    files = write_yolo(tmp_path)
    cls = stage_class("dnn_detect")
    stage = cls(cls.Params(model=str(files["weights"]), every=3))
    stage.setup()
    origins, counts = [], []
    for i in range(5):
        frame = Frame(scene({(0, i): YELLOW} if i < 4 else {}), i, i / 30)
        stage.process(frame)
        origins.append(frame.origin("dnn_detect").frame_index)
        counts.append(frame.values["dnn_detect_count"])
    assert origins == [0, 0, 0, 3, 3] and counts == [1, 1, 1, 1, 1]
