"""Moving results with the scene: box shifts by optical flow (textured objects) or by matching (flat ones),
and rows moved with their masks, keypoints and outlines."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.media import moving_object_frames, skimage_bgr
from vision_desk.engine.motion import SmallGray, box_shifts, shift_rows
from vision_desk.engine.results import Detections


def test_a_textured_object_is_followed_by_flow() -> None:
    bg = cv2.resize(skimage_bgr("coffee"), (640, 360))
    cat = cv2.resize(skimage_bgr("chelsea")[40:260, 100:320], (80, 80))
    frames = []
    for x in (100, 111):  # 11 px to the right
        img = bg.copy()
        img[140:220, x:x + 80] = cat
        frames.append(img)
    shifts = box_shifts(SmallGray.of(frames[0]), SmallGray.of(frames[1]), np.float32([[100, 140, 180, 220]]))
    np.testing.assert_allclose(shifts[0], [11, 0], atol=1.0)


def test_a_flat_object_is_found_again_by_its_outline() -> None:
    """A plain red disc has no corners inside: its whole box, outline included, is matched instead."""
    frames, centres = moving_object_frames(3, speed=9)
    (cx, cy), r = centres[0], 30
    shifts = box_shifts(SmallGray.of(frames[0]), SmallGray.of(frames[2]), np.float32([[cx - r, cy - r, cx + r, cy + r]]))
    np.testing.assert_allclose(shifts[0], [18, 0], atol=2.0)


def test_the_background_does_not_move_a_box_on_a_still_scene() -> None:
    img = cv2.resize(skimage_bgr("coffee"), (640, 360))
    shifts = box_shifts(SmallGray.of(img), SmallGray.of(img.copy()), np.float32([[200, 100, 300, 200], [10, 10, 60, 60]]))
    np.testing.assert_allclose(shifts, 0, atol=0.1)


def test_rows_move_with_their_masks_keypoints_and_outlines() -> None:
    mask = np.zeros((1, 50, 60), bool)
    mask[0, 10:20, 10:20] = True
    det = Detections.from_boxes([[10, 10, 20, 20]], "thing", mask=mask, keypoints=np.float32([[[15, 15, 1.0]]]),
                                polygon=[[[10, 10], [20, 10], [20, 20], [10, 20]]])
    moved = shift_rows(det, np.float32([[5, -3]]), (50, 60))
    np.testing.assert_allclose(moved.xyxy, [[15, 7, 25, 17]])
    np.testing.assert_allclose(moved.keypoints[0, 0], [20, 12, 1.0])
    assert moved.mask[0, 7:17, 15:25].all() and moved.mask.sum() == 100
    assert moved.data["polygon"][0] == [[15.0, 7.0], [25.0, 7.0], [25.0, 17.0], [15.0, 17.0]]
    np.testing.assert_allclose(det.xyxy, [[10, 10, 20, 20]])  # the original rows stay where they were found


@pytest.mark.parametrize("shift", [(-70, 0), (0, 60)])
def test_a_box_moved_out_of_the_frame_is_clipped_and_its_mask_emptied(shift: tuple[int, int]) -> None:
    mask = np.zeros((1, 50, 60), bool)
    mask[0, 10:20, 10:20] = True
    det = Detections.from_boxes([[10, 10, 20, 20]], "thing", mask=mask)
    moved = shift_rows(det, np.float32([shift]), (50, 60))
    assert not moved.mask.any()
    assert (moved.xyxy >= 0).all() and (moved.xyxy[:, [0, 2]] <= 60).all() and (moved.xyxy[:, [1, 3]] <= 50).all()
