"""Detection without deep learning: template matching, Haar cascades, HOG people, on real photos with measured answers."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.media import skimage_bgr, ultralytics_asset
from tests.stages.classical.stage_runs import entry_tests, run_clip, run_frames
from vision_desk.engine.results import box_iou
from vision_desk.errors import VisionDeskError
from vision_desk.stages.classical.detect_classic import CASCADES, match_template, nms

# Measured once by eye on a 2x enlargement with a 20-pixel grid: eyebrows to chin, cheek to cheek.
ASTRONAUT_FACE = (180, 75, 270, 178)
# The four people in ultralytics' bus.jpg (810x1080), measured once by eye on a 100-pixel grid:
# beige coat, black coat beside him, the man cut by the right edge, the one cut by the left edge.
BUS_PEOPLE = [(50, 395, 245, 905), (220, 405, 345, 860), (665, 370, 810, 880), (0, 550, 75, 875)]
FACE_CROP = (170, 60, 110, 120)  # x, y, w, h of the astronaut's face, cut as a template


@pytest.fixture(scope="module")
def face_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    x, y, w, h = FACE_CROP
    crop = skimage_bgr("astronaut")[y : y + h, x : x + w].copy()
    path = tmp_path_factory.mktemp("template") / "face.png"
    cv2.imwrite(str(path), crop)
    return path, crop


# -- template matching ----------------------------------------------------------------------


@pytest.mark.parametrize("shift", [(40, 25), (-33, 12)])
def test_template_found_at_its_shifted_position(face_template, shift) -> None:  # noqa: ANN001
    path, _ = face_template
    dx, dy = shift
    photo = skimage_bgr("astronaut")
    moved = cv2.warpAffine(photo, np.float32([[1, 0, dx], [0, 1, dy]]), (512, 512), borderMode=cv2.BORDER_REFLECT)
    frame = run_frames([{"stage": "template", "params": {"template": str(path)}}], [moved])[0]
    det = frame.detections.where(source="template")
    assert len(det) == 1 and frame.values["template_count"] == 1
    x, y, w, h = FACE_CROP
    np.testing.assert_allclose(det.xyxy[0], [x + dx, y + dy, x + dx + w, y + dy + h], atol=1)
    assert det.score[0] > 0.99 and frame.values["template_best"] > 0.99


def test_template_finds_every_copy_once(face_template) -> None:  # noqa: ANN001
    """Three pasted copies of the face on another photo: three matches, one per copy, after NMS."""
    _, crop = face_template
    scene = cv2.resize(skimage_bgr("coffee"), (900, 500))
    places = [(30, 40), (400, 300), (700, 100)]
    for x, y in places:
        scene[y : y + crop.shape[0], x : x + crop.shape[1]] = crop
    boxes, scores = match_template(scene, crop, "ccoeff_normed", confidence=0.6, max_matches=10, overlap=0.3)
    assert sorted((int(b[0]), int(b[1])) for b in boxes) == sorted(places)
    assert (scores > 0.99).all()
    # Each copy scores above the threshold at many neighbouring positions: one box each is the suppression's work.
    raw = cv2.matchTemplate(scene, crop, cv2.TM_CCOEFF_NORMED)
    assert np.count_nonzero(raw >= 0.6) > 3 * len(places)


@pytest.mark.parametrize("method", ["ccoeff_normed", "ccorr_normed", "sqdiff_normed"])
def test_template_methods_agree_on_the_best_match(face_template, method) -> None:  # noqa: ANN001
    _, crop = face_template
    boxes, scores = match_template(skimage_bgr("astronaut"), crop, method, confidence=0.5, max_matches=1)
    assert tuple(boxes[0][:2]) == FACE_CROP[:2] and scores[0] > 0.99


def test_nms_keeps_the_best_of_overlapping_boxes() -> None:
    boxes = np.float32([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60], [2, 0, 12, 10]])
    scores = np.float32([0.7, 0.9, 0.5, 0.8])
    assert nms(boxes, scores, 0.3).tolist() == [1, 2]
    assert nms(boxes, scores, 0.3, limit=1).tolist() == [1]
    assert nms(boxes, scores, 1.0).tolist() == [1, 3, 0, 2]


def test_template_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(VisionDeskError, match="does not exist"):
        run_frames([{"stage": "template", "params": {"template": str(tmp_path / "nope.png")}}], [skimage_bgr("coffee")])


def test_template_without_a_file_reports_nothing() -> None:
    frame = run_frames([{"stage": "template"}], [skimage_bgr("coffee")])[0]
    assert frame.values["template_count"] == 0 and frame.detections.empty


# -- Haar cascades ------------------------------------------------------------------------------


def test_cascade_choices_are_what_opencv_ships() -> None:
    shipped = {f[len("haarcascade_") : -4] for f in os.listdir(cv2.data.haarcascades) if f.endswith(".xml")}
    assert set(CASCADES) == shipped
    assert {"frontalface_default", "eye", "smile", "fullbody", "frontalcatface", "russian_plate_number"} <= shipped


def test_haar_finds_the_astronauts_face_and_eyes() -> None:
    frame = run_frames(
        [{"stage": "haar"}, {"stage": "haar", "params": {"cascade": "eye", "min_size": 20, "downscale": 1.0}}], [skimage_bgr("astronaut")]
    )[0]
    faces = frame.detections.where(label="face")
    assert len(faces) == 1
    assert box_iou(faces.xyxy[0], ASTRONAUT_FACE)[0, 0] > 0.5  # 0.67 at the default downscale 2, 0.75 at 1
    eyes = frame.detections.where(label="eye")
    assert len(eyes) == 2
    centres = sorted(((b[0] + b[2]) / 2, (b[1] + b[3]) / 2) for b in eyes.xyxy)
    # Left eye about (204, 102), right eye about (246, 102) on the same grid.
    np.testing.assert_allclose(centres, [(204, 102), (246, 102)], atol=8)


@pytest.mark.parametrize("downscale", [1.0, 1.5, 3.0])
def test_haar_downscale_reports_boxes_in_frame_pixels(downscale: float) -> None:
    frame = run_frames([{"stage": "haar", "params": {"downscale": downscale}}], [skimage_bgr("astronaut")])[0]
    faces = frame.detections.where(label="face")
    assert len(faces) == 1 and box_iou(faces.xyxy[0], ASTRONAUT_FACE)[0, 0] > 0.5


def test_haar_finds_no_face_in_a_cup_of_coffee() -> None:
    frame = run_frames([{"stage": "haar"}], [skimage_bgr("coffee")])[0]
    assert frame.values["haar_count"] == 0


# -- HOG people ---------------------------------------------------------------------------------


def test_hog_finds_the_people_in_bus_jpg() -> None:
    """People there are ~500 px tall; downscale 3 brings them near the detector's 128-px window."""
    image = cv2.imread(str(ultralytics_asset("bus.jpg")))
    params = {"downscale": 3.0, "win_stride": 4, "padding": 32}
    frame = run_frames([{"stage": "hog", "params": params}], [image])[0]
    boxes = frame.detections.where(label="person").xyxy
    # HOG boxes include the window's margin around a person, so IoU 0.3 with a tight box is a hit.
    matched = {i for i, person in enumerate(BUS_PEOPLE) if (box_iou(boxes, person) >= 0.3).any()}
    assert len(matched) >= 3, (boxes, matched)
    assert {0, 1, 2} <= matched  # the three people seen whole or nearly
    assert frame.values["hog_count"] == len(boxes)


