from __future__ import annotations

import json

import numpy as np

from vision_desk.engine.results import Detections


def test_merge_keeps_columns_aligned() -> None:
    a = Detections.from_boxes([[0, 0, 10, 10], [5, 5, 20, 20]], "person", [0.9, 0.8], source="detect")
    b = Detections.from_boxes([[1, 1, 2, 2]], "qr", source="codes", payload=["hello"])
    m = a.merge(b)
    assert len(m) == 3
    assert list(m.label) == ["person", "person", "qr"]
    assert list(m.data["payload"]) == [None, None, "hello"]
    assert list(m.where(source="codes").data["payload"]) == ["hello"]
    assert m[m.score > 0.85].label.tolist() == ["person", "qr"]


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
