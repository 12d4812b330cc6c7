from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from vision_desk.engine.results import Detections, box_iou

# The four people in ultralytics' bus.jpg (tests/stages/classical/test_detect_classic.py measured them): the beige
# coat overlaps the black coat beside him by 25 x 455 px and the man cut by the left edge by 25 x 325 px.
BUS_PEOPLE = np.array([(50, 395, 245, 905), (220, 405, 345, 860), (665, 370, 810, 880), (0, 550, 75, 875)])


def test_merge_keeps_columns_aligned() -> None:
    a = Detections.from_boxes([[0, 0, 10, 10], [5, 5, 20, 20]], "person", [0.9, 0.8], source="detect")
    b = Detections.from_boxes([[1, 1, 2, 2]], "qr", source="codes", payload=["hello"])
    m = a.merge(b)
    assert len(m) == 3
    assert list(m.label) == ["person", "person", "qr"]
    assert list(m.data["payload"]) == [None, None, "hello"]
    assert list(m.where(source="codes").data["payload"]) == ["hello"]
    assert m[m.score > 0.85].label.tolist() == ["person", "qr"]


def test_rows_select_a_stages_objects_of_one_label_in_any_case() -> None:
    det = Detections.from_boxes([[0, 0, 1, 1]] * 2, ["Plate", "car"], source="detect").merge(
        Detections.from_boxes([[0, 0, 1, 1]], "plate", source="contours"))
    assert det.rows().tolist() == [0, 1, 2]
    assert det.rows("detect").tolist() == [0, 1]
    assert det.rows(label="PLATE").tolist() == [0, 2]
    assert det.rows("detect", "plate").tolist() == [0]
    assert det.rows("faces").tolist() == [] and Detections().rows("detect", "plate").tolist() == []


def test_records_are_json_ready() -> None:
    d = Detections.from_boxes(np.array([[1.234, 2, 3, 4]]), ["text"], [0.5], track_id=[7], polygon=[np.array([[1, 2], [3, 4], [5, 6]])], text=["Hi"])
    rec = d.to_records()[0]
    assert rec == {"xyxy": [1.23, 2.0, 3.0, 4.0], "label": "text", "score": 0.5, "track_id": 7, "polygon": [[1, 2], [3, 4], [5, 6]], "text": "Hi"}
    json.dumps(rec)


def test_merge_pads_masks_and_keypoints() -> None:
    masks = np.zeros((1, 4, 4), bool)
    masks[0, 1:3, 1:3] = True
    a = Detections.from_boxes([[1, 1, 3, 3]], "cat", mask=masks)
    b = Detections.from_boxes([[0, 0, 1, 1]], "dog")
    m = a.merge(b)
    assert m.mask is not None and m.mask.shape == (2, 4, 4) and m.mask[0].sum() == 4 and m.mask[1].sum() == 0


def test_empty_keypoints_and_clean_float_export() -> None:
    empty = Detections.from_boxes(np.zeros((0, 4)), "face", keypoints=np.zeros((0, 5, 3)))
    assert len(empty) == 0 and empty.keypoints.shape == (0, 5, 3)
    kp = np.array([[[142.26, 10.5, 0.9]]], np.float32)
    rec = Detections.from_boxes([[0, 0, 1, 1]], "face", keypoints=kp, landmarks=[np.array([[142.26, 7.1]], np.float32)]).to_records()[0]
    assert rec["keypoints"] == [[142.26, 10.5, 0.9]]
    assert rec["landmarks"] == [[142.26, 7.1]]


def test_box_iou_of_real_boxes_is_the_pairwise_matrix() -> None:
    m = box_iou(BUS_PEOPLE, BUS_PEOPLE[:2])
    assert m.shape == (4, 2) and m.dtype == np.float32
    coats = 25 * 455 / (195 * 510 + 125 * 455 - 25 * 455)  # intersection over union, by hand
    edge = 25 * 325 / (195 * 510 + 75 * 325 - 25 * 325)
    np.testing.assert_allclose(m, [[1, coats], [coats, 1], [0, 0], [edge, 0]], rtol=1e-6)
    np.testing.assert_array_equal(box_iou(BUS_PEOPLE[:2], BUS_PEOPLE), m.T)  # symmetric


def test_box_iou_agrees_with_torchvision_on_float_boxes() -> None:
    import torch
    from torchvision.ops import box_iou as torchvision_iou

    jittered = BUS_PEOPLE + np.random.default_rng(0).uniform(-20, 20, BUS_PEOPLE.shape)  # float corners, still boxes
    theirs = torchvision_iou(torch.from_numpy(BUS_PEOPLE.astype(np.float64)), torch.from_numpy(jittered)).numpy()
    np.testing.assert_allclose(box_iou(BUS_PEOPLE, jittered), theirs, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(("a", "b", "expected"), [
    ([0, 0, 10, 10], [0, 0, 10, 10], 1.0),  # the same box
    ([0, 0, 10, 10], [2, 2, 4, 4], 4 / 100),  # one inside the other
    ([0, 0, 10, 10], [10, 0, 20, 10], 0.0),  # touching edges share no area
    ([0, 0, 10, 10], [30, 30, 40, 40], 0.0),  # apart
    ([5, 5, 5, 5], [5, 5, 5, 5], 0.0),  # two points: no union at all, 0 rather than NaN
    ([0, 5, 10, 5], [0, 0, 10, 10], 0.0),  # a line inside a box
    ([0, 0, 50000, 50000], [0, 0, 50000, 25000], 0.5),  # int areas past int32: no overflow
])
def test_box_iou_edge_cases(a: list[int], b: list[int], expected: float) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no division warnings either
        got = box_iou(np.array([a], np.int32), np.array([b], np.int32))
    assert got.shape == (1, 1) and got[0, 0] == pytest.approx(expected)


@pytest.mark.parametrize(("a", "b", "shape"), [
    (np.zeros((0, 4)), BUS_PEOPLE, (0, 4)),
    (BUS_PEOPLE, np.zeros((0, 4)), (4, 0)),
    ([], [], (0, 0)),
    (BUS_PEOPLE[0], BUS_PEOPLE, (1, 4)),  # one box as (4,) counts as (1, 4)
    (tuple(BUS_PEOPLE[0]), list(BUS_PEOPLE[1]), (1, 1)),  # plain sequences
])
def test_box_iou_shapes(a, b, shape: tuple[int, int]) -> None:  # noqa: ANN001
    assert box_iou(a, b).shape == shape
