"""Convolution: the course's exact arithmetic, the presets on a real photo, sharpening and denoising."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.media import skimage_bgr
from tests.stages.classical.helpers_a import gray_to_bgr, psnr, run_stage
from vision_desk.stages.classical.convolution import convolve

# The course material's worked examples (issue 3).
MATRIX = np.array([[95, 242, 186, 152, 39], [39, 14, 220, 153, 180], [5, 247, 212, 54, 46],
                   [46, 77, 133, 110, 74], [156, 35, 74, 93, 116]])
LAPLACIAN = [[0, 1, 0], [1, -4, 1], [0, 1, 0]]
VALID = [[692, -315, -6], [-680, -194, 305], [153, -59, -86]]
SAME_FIRST_ROW = [-99, -673, -130, -230, 176]
SAME_LAST_ROW = [-543, 167, -35, -72, -297]
BINARY = np.array([[1, 0, 1, 0, 1], [1, 0, 0, 1, 1], [0, 1, 1, 0, 0], [1, 0, 0, 1, 0], [0, 0, 1, 1, 0]])
ASYMMETRIC = [[0, 1, 0], [1, 0, -1], [0, 1, 0]]
ASYMMETRIC_RESULT = [[2, 1, -1], [-1, 1, 3], [2, 1, 1]]


@pytest.mark.parametrize("dtype", [np.int64, np.uint8, np.float32])
def test_laplacian_valid_same_and_stride_match_the_course(dtype) -> None:  # noqa: ANN001
    image = MATRIX.astype(dtype)
    np.testing.assert_array_equal(convolve(image, LAPLACIAN, "valid"), VALID)
    np.testing.assert_array_equal(convolve(image, LAPLACIAN, "valid", stride=2), [[692, -6], [153, -86]])
    same = convolve(image, LAPLACIAN, "same")
    assert same.shape == (5, 5)
    np.testing.assert_array_equal(same[0], SAME_FIRST_ROW)
    np.testing.assert_array_equal(same[-1], SAME_LAST_ROW)
    np.testing.assert_array_equal(same[1:-1, 1:-1], VALID)  # the interior is the unpadded result
    np.testing.assert_array_equal(convolve(image, LAPLACIAN, 1), same)  # an int pads that many zeros


def test_second_example_is_cross_correlation_not_flipped_convolution() -> None:
    np.testing.assert_array_equal(convolve(BINARY, ASYMMETRIC), ASYMMETRIC_RESULT)
    flipped = convolve(BINARY, ASYMMETRIC, flip=True)
    assert not np.array_equal(flipped, ASYMMETRIC_RESULT)
    np.testing.assert_array_equal(flipped, convolve(BINARY, np.rot90(ASYMMETRIC, 2)))
    # a symmetric kernel gives the same answer both ways
    np.testing.assert_array_equal(convolve(MATRIX, LAPLACIAN, flip=True), VALID)


@pytest.mark.parametrize(
    ("matrix", "kernel", "padding", "stride", "expected"),
    [
        (MATRIX, LAPLACIAN, "valid", 1, VALID),
        (MATRIX, LAPLACIAN, "valid", 2, [[692, -6], [153, -86]]),
        (BINARY, ASYMMETRIC, "valid", 1, ASYMMETRIC_RESULT),
    ],
)
def test_kernel_stage_reproduces_the_course_numbers(matrix, kernel, padding, stride, expected) -> None:  # noqa: ANN001
    frame = run_stage("kernel", gray_to_bgr(matrix), preset="custom", custom=kernel, padding=padding, stride=stride,
                      gray=True, output="abs")
    np.testing.assert_array_equal(frame.extras["kernel"]["response"], expected)
    assert frame.values["kernel_min"] == np.min(expected) and frame.values["kernel_max"] == np.max(expected)
    np.testing.assert_array_equal(frame.image[:, :, 0], np.clip(np.abs(expected), 0, 255))


def test_auto_output_shows_magnitudes_for_zero_sum_kernels_only() -> None:
    edges = run_stage("kernel", gray_to_bgr(MATRIX), preset="laplacian", padding="valid", gray=True)  # sums to 0
    np.testing.assert_array_equal(edges.image[:, :, 0], np.clip(np.abs(VALID), 0, 255))
    other = run_stage("kernel", gray_to_bgr(BINARY), preset="custom", custom=ASYMMETRIC, padding="valid", gray=True)  # sums to 2
    np.testing.assert_array_equal(other.image[:, :, 0], np.clip(ASYMMETRIC_RESULT, 0, 255))
    stretched = run_stage("kernel", gray_to_bgr(MATRIX), preset="laplacian", padding="valid", gray=True, output="normalize")
    assert stretched.image[:, :, 0].min() == 0 and stretched.image[:, :, 0].max() == 255
    assert stretched.image[0, 0, 0] == 255 and stretched.image[1, 0, 0] == 0  # 692 is the max, -680 the min


def test_kernel_stage_zero_padding_keeps_the_size() -> None:
    frame = run_stage("kernel", gray_to_bgr(MATRIX), preset="laplacian", padding="zero", gray=True, output="clip")
    response = frame.extras["kernel"]["response"]
    np.testing.assert_array_equal(response[0], SAME_FIRST_ROW)
    np.testing.assert_array_equal(response[-1], SAME_LAST_ROW)
    np.testing.assert_array_equal(frame.image[0, :, 0], np.clip(SAME_FIRST_ROW, 0, 255))


@pytest.mark.parametrize(
    ("preset", "reference"),
    [
        ("identity", lambda g: g.astype(np.float32)),
        ("box_blur", lambda g: cv2.blur(g.astype(np.float32), (3, 3))),
        ("gaussian", lambda g: cv2.GaussianBlur(g.astype(np.float32), (3, 3), 0)),
        ("gaussian_5x5", lambda g: cv2.GaussianBlur(g.astype(np.float32), (5, 5), 0)),
        ("sobel_x", lambda g: cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)),
        ("sobel_y", lambda g: cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)),
        ("laplacian", lambda g: cv2.Laplacian(g, cv2.CV_32F, ksize=1)),
    ],
)
def test_presets_match_opencv_filters_on_a_real_photo(preset, reference) -> None:  # noqa: ANN001
    gray = cv2.cvtColor(skimage_bgr("camera")[::4, ::4], cv2.COLOR_BGR2GRAY)
    frame = run_stage("kernel", gray_to_bgr(gray), preset=preset, gray=True)
    np.testing.assert_allclose(frame.extras["kernel"]["response"], reference(gray), atol=1e-3)


def test_edge_presets_respond_on_edges_and_not_on_flat_areas() -> None:
    board = skimage_bgr("checkerboard")  # 25-pixel squares of two flat grays
    for preset in ("edge_2", "edge_3", "laplacian"):
        response = run_stage("kernel", board, preset=preset, gray=True).extras["kernel"]["response"]
        assert np.all(response[5:20, 5:20] == 0), preset  # inside a square
        assert np.abs(response[24:27, 5:20]).max() > 50, preset  # across the first horizontal edge
    # edge_1 ([[1,0,-1],[0,0,0],[-1,0,1]]) is diagonal: blind to straight edges, it fires where squares meet
    response = run_stage("kernel", board, preset="edge_1", gray=True).extras["kernel"]["response"]
    assert np.all(response[5:20, 5:20] == 0) and np.all(response[22:28, 5:20] == 0)
    assert np.abs(response[23:27, 23:27]).max() > 50


def test_emboss_and_sharpen_presets_keep_flat_areas_and_change_edges() -> None:
    board = skimage_bgr("checkerboard")
    for preset in ("sharpen", "emboss"):
        response = run_stage("kernel", board, preset=preset, gray=True).extras["kernel"]["response"]
        np.testing.assert_array_equal(response[5:20, 5:20], board[5:20, 5:20, 0])  # weights sum to 1
        assert not np.array_equal(response[22:28], board[22:28, :, 0].astype(np.float32))


def test_custom_kernel_normalize_keeps_brightness() -> None:
    photo = skimage_bgr("coffee")[::4, ::4]
    frame = run_stage("kernel", photo, preset="custom", custom=[[1] * 5] * 5, normalize=True)
    assert abs(float(frame.image.mean()) - float(photo.mean())) < 1.0
    np.testing.assert_allclose(frame.extras["kernel"]["response"], cv2.blur(photo.astype(np.float32), (5, 5)), atol=1e-3)


def _laplacian_energy(image: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())


@pytest.mark.parametrize("method", ["unsharp", "kernel"])
def test_sharpen_restores_detail_of_a_blurred_photo(method: str) -> None:
    sharp = skimage_bgr("astronaut")[::2, ::2]
    blurred = cv2.GaussianBlur(sharp, (0, 0), 1.5)
    out = run_stage("sharpen", blurred, method=method, amount=1.5).image
    assert _laplacian_energy(out) > 2.0 * _laplacian_energy(blurred)
    assert psnr(out, sharp) > psnr(blurred, sharp)  # closer to the original, not just noisier
    assert np.array_equal(run_stage("sharpen", blurred, method=method, amount=0.0).image, blurred)


def test_unsharp_threshold_leaves_flat_areas_alone() -> None:
    photo = skimage_bgr("coffee")[::2, ::2]
    rng = np.random.default_rng(0)
    noisy = np.clip(photo.astype(np.int16) + rng.integers(-3, 4, photo.shape), 0, 255).astype(np.uint8)
    plain = run_stage("sharpen", noisy, amount=2.0).image
    guarded = run_stage("sharpen", noisy, amount=2.0, threshold=8).image
    changed_plain = np.count_nonzero((plain != noisy).any(axis=2))
    changed_guarded = np.count_nonzero((guarded != noisy).any(axis=2))
    assert changed_guarded < 0.6 * changed_plain


def test_denoise_recovers_a_noisy_photo() -> None:
    clean = skimage_bgr("astronaut")[96:288, 160:352]  # the face and the flag, 192x192
    rng = np.random.default_rng(1)
    noisy = np.clip(clean.astype(np.float64) + rng.normal(0, 20, clean.shape), 0, 255).astype(np.uint8)
    out = run_stage("denoise", noisy, strength=12, color_strength=12).image
    assert psnr(out, clean) > psnr(noisy, clean) + 4.0  # dB
