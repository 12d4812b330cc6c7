"""Contours: shapes drawn with known kinds and counts are traced, named, measured, filtered and sorted."""

from __future__ import annotations

import math
from collections import Counter

import cv2
import numpy as np
import pytest

from tests.media import skimage_bgr
from tests.stages.classical.helpers_a import run_stage
from vision_desk.stages.classical.contours import ellipse_fit_error, name_shape

INK = (40, 60, 90)


def regular(cx: float, cy: float, r: float, n: int, rot: float = 0.0) -> np.ndarray:
    return np.array([[cx + r * math.cos(rot + 2 * math.pi * i / n), cy + r * math.sin(rot + 2 * math.pi * i / n)]
                     for i in range(n)]).round().astype(np.int32)


def star(cx: float, cy: float, outer: float, inner: float) -> np.ndarray:
    return np.array([[cx + (outer if i % 2 == 0 else inner) * math.cos(-math.pi / 2 + math.pi * i / 5),
                      cy + (outer if i % 2 == 0 else inner) * math.sin(-math.pi / 2 + math.pi * i / 5)]
                     for i in range(10)]).round().astype(np.int32)


# (kind, centre, how to draw it) for 15 shapes on an 800 x 480 sheet
SHAPES = [
    ("triangle", (80, 80), lambda img: cv2.fillPoly(img, [regular(80, 80, 50, 3, -math.pi / 2)], INK)),
    ("triangle", (220, 90), lambda img: cv2.fillPoly(img, [regular(220, 90, 45, 3, 0.3)], INK)),
    ("square", (340, 80), lambda img: cv2.rectangle(img, (300, 40), (380, 120), INK, -1)),
    ("square", (480, 85), lambda img: cv2.fillPoly(img, [cv2.boxPoints(((480, 85), (70, 70), 30)).round().astype(np.int32)], INK)),
    ("rectangle", (640, 80), lambda img: cv2.rectangle(img, (560, 50), (720, 110), INK, -1)),
    ("rectangle", (100, 230), lambda img: cv2.fillPoly(img, [cv2.boxPoints(((100, 230), (140, 60), -20)).round().astype(np.int32)], INK)),
    ("pentagon", (260, 230), lambda img: cv2.fillPoly(img, [regular(260, 230, 50, 5, -math.pi / 2)], INK)),
    ("hexagon", (400, 230), lambda img: cv2.fillPoly(img, [regular(400, 230, 50, 6)], INK)),
    ("hexagon", (540, 230), lambda img: cv2.fillPoly(img, [regular(540, 230, 40, 6, 0.5)], INK)),
    ("circle", (680, 230), lambda img: cv2.circle(img, (680, 230), 50, INK, -1)),
    ("circle", (90, 380), lambda img: cv2.circle(img, (90, 380), 30, INK, -1)),
    ("circle", (200, 380), lambda img: cv2.circle(img, (200, 380), 55, INK, -1)),
    ("ellipse", (360, 380), lambda img: cv2.ellipse(img, (360, 380), (80, 40), 20, 0, 360, INK, -1)),
    ("star", (540, 380), lambda img: cv2.fillPoly(img, [star(540, 380, 70, 28)], INK)),
    ("octagon", (700, 380), lambda img: cv2.fillPoly(img, [regular(700, 380, 55, 8, 0.2)], INK)),
]


@pytest.fixture(scope="module")
def sheet() -> np.ndarray:
    """The shapes in dark ink on a light, smoothed real photo (camera), like a printed sheet."""
    paper = cv2.convertScaleAbs(cv2.resize(skimage_bgr("camera"), (800, 480)), alpha=0.25, beta=180)
    image = cv2.GaussianBlur(paper, (0, 0), 3)
    for _, _, draw in SHAPES:
        draw(image)
    return image


def test_every_shape_is_named_and_counted(sheet: np.ndarray) -> None:
    frame = run_stage("contours", sheet)
    objects = frame.detections.where(source="contours")
    assert frame.values["contours_count"] == len(SHAPES) == len(objects)
    assert Counter(objects.label.tolist()) == Counter(kind for kind, _, _ in SHAPES)
    assert frame.values["contours_shapes"] == "circle:3 ellipse:1 hexagon:2 octagon:1 pentagon:1 rectangle:2 square:2 star:1 triangle:2"
    # each named shape sits where it was drawn (centroid from moments)
    centroids = np.array(objects.data["centroid"].tolist(), float)
    for kind, centre, _ in SHAPES:
        nearest = int(np.argmin(np.linalg.norm(centroids - centre, axis=1)))
        assert np.linalg.norm(centroids[nearest] - centre) < 6, kind
        assert objects.label[nearest] == kind


def test_shape_names_survive_blur_and_noise(sheet: np.ndarray) -> None:
    rng = np.random.default_rng(5)
    rough = np.clip(cv2.GaussianBlur(sheet, (5, 5), 0).astype(np.int16) + rng.integers(-12, 13, sheet.shape), 0, 255).astype(np.uint8)
    frame = run_stage("contours", rough)
    assert Counter(frame.detections.label.tolist()) == Counter(kind for kind, _, _ in SHAPES)


