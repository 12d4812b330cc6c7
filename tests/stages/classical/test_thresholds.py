"""Every threshold type on real photos, checked against its definition and against scikit-image."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage.filters import threshold_local, threshold_otsu

from tests.media import skimage_bgr
from tests.stages.classical.helpers_a import run_stage


@pytest.fixture(scope="module")
def camera() -> np.ndarray:
    return skimage_bgr("camera")


@pytest.mark.parametrize(("method", "expected"), [
    ("binary", lambda g: np.where(g > 100, 200, 0)),
    ("binary_inv", lambda g: np.where(g > 100, 0, 200)),
    ("truncate", lambda g: np.minimum(g, 100)),
    ("to_zero", lambda g: np.where(g > 100, g, 0)),
    ("to_zero_inv", lambda g: np.where(g > 100, 0, g)),
])
def test_fixed_thresholds_follow_their_definitions(camera: np.ndarray, method: str, expected) -> None:  # noqa: ANN001
    gray = camera[:, :, 0].astype(int)
    frame = run_stage("threshold_ex", camera, method=method, value=100, max_value=200)
    np.testing.assert_array_equal(frame.image[:, :, 0], expected(gray))
    assert frame.values["threshold_used"] == 100.0


def test_otsu_agrees_with_scikit_image(camera: np.ndarray) -> None:
    frame = run_stage("threshold_ex", camera, method="otsu")
    reference = threshold_otsu(camera[:, :, 0])
    assert abs(frame.values["threshold_used"] - reference) <= 1
    white = frame.values["threshold_white_fraction"]
    assert abs(white - float(np.mean(camera[:, :, 0] > frame.values["threshold_used"]))) < 1e-3
    inverse = run_stage("threshold_ex", camera, method="otsu_inv")
    assert abs(inverse.values["threshold_white_fraction"] - (1 - white)) < 1e-3


def test_triangle_picks_a_threshold_for_a_skewed_histogram() -> None:
    coins = skimage_bgr("coins")  # mostly dark background: a one-sided histogram, the triangle method's case
    frame = run_stage("threshold_ex", coins, method="triangle")
    assert 0 < frame.values["threshold_used"] < 255
    otsu = run_stage("threshold_ex", coins, method="otsu").values["threshold_used"]
    assert frame.values["threshold_used"] != otsu


@pytest.mark.parametrize(("method", "skimage_method"), [("adaptive_mean", "mean"), ("adaptive_gaussian", "gaussian")])
def test_adaptive_agrees_with_scikit_image_inside_the_frame(method: str, skimage_method: str) -> None:
    page = skimage_bgr("page")  # printed text under uneven light
    gray = page[:, :, 0]
    frame = run_stage("threshold_ex", page, method=method, block_size=25, c=10)
    kwargs = {"param": 0.3 * (12 - 1) + 0.8} if skimage_method == "gaussian" else {}  # OpenCV's sigma for a 25 block
    local = threshold_local(gray.astype(float), 25, method=skimage_method, offset=10, mode="nearest", **kwargs)
    ours = frame.image[:, :, 0] > 0
    inner = (slice(12, -12), slice(12, -12))
    agreement = float(np.mean(ours[inner] == (gray > local)[inner]))
    assert agreement > 0.98, agreement  # differences: rounding of the local mean, and kernel truncation


def test_adaptive_reads_text_that_a_global_threshold_loses() -> None:
    page = skimage_bgr("page")
    gray = page[:, :, 0]
    # the shaded lower-left corner of the page falls under Otsu's global threshold: text and paper alike
    dark_corner = (slice(140, 191), slice(0, 60))
    otsu = run_stage("threshold_ex", page, method="otsu").image[:, :, 0]
    assert np.mean(otsu[dark_corner] == 0) > 0.95
    adaptive = run_stage("threshold_ex", page, method="adaptive_gaussian", block_size=25, c=10, invert=True).image[:, :, 0]
    assert 0.02 < np.mean(adaptive[dark_corner] > 0) < 0.4  # only the strokes are white
    assert 0.03 < np.mean(adaptive > 0) < 0.3
    assert gray.shape == adaptive.shape


def test_even_block_size_is_rejected_by_the_schema() -> None:
    from vision_desk.engine.pipeline import spec_from_dict
    from vision_desk.errors import PipelineError

    with pytest.raises(PipelineError, match="block_size.*odd"):
        spec_from_dict({"stages": [{"stage": "threshold_ex", "params": {"block_size": 24}}]})


def test_threshold_ex_is_separate_from_the_basic_stage(camera: np.ndarray) -> None:
    basic = run_stage("threshold", camera, method="otsu").image
    extended = run_stage("threshold_ex", camera, method="otsu").image
    np.testing.assert_array_equal(basic, extended)
    assert cv2.countNonZero(basic[:, :, 0]) > 0
