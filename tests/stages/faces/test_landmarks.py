"""68-point landmarks and head pose on the astronaut's face."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.stages.faces.helpers import ASTRONAUT_FACE, grown, run_stages


@pytest.fixture(scope="module")
def astronaut_landmarks(astronaut):
    return run_stages([{"stage": "faces"}, {"stage": "landmarks"}], astronaut)


def test_68_points_inside_the_face_box_with_eyes_above_the_mouth(astronaut_landmarks, astronaut):
    det = astronaut_landmarks.detections
    assert len(det) == 1  # landmarks annotate the faces stage's row, they add none
    points = np.asarray(det.data["landmarks"][0])
    assert points.shape == (68, 2)
    x1, y1, x2, y2 = grown(ASTRONAUT_FACE, 0.1, astronaut.shape)  # the measured box, 10% slack: the jaw line hugs it
    assert np.all((points >= (x1, y1)) & (points <= (x2, y2)))
    right_eye, left_eye, mouth = points[36:42], points[42:48], points[48:68]
    assert right_eye[:, 0].max() < left_eye[:, 0].min()  # the subject's right eye is on the image's left
    assert max(right_eye[:, 1].max(), left_eye[:, 1].max()) < mouth[:, 1].min()
    assert right_eye[:, 1].max() < points[30, 1] < mouth[:, 1].min()  # nose tip between eyes and mouth


def test_head_pose_is_near_frontal(astronaut_landmarks):
    v = astronaut_landmarks.values
    assert v["landmarks_count"] == 1
    # Measured: yaw 3.6, pitch 12.4 (her smile and a generic head model), roll 3.0.
    assert abs(v["head_yaw"]) < 15 and abs(v["head_pitch"]) < 20 and abs(v["head_roll"]) < 10
    assert astronaut_landmarks.detections.data["head_pose"][0] == {"yaw": v["head_yaw"], "pitch": v["head_pitch"], "roll": v["head_roll"]}


def test_roll_follows_an_in_plane_rotation(astronaut, astronaut_landmarks):
    h, w = astronaut.shape[:2]
    turned = cv2.warpAffine(astronaut, cv2.getRotationMatrix2D((225, 120), 10, 1.0), (w, h))  # 10 degrees anticlockwise
    frame = run_stages([{"stage": "landmarks"}], turned)
    assert frame.values["head_roll"] - astronaut_landmarks.values["head_roll"] == pytest.approx(-10, abs=3)


def test_landmarks_alone_find_faces_themselves(zidane):
    frame = run_stages([{"stage": "landmarks", "params": {"pose": False}}], zidane)
    det = frame.detections
    assert list(det.source) == ["landmarks", "landmarks"] and list(det.label) == ["face", "face"]
    assert all(np.asarray(p).shape == (68, 2) for p in det.data["landmarks"])
    assert "head_pose" not in det.data and "head_yaw" not in frame.values


@pytest.mark.parametrize("style", ["points", "contours", "both"])
def test_draw_marks_the_face_only(astronaut, style):
    from vision_desk.engine.frame import Frame
    from vision_desk.engine.pipeline import Pipeline, spec_from_dict

    pipeline = Pipeline(spec_from_dict({"stages": [{"stage": "faces"}, {"stage": "landmarks", "params": {"style": style, "axes": False}}]}))
    frame = pipeline.process(Frame(astronaut.copy(), 0, 0.0))
    canvas = astronaut.copy()
    pipeline.draw(canvas, frame)
    changed = np.any(canvas != astronaut, axis=2)
    x1, y1, x2, y2 = grown(ASTRONAUT_FACE, 0.15, astronaut.shape)
    assert changed[y1:y2, x1:x2].sum() > 100
    assert changed.sum() == changed[y1:y2, x1:x2].sum()
