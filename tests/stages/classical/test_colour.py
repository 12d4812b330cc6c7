"""Colour stages and masks on real photos: colour spaces, brightness/contrast, gamma, arithmetic, masks, colour filter."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.media import skimage_bgr
from tests.stages.classical.helpers_a import run_stage


@pytest.fixture(scope="module")
def chelsea() -> np.ndarray:
    return skimage_bgr("chelsea")  # an orange-brown cat on a brown background: no green, no blue


def test_hsv_view_reports_hue_of_a_known_colour(chelsea: np.ndarray) -> None:
    patch = np.zeros((40, 40, 3), np.uint8)
    patch[:] = (255, 0, 0)  # pure blue in BGR: hue 120 (of 0..179), full saturation and value
    frame = run_stage("color_space", patch, space="hsv")
    assert (frame.values["mean_hsv_H"], frame.values["mean_hsv_S"], frame.values["mean_hsv_V"]) == (120.0, 255.0, 255.0)
    np.testing.assert_array_equal(frame.image[0, 0], (120, 255, 255))
    hue = run_stage("color_space", patch, space="hsv", channel=1).image
    assert hue[0, 0].tolist() == [171, 171, 171]  # 120 stretched to 0..255, in gray
    # on the photo, the cat's fur is orange: a hue well below green (60)
    assert run_stage("color_space", chelsea, space="hsv").values["mean_hsv_H"] < 40


@pytest.mark.parametrize(("space", "channel", "code"), [
    ("lab", 1, cv2.COLOR_BGR2LAB), ("ycrcb", 1, cv2.COLOR_BGR2YCrCb), ("ycrcb", 3, cv2.COLOR_BGR2YCrCb),
    ("hls", 2, cv2.COLOR_BGR2HLS), ("luv", 2, cv2.COLOR_BGR2LUV), ("xyz", 2, cv2.COLOR_BGR2XYZ),
])
def test_single_channel_views(chelsea: np.ndarray, space: str, channel: int, code: int) -> None:
    out = run_stage("color_space", chelsea, space=space, channel=channel).image
    expected = cv2.cvtColor(chelsea, code)[:, :, channel - 1]
    for c in range(3):
        np.testing.assert_array_equal(out[:, :, c], expected)


def test_lab_lightness_matches_gray_ordering(chelsea: np.ndarray) -> None:
    lightness = run_stage("color_space", chelsea, space="lab", channel=1).image[:, :, 0].astype(float)
    gray = cv2.cvtColor(chelsea, cv2.COLOR_BGR2GRAY).astype(float)
    assert np.corrcoef(lightness.ravel(), gray.ravel())[0, 1] > 0.98


def test_brightness_contrast_is_linear_and_saturates(chelsea: np.ndarray) -> None:
    out = run_stage("brightness_contrast", chelsea, contrast=1.5, brightness=-40).image
    expected = np.clip(np.round(chelsea.astype(float) * 1.5 - 40), 0, 255)
    assert np.abs(out.astype(float) - expected).max() <= 1
    gray = cv2.cvtColor(chelsea, cv2.COLOR_BGR2GRAY)
    flat = run_stage("brightness_contrast", chelsea, contrast=0.5, brightness=64).image
    assert cv2.cvtColor(flat, cv2.COLOR_BGR2GRAY).std() < 0.55 * gray.std()


def test_gamma_lifts_shadows_and_keeps_black_and_white() -> None:
    camera = skimage_bgr("camera")
    lifted = run_stage("gamma", camera, gamma=0.5).image
    darker = run_stage("gamma", camera, gamma=2.0).image
    assert lifted.mean() > camera.mean() + 20 and darker.mean() < camera.mean() - 20
    ramp = np.tile(np.arange(256, dtype=np.uint8), (4, 1))
    out = run_stage("gamma", np.dstack([ramp] * 3), gamma=0.5).image[0, :, 0]
    assert out[0] == 0 and out[255] == 255 and out[64] == 128  # 255 * (64/255) ** 0.5 = 127.75


def test_add_saturates_but_wrap_overflows_like_numpy(chelsea: np.ndarray) -> None:
    saturated = run_stage("arithmetic", chelsea, operation="add", value=100).image
    wrapped = run_stage("arithmetic", chelsea, operation="add", value=100, wrap=True).image
    np.testing.assert_array_equal(saturated, np.minimum(chelsea.astype(int) + 100, 255))
    np.testing.assert_array_equal(wrapped, chelsea + np.uint8(100))  # numpy's modulo-256 uint8 sum
    bright = chelsea.astype(int) + 100 > 255
    assert bright.any() and (wrapped[bright] < 100).all()  # overflowed pixels turn dark
    darkened = run_stage("arithmetic", chelsea, operation="subtract", value=60).image
    np.testing.assert_array_equal(darkened, np.maximum(chelsea.astype(int) - 60, 0))


def test_bitwise_and_keeps_only_the_circle(chelsea: np.ndarray) -> None:
    out = run_stage("bitwise_mask", chelsea, shape="circle", region=[100, 50, 200, 200]).image
    np.testing.assert_array_equal(out[150, 200], chelsea[150, 200])  # the centre
    assert out[55, 105].max() == 0 and out[0, 0].max() == 0  # a corner of the region and outside it
    inverted = run_stage("bitwise_mask", chelsea, shape="circle", region=[100, 50, 200, 200], invert=True).image
    np.testing.assert_array_equal(inverted[0, 0], chelsea[0, 0])
    assert inverted[150, 200].max() == 0


@pytest.mark.parametrize(("operation", "inside"), [
    ("or", lambda p: np.full_like(p, 255)), ("xor", lambda p: 255 - p), ("and", lambda p: p),
])
def test_bitwise_operations_inside_a_rectangle(chelsea: np.ndarray, operation: str, inside) -> None:  # noqa: ANN001
    out = run_stage("bitwise_mask", chelsea, shape="rectangle", region=[40, 30, 100, 60], operation=operation).image
    np.testing.assert_array_equal(out[30:90, 40:140], inside(chelsea[30:90, 40:140]))
    outside = np.ones(chelsea.shape[:2], bool)
    outside[30:90, 40:140] = False
    expected_outside = np.zeros_like(chelsea[outside]) if operation == "and" else chelsea[outside]
    np.testing.assert_array_equal(out[outside], expected_outside)


@pytest.mark.parametrize(("photo", "preset", "colour"), [
    ("chelsea", "green", (40, 200, 40)),
    ("chelsea", "blue", (200, 80, 20)),
    ("camera", "red", (30, 30, 220)),
    ("camera", "yellow", (0, 220, 230)),
])
def test_colour_filter_finds_the_object_placed_on_a_photo(photo: str, preset: str, colour: tuple) -> None:
    image = skimage_bgr(photo).copy()
    cv2.circle(image, (150, 120), 40, colour, -1)  # a ball, 80 px across
    frame = run_stage("color_filter", image, preset=preset)
    objects = frame.detections.where(source="color_filter")
    assert len(objects) == 1 and objects.label[0] == preset
    np.testing.assert_allclose(objects.xyxy[0], (110, 80, 191, 161), atol=2)
    assert abs(objects.data["area"][0] - np.pi * 40**2) < 0.05 * np.pi * 40**2
    np.testing.assert_allclose(np.asarray(objects.data["centroid"][0], float), (150, 120), atol=1)
    assert frame.values[f"{preset}_count"] == 1
    # masked output: colour only where the ball is
    assert frame.image[120, 150].tolist() == list(colour) and frame.image[5, 5].max() == 0


def test_red_wraps_through_hue_zero_and_custom_bounds_match_the_preset() -> None:
    image = skimage_bgr("camera").copy()
    cv2.rectangle(image, (20, 20), (80, 80), (60, 0, 230), -1)  # red leaning to magenta: hue 173
    cv2.rectangle(image, (120, 20), (180, 80), (0, 40, 230), -1)  # red leaning to orange: hue 5
    preset = run_stage("color_filter", image, preset="red", output="mask")
    custom = run_stage("color_filter", image, preset="custom", lower=[170, 100, 70], upper=[10, 255, 255], output="mask")
    assert len(preset.detections) == 2
    np.testing.assert_array_equal(preset.image, custom.image)
    assert set(np.unique(preset.image)) == {0, 255}


def test_skin_preset_covers_the_astronauts_face() -> None:
    astronaut = skimage_bgr("astronaut")
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    (x, y, w, h), *_ = cascade.detectMultiScale(cv2.cvtColor(astronaut, cv2.COLOR_BGR2GRAY), 1.1, 5, minSize=(60, 60))
    mask = run_stage("color_filter", astronaut, preset="skin", output="mask").image[:, :, 0]
    assert np.count_nonzero(mask[y : y + h, x : x + w]) > 0.5 * w * h
    assert np.count_nonzero(mask) < 0.25 * mask.size