def test_measures_area_polygon_and_box(sheet: np.ndarray) -> None:
    objects = run_stage("contours", sheet).detections
    square = [i for i in range(len(objects)) if objects.label[i] == "square" and objects.xyxy[i][0] < 310][0]
    assert abs(objects.data["area"][square] - 80 * 80) < 2 * 80 * 2  # within a pixel-wide rim
    np.testing.assert_allclose(objects.xyxy[square], (300, 40, 381, 121), atol=1)
    assert len(objects.data["polygon"][square]) == 4
    circle = int(np.argmin(np.linalg.norm(np.array(objects.data["centroid"].tolist(), float) - (200, 380), axis=1)))
    assert abs(objects.data["area"][circle] - math.pi * 55**2) < 0.03 * math.pi * 55**2
    assert abs(objects.data["perimeter"][circle] - 2 * math.pi * 55) < 0.08 * 2 * math.pi * 55


@pytest.mark.parametrize(("sort", "key"), [
    ("area", lambda o: -o.data["area"].astype(float)),
    ("area_asc", lambda o: o.data["area"].astype(float)),
    ("left_to_right", lambda o: o.xyxy[:, 0]),
    ("top_to_bottom", lambda o: o.xyxy[:, 1]),
    ("right_to_left", lambda o: -o.xyxy[:, 2]),
    ("bottom_to_top", lambda o: -o.xyxy[:, 3]),
])
def test_sorting(sheet: np.ndarray, sort: str, key) -> None:  # noqa: ANN001
    objects = run_stage("contours", sheet, sort=sort).detections
    values = key(objects)
    assert np.all(np.diff(values) >= 0)


def test_area_filters_and_cap(sheet: np.ndarray) -> None:
    # areas: the small triangle ~2630 px, the small circle ~2830, the large triangle ~3250, everything else > 4000
    frame = run_stage("contours", sheet, min_area=2700)
    assert frame.values["contours_count"] == len(SHAPES) - 1 and list(frame.detections.label).count("triangle") == 1
    capped = run_stage("contours", sheet, max_area=4000)
    assert sorted(capped.detections.label.tolist()) == ["circle", "triangle", "triangle"]
    assert run_stage("contours", sheet, max_contours=4).values["contours_count"] == 4


def test_retrieval_modes_on_nested_shapes() -> None:
    image = np.full((200, 300, 3), 230, np.uint8)
    cv2.rectangle(image, (20, 20), (180, 180), INK, -1)  # a dark square
    cv2.rectangle(image, (60, 60), (140, 140), (230, 230, 230), -1)  # with a light hole
    cv2.circle(image, (100, 100), 20, INK, -1)  # and a dark dot in the hole
    cv2.circle(image, (250, 100), 25, INK, -1)
    count = {m: run_stage("contours", image, mode=m, min_area=50).values["contours_count"] for m in ("external", "list", "tree", "ccomp")}
    # external: the square's outline and the lone disc (the dot sits inside the square's hole);
    # the others add the hole's outline and the dot
    assert count == {"external": 2, "list": 4, "tree": 4, "ccomp": 4}


def test_light_objects_on_dark_and_the_mask_view(sheet: np.ndarray) -> None:
    negative = 255 - sheet  # light shapes on dark paper: auto treats the frame border as background
    frame = run_stage("contours", negative, view="mask")
    assert Counter(frame.detections.label.tolist()) == Counter(kind for kind, _, _ in SHAPES)
    assert set(np.unique(frame.image)) == {0, 255}
    assert frame.image[380, 200, 0] == 255 and frame.image[5, 5, 0] == 0  # a shape is white, the paper black
    assert run_stage("contours", negative, objects="light").values["contours_count"] == len(SHAPES)
    paper = run_stage("contours", negative, objects="dark")  # the paper itself is the one object
    assert paper.values["contours_count"] == 1 and paper.detections.label[0] == "rectangle"


def test_overlays_are_drawn(sheet: np.ndarray) -> None:
    plain = run_stage("contours", sheet, draw_contours=False, draw_centroids=False).annotated
    rich = run_stage("contours", sheet, draw_hulls=True, draw_boxes=True).annotated
    assert np.count_nonzero((plain != rich).any(axis=2)) > 1000
    assert tuple(rich[380, 200]) == (0, 0, 255)  # a centroid dot on the big circle


def test_name_shape_and_fit_error_directly() -> None:
    canvas = np.zeros((200, 200), np.uint8)
    cv2.circle(canvas, (100, 100), 60, 255, -1)
    contour = cv2.findContours(canvas, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)[0][0]
    assert ellipse_fit_error(contour) < 0.035
    assert name_shape(contour)[0] == "circle"
    canvas[:] = 0
    cv2.fillPoly(canvas, [regular(100, 100, 60, 6)], 255)
    contour = cv2.findContours(canvas, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)[0][0]
    assert ellipse_fit_error(contour) > 0.05
    assert name_shape(contour)[0] == "hexagon"
