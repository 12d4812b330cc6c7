"""Edges and lines on real images with known answers: coins by Hough circles and blobs, the checkerboard's corners and lines."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.media import skimage_bgr
from tests.stages.classical.helpers_a import run_stage

# Centres of the 24 coins in skimage's coins() (4 rows of 6), read off the photo with circles drawn over it
# and checked by eye; every coin has a radius of 18-31 px and its neighbours are 50+ px away.
COIN_CENTRES = np.array([
    (46, 52), (100, 58), (154, 51), (214, 51), (278, 52), (334, 45),
    (44, 124), (102, 126), (156, 128), (204, 124), (267, 118), (336, 126),
    (44, 195), (102, 195), (154, 198), (213, 194), (272, 194), (348, 186),
    (45, 260), (114, 266), (176, 260), (246, 260), (303, 266), (360, 267),
], float)
# Tolerances: a centre within 10 px lies inside the right coin and far from any other; the count may be off
# by one because OpenCV's Hough accumulator and blob thresholds differ slightly between releases; at least
# 23 of the 24 coins must each be found once.
CENTRE_TOLERANCE = 10.0


def _assert_coins(centres: np.ndarray) -> None:
    assert abs(len(centres) - 24) <= 1, len(centres)
    dist = np.linalg.norm(centres[:, None] - COIN_CENTRES[None], axis=2)
    assert dist.min(axis=1).max() <= CENTRE_TOLERANCE  # every detection is on a coin
    assert len(set(dist.argmin(axis=1).tolist())) >= 23  # and they are different coins


@pytest.fixture(scope="module")
def coins():
    return skimage_bgr("coins")


@pytest.fixture(scope="module")
def board():
    return skimage_bgr("checkerboard")  # 200 x 200, 8 x 8 squares of 25 px


@pytest.mark.parametrize("params", [
    {},  # the defaults: OpenCV's HOUGH_GRADIENT_ALT
    {"method": "standard", "max_radius": 40},
])
def test_hough_circles_count_the_coins(coins, params: dict) -> None:  # noqa: ANN001
    frame = run_stage("hough_circles", coins, **params)
    circles = frame.detections.where(source="hough_circles")
    _assert_coins(np.array(circles.data["center"].tolist(), float))
    assert frame.values["circles_count"] == len(circles)
    radii = np.array(circles.data["radius"].tolist(), float)
    assert radii.min() >= 15 and radii.max() <= 35
    assert all(len(p) == 24 for p in circles.data["polygon"])  # outlined round by the annotator


@pytest.mark.parametrize("params", [
    {"min_area": 300, "max_area": 5000},
    {"min_area": 100, "min_circularity": 0.6},
    {"min_area": 300, "min_inertia": 0.5},
    {"min_area": 300, "min_convexity": 0.9},
])
def test_blobs_count_the_coins(coins, params: dict) -> None:  # noqa: ANN001
    frame = run_stage("blobs", coins, color="light", **params)
    blobs = frame.detections.where(source="blobs")
    _assert_coins(np.array(blobs.data["center"].tolist(), float))
    assert frame.values["blobs_count"] == len(blobs)


@pytest.fixture(scope="module")
def spots() -> np.ndarray:
    """Dark spots on a light, smoothed real photo: 3 discs, 3 squares, 3 long ellipses, 3 crescents."""
    image = cv2.GaussianBlur(cv2.convertScaleAbs(skimage_bgr("camera")[::2, ::2], alpha=0.3, beta=170), (0, 0), 4)
    background = image.copy()
    ink = (30, 30, 30)
    for i in range(3):
        x = 50 + 80 * i
        cv2.circle(image, (x, 40), 18, ink, -1)
        cv2.rectangle(image, (x - 16, 90), (x + 16, 122), ink, -1)
        cv2.ellipse(image, (x, 160), (30, 8), 0, 0, 360, ink, -1)
        cv2.circle(image, (x, 215), 20, ink, -1)
        bite = np.zeros(image.shape[:2], np.uint8)
        cv2.circle(bite, (x + 12, 215), 18, 255, -1)
        image[bite > 0] = background[bite > 0]  # a bite out of the disc: a crescent
    return image


@pytest.mark.parametrize(("params", "expected_rows"), [
    ({}, {40: 3, 106: 3, 160: 3, 215: 3}),
    ({"min_circularity": 0.85}, {40: 3}),  # a square's circularity is 0.785, a long ellipse's and a crescent's lower
    ({"min_inertia": 0.5}, {40: 3, 106: 3}),  # the 30 x 8 ellipses (ratio 0.27) and the thin crescents are elongated
    ({"min_convexity": 0.95}, {40: 3, 106: 3, 160: 3}),  # the crescents are far from convex
])
def test_blob_filters_keep_the_right_shapes(spots: np.ndarray, params: dict, expected_rows: dict) -> None:
    frame = run_stage("blobs", spots, min_area=100, **params)
    centres = np.array(frame.detections.data["center"].tolist(), float).reshape(-1, 2)
    rows = {}
    for _, y in centres:
        row = min((40, 106, 160, 215), key=lambda r: abs(r - y))
        rows[row] = rows.get(row, 0) + 1
    assert rows == expected_rows


@pytest.mark.parametrize("method", ["harris", "shi_tomasi"])
def test_corners_find_the_49_inner_corners_of_the_checkerboard(board, method: str) -> None:  # noqa: ANN001
    frame = run_stage("corners", board, method=method)
    points = np.array(frame.detections.data["point"].tolist(), float)
    assert frame.values["corners_count"] == 49
    grid = np.array([(25 * i, 25 * j) for i in range(1, 8) for j in range(1, 8)], float)
    dist = np.linalg.norm(points[:, None] - grid[None], axis=2)
    assert dist.min(axis=1).max() <= 1.5
    assert len(set(dist.argmin(axis=1).tolist())) == 49
    assert np.all(frame.detections.score > 0.9)  # all equally strong


def test_corners_count_is_capped(board) -> None:  # noqa: ANN001
    frame = run_stage("corners", board, max_corners=10)
    assert frame.values["corners_count"] == 10


def test_hough_lines_find_the_14_board_lines(board) -> None:  # noqa: ANN001
    frame = run_stage("hough_lines", board, min_length=100)
    lines = frame.detections.where(source="hough_lines")
    assert frame.values["lines_count"] == 14 == len(lines)
    angles = np.abs(np.array(lines.data["angle"].tolist(), float))
    horizontal = [p for p, a in zip(lines.data["polygon"], angles) if a < 1]
    vertical = [p for p, a in zip(lines.data["polygon"], angles) if abs(a - 90) < 1]
    assert len(horizontal) == 7 and len(vertical) == 7
    rows = sorted(int(np.asarray(p, float)[:, 1].mean()) for p in horizontal)
    cols = sorted(int(np.asarray(p, float)[:, 0].mean()) for p in vertical)
    assert np.abs(np.array(rows) - np.arange(25, 200, 25)).max() <= 1
    assert np.abs(np.array(cols) - np.arange(25, 200, 25)).max() <= 1
    assert np.all(np.array(lines.data["length"].tolist()) >= 190)


def test_hough_lines_keep_the_longest(board) -> None:  # noqa: ANN001
    frame = run_stage("hough_lines", board, min_length=100, max_lines=3)
    assert len(frame.detections) == 3


def test_edges_sobel_directions_on_the_board(board) -> None:  # noqa: ANN001
    x = run_stage("edges", board, method="sobel", direction="x", blur=0).image[:, :, 0]
    y = run_stage("edges", board, method="sobel", direction="y", blur=0).image[:, :, 0]
    # x derivative: vertical edges (at columns 24/25) only; y derivative: horizontal ones
    assert x[10, 23:27].max() == 255 and x[23:27, 10].max() == 0
    assert y[23:27, 10].max() == 255 and y[10, 23:27].max() == 0
    both = run_stage("edges", board, method="scharr", blur=0).image[:, :, 0]
    assert both[10, 23:27].max() == 255 and both[23:27, 10].max() == 255 and both[10, 10] == 0


def test_edges_laplacian_is_zero_on_flat_areas(board) -> None:  # noqa: ANN001
    lap = run_stage("edges", board, method="laplacian", blur=0).image[:, :, 0]
    assert lap[5:20, 5:20].max() == 0 and lap[23:27, 10].max() > 100


def test_canny_auto_thresholds_follow_the_median(coins) -> None:  # noqa: ANN001
    frame = run_stage("edges", coins, method="canny_auto", sigma=0.33, blur=0)
    median = float(np.median(coins[:, :, 0]))
    assert frame.values["canny_low"] == int(0.67 * median) and frame.values["canny_high"] == int(1.33 * median)
    edges = frame.image[:, :, 0]
    assert set(np.unique(edges)) == {0, 255}
    assert frame.values["edge_pixels"] == int(np.count_nonzero(edges))
    # the coin outlines are edges: a ring around a known coin has many edge pixels
    yy, xx = np.mgrid[: edges.shape[0], : edges.shape[1]]
    ring = np.abs(np.hypot(xx - 154, yy - 198) - 19) < 4
    assert np.count_nonzero(edges[ring]) > 40


def test_hough_lines_measure_a_diagonal_and_draw_it_as_a_segment() -> None:
    photo = cv2.GaussianBlur(skimage_bgr("chelsea"), (0, 0), 4)  # smooth: its own edges are weak
    cv2.line(photo, (60, 250), (360, 70), (20, 20, 20), 3, cv2.LINE_AA)  # 350 px long, rising at 31 degrees
    frame = run_stage("hough_lines", photo, min_length=150, max_lines=1)
    lines = frame.detections
    assert len(lines) == 1
    assert abs(lines.data["angle"][0] - 30.96) < 2.0 and abs(lines.data["length"][0] - 350) < 25
    # the overlay follows the segment, not its bounding box: the box's far corner stays as it was
    assert np.array_equal(frame.annotated[245:250, 355:360], frame.image[245:250, 355:360])
    assert not np.array_equal(frame.annotated[158:163, 208:213], frame.image[158:163, 208:213])
