"""Morphology on real images: the coins mask cleaned by opening, and the defining identities of each operation."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.media import skimage_bgr
from tests.stages.classical.helpers_a import gray_to_bgr, run_stage


def _components(mask: np.ndarray) -> int:
    return cv2.connectedComponents((mask > 0).astype(np.uint8))[0] - 1


@pytest.fixture(scope="module")
def noisy_mask() -> np.ndarray:
    """The Otsu mask of the coins photo with salt (white specks) and pepper (black holes) added."""
    coins = skimage_bgr("coins")
    mask = cv2.threshold(coins[:, :, 0], 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[1]
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))  # filled coins: the clean answer
    rng = np.random.default_rng(3)
    noisy = mask.copy()
    noisy[rng.random(mask.shape) < 0.01] = 255
    noisy[rng.random(mask.shape) < 0.01] = 0
    return gray_to_bgr(noisy)


def test_opening_removes_salt_specks(noisy_mask: np.ndarray) -> None:
    before = _components(noisy_mask[:, :, 0])
    out = run_stage("morphology", noisy_mask, operation="open", shape="ellipse", ksize=3).image[:, :, 0]
    assert before > 500  # ~1 % salt: hundreds of one-pixel specks
    assert _components(out) < 40  # the coins (and a few that touch) remain


def test_closing_fills_pepper_holes(noisy_mask: np.ndarray) -> None:
    holes = lambda m: _components(255 - m)  # noqa: E731 - black regions, background included
    out = run_stage("morphology", noisy_mask, operation="close", shape="ellipse", ksize=3).image[:, :, 0]
    assert holes(noisy_mask[:, :, 0]) > 300 and holes(out) < 30


def test_erode_and_dilate_move_a_square_edge_by_the_kernel_radius() -> None:
    board = skimage_bgr("checkerboard")  # flat squares of 25 pixels
    mask = gray_to_bgr(np.where(board[:, :, 0] > 127, 255, 0))
    light = np.count_nonzero(mask[:, :, 0])
    eroded = run_stage("morphology", mask, operation="erode", ksize=3).image[:, :, 0]
    dilated = run_stage("morphology", mask, operation="dilate", ksize=3, iterations=2).image[:, :, 0]
    assert np.count_nonzero(eroded) < light < np.count_nonzero(dilated)
    # a 3x3 erosion strips one pixel from each side of a square inside the board
    inner = eroded[25:50, 50:75] if mask[30, 60, 0] else eroded[25:50, 25:50]
    assert np.count_nonzero(inner) == 23 * 23


@pytest.mark.parametrize(("operation", "identity"), [
    ("gradient", lambda img, k: cv2.subtract(cv2.dilate(img, k), cv2.erode(img, k))),
    ("tophat", lambda img, k: cv2.subtract(img, cv2.dilate(cv2.erode(img, k), k))),
    ("blackhat", lambda img, k: cv2.subtract(cv2.erode(cv2.dilate(img, k), k), img)),
])
def test_gradient_tophat_blackhat_identities_on_a_photo(operation: str, identity) -> None:  # noqa: ANN001
    camera = skimage_bgr("camera")[::2, ::2]
    kernel = cv2.getStructuringElement(cv2.MORPH_CROSS, (7, 7))
    out = run_stage("morphology", camera, operation=operation, shape="cross", ksize=7).image
    np.testing.assert_array_equal(out, identity(camera, kernel))
    assert out.max() > 50  # it found something


def test_tophat_and_blackhat_keep_small_details_only() -> None:
    photo = cv2.GaussianBlur(skimage_bgr("camera")[::2, ::2], (0, 0), 3)  # smooth photo: few details of its own
    around_bright, around_dark = int(photo[60, 60, 0]), int(photo[60, 200, 0])
    cv2.circle(photo, (60, 60), 2, (255, 255, 255), -1)  # a small bright dot
    cv2.circle(photo, (200, 60), 2, (0, 0, 0), -1)  # a small dark dot
    cv2.rectangle(photo, (80, 150), (150, 220), (255, 255, 255), -1)  # a large bright square
    bright = run_stage("morphology", photo, operation="tophat", ksize=9, input="gray").image[:, :, 0]
    dark = run_stage("morphology", photo, operation="blackhat", ksize=9, input="gray").image[:, :, 0]
    # each dot stands out by its contrast with the photo around it; the square's inside does not
    assert abs(int(bright[60, 60]) - (255 - around_bright)) <= 15 and bright[185, 115] == 0
    assert abs(int(dark[60, 200]) - around_dark) <= 15 and dark[60, 60] == 0
    assert 255 - around_bright > 40 and around_dark > 40


def test_otsu_input_reports_white_fraction() -> None:
    frame = run_stage("morphology", skimage_bgr("coins"), operation="open", input="otsu", ksize=5)
    assert 0.2 < frame.values["morphology_white_fraction"] < 0.6
    assert set(np.unique(frame.image)) <= {0, 255}