def test_hog_finds_nobody_in_a_cup_of_coffee() -> None:
    frame = run_frames([{"stage": "hog", "params": {"downscale": 1.0}}], [skimage_bgr("coffee")])[0]
    assert frame.values["hog_count"] == 0


def test_hog_on_a_frame_smaller_than_its_window_finds_nobody() -> None:
    """OpenCV's HOG crashes the process on images smaller than its 64x128 window; the stage must not call it then."""
    frame = run_frames([{"stage": "hog"}], [skimage_bgr("coffee")[:200, :200]])[0]  # 100x100 after downscale 2
    assert frame.values["hog_count"] == 0


# -- pipeline files and a real 720p clip ---------------------------------------------------------

VALID = [
    ("template", {"template": "waldo.png", "method": "sqdiff_normed", "confidence": 0.7, "max_matches": 5}),
    ("haar", {"cascade": "smile", "scale_factor": 1.2, "min_neighbors": 20, "min_size": 25}),
    ("hog", {"downscale": 3.0, "win_stride": 4, "padding": 32, "overlap": 0.5}),
]
INVALID = [
    ("template", {"method": "fuzzy"}, "method"),
    ("template", {"confidence": 1.5}, "confidence"),
    ("haar", {"cascade": "dog_face"}, "cascade"),
    ("haar", {"scale_factor": 1.0}, "scale_factor"),
    ("hog", {"win_stride": 5}, "win_stride"),
    ("hog", {"downscale": 0.5}, "downscale"),
]


test_valid_pipeline_entries, test_invalid_pipeline_entries = entry_tests(VALID, INVALID)


def test_detection_stages_over_a_720p_clip(clip_720p: Path, tmp_path: Path) -> None:
    """The clip pans 2 px left and 0.5 px up per frame, so a patch cut from frame 0 moves with it."""
    cap = cv2.VideoCapture(str(clip_720p))
    ok, first = cap.read()
    cap.release()
    assert ok
    x0, y0 = 500, 150
    cv2.imwrite(str(tmp_path / "patch.png"), first[y0 : y0 + 120, x0 : x0 + 120])
    stages = [
        {"stage": "template", "params": {"template": str(tmp_path / "patch.png"), "threshold": 0.7}},
        {"stage": "haar"},
        {"stage": "hog", "params": {"downscale": 4.0}},
    ]
    frames = run_clip(clip_720p, stages, max_frames=6)
    for f in frames:
        match = f.detections.where(source="template")
        assert len(match) >= 1
        np.testing.assert_allclose(match.xyxy[0][:2], [x0 - 2 * f.index, y0 - f.index // 2], atol=2)
        assert "haar_count" in f.values and "hog_count" in f.values
