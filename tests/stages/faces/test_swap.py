"""face_swap: Delaunay triangles, affine warps and seamless cloning change the faces and nothing else."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.stages.faces.helpers import outside_mask, run_stages
from vision_desk.errors import VisionDeskError
from vision_desk.stages.faces.backends import detect_faces, predict_landmarks
from vision_desk.stages.faces.swap import delaunay


def changed_inside_and_outside(before: np.ndarray, after: np.ndarray, boxes: np.ndarray) -> tuple[list[float], int]:
    """Mean change inside each face box, and the largest change outside the faces.

    Outside the faces means outside both the landmarks' convex hulls (the swap's exact mask; dlib's jaw line
    may reach past MTCNN's box) and the face boxes grown by 10%.
    """
    diff = np.abs(after.astype(np.int16) - before).max(axis=2)
    inside = [float(diff[int(y1):int(y2), int(x1):int(x2)].mean()) for x1, y1, x2, y2 in boxes]
    outside = outside_mask(before.shape, boxes, 0.1)
    for points in predict_landmarks(before, boxes):
        hull = np.zeros(before.shape[:2], np.uint8)
        cv2.fillConvexPoly(hull, cv2.convexHull(np.int32(np.round(points))), 1)
        outside &= hull == 0
    return inside, int(diff[outside].max())


def test_pair_mode_swaps_zidane_s_two_faces(zidane):
    frame = run_stages([{"stage": "faces"}, {"stage": "face_swap"}], zidane)
    assert frame.values["faces_swapped"] == 2
    inside, outside = changed_inside_and_outside(zidane, frame.image, frame.detections.xyxy)
    assert min(inside) > 10 and outside == 0


@pytest.mark.parametrize("seamless", [True, False])
def test_image_mode_puts_the_astronaut_on_every_face(zidane, astronaut_png, seamless):
    params = {"mode": "image", "image": str(astronaut_png), "seamless": seamless}
    frame = run_stages([{"stage": "face_swap", "params": params}], zidane)
    assert frame.values["faces_swapped"] == 2
    inside, outside = changed_inside_and_outside(zidane, frame.image, detect_faces(zidane).xyxy)
    assert min(inside) > 10 and outside == 0


def test_one_face_in_pair_mode_leaves_the_frame_alone(astronaut):
    frame = run_stages([{"stage": "face_swap"}], astronaut)
    assert frame.values["faces_swapped"] == 0
    np.testing.assert_array_equal(frame.image, astronaut)


def test_a_face_photo_without_a_face_is_a_clear_error(tmp_path, coffee, zidane):
    from vision_desk.engine.pipeline import Pipeline, spec_from_dict

    cv2.imwrite(str(tmp_path / "coffee.png"), coffee)
    pipeline = Pipeline(spec_from_dict({"stages": [{"stage": "face_swap", "params": {"mode": "image", "image": str(tmp_path / "coffee.png")}}]}))
    with pytest.raises(VisionDeskError, match="no face found in .*coffee.png; pick a photo with one clear, frontal face"):
        pipeline.setup()


def test_delaunay_tiles_the_landmarks_convex_hull(astronaut):
    points = predict_landmarks(astronaut, detect_faces(astronaut).xyxy)[0]
    triangles = delaunay(points, astronaut.shape[:2])
    assert len(triangles) > 90 and triangles.max() < 68
    area = sum(abs(cv2.contourArea(points[t])) for t in triangles)
    assert area == pytest.approx(cv2.contourArea(cv2.convexHull(points)), rel=1e-3)
