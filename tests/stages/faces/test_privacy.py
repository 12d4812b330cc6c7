"""face_privacy: faces are hidden, everything else stays exactly as it was."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.stages.faces.helpers import grown, outside_mask, run_stages
from vision_desk.stages.faces.privacy import anonymize


@pytest.mark.parametrize("method", ["blur", "pixelate", "fill"])
@pytest.mark.parametrize("shape", ["ellipse", "box"])
def test_faces_change_and_the_rest_does_not(zidane, method, shape):
    frame = run_stages([{"stage": "faces"}, {"stage": "face_privacy", "params": {"method": method, "shape": shape}}], zidane)
    assert frame.values["faces_hidden"] == 2
    faces = frame.detections.where(source="faces").xyxy
    diff = np.abs(frame.image.astype(np.int16) - zidane).max(axis=2)
    assert diff[outside_mask(zidane.shape, faces, 0.16)].max() == 0  # padding 0.15, plus rounding
    for box in faces:
        x1, y1, x2, y2 = (int(v) for v in box)
        centre = diff[(y1 + y2) // 2 - 10:(y1 + y2) // 2 + 10, (x1 + x2) // 2 - 10:(x1 + x2) // 2 + 10]
        assert centre.mean() > 10


def test_without_a_faces_stage_privacy_detects_faces_itself(zidane):
    frame = run_stages([{"stage": "face_privacy"}], zidane)
    assert frame.values["faces_hidden"] == 2
    assert frame.detections.empty  # a privacy filter hides faces, it does not list them


def test_only_unknown_faces_are_hidden(astronaut, zidane, astronaut_gallery):
    scene = zidane.copy()
    scene[400:720, 0:320] = cv2.resize(astronaut, (320, 320), interpolation=cv2.INTER_AREA)  # she joins them, known
    stages = [
        {"stage": "faces", "params": {"recognize": True, "gallery": str(astronaut_gallery), "tracking": "off"}},
        {"stage": "face_privacy", "params": {"faces": "unknown", "method": "fill"}},
    ]
    frame = run_stages(stages, scene)
    det = frame.detections.where(source="faces")
    known = [i for i, n in enumerate(det.data["identity"]) if n != "unknown"]
    assert len(det) == 3 and len(known) == 1
    assert frame.values["faces_hidden"] == 2
    x1, y1, x2, y2 = grown(det.xyxy[known[0]], 0.2, scene.shape)
    np.testing.assert_array_equal(frame.image[y1:y2, x1:x2], scene[y1:y2, x1:x2])  # her face is left alone
    unknown = np.delete(det.xyxy, known, axis=0)
    diff = np.abs(frame.image.astype(np.int16) - scene).max(axis=2)
    assert diff[outside_mask(scene.shape, unknown, 0.16)].max() == 0


def test_stronger_pixelation_keeps_less_detail(astronaut):
    box = np.array([[181, 62, 268, 172]], np.float32)
    face = lambda im: im[62:172, 181:268]  # noqa: E731
    detail = [len(np.unique(face(anonymize(astronaut, box, "pixelate", s, 0.0, "box")).reshape(-1, 3), axis=0)) for s in (10, 50, 100)]
    assert detail[0] > detail[1] > detail[2] == 9  # 100 means 3 x 3 cells
