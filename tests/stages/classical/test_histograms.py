"""Histograms on real photos: the overlay and its values, equalisation and CLAHE, dominant colours by k-means."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.media import skimage_bgr
from tests.stages.classical.helpers_a import run_stage


@pytest.fixture(scope="module")
def dull() -> np.ndarray:
    """The astronaut photo squeezed into gray levels 100..160: a low-contrast real picture."""
    return cv2.convertScaleAbs(skimage_bgr("astronaut"), alpha=60 / 255, beta=100)


def _spread(image: np.ndarray) -> int:
    """Width of the central 90 % of the brightness histogram (5th to 95th percentile)."""
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return int(np.percentile(gray, 95) - np.percentile(gray, 5))


@pytest.mark.parametrize(("method", "channels"), [
    ("global", "luminance"), ("global", "each"), ("global", "gray"), ("clahe", "luminance"), ("clahe", "gray"),
])
def test_equalisation_raises_contrast(dull: np.ndarray, method: str, channels: str) -> None:
    frame = run_stage("equalize", dull, method=method, channels=channels, clip_limit=3.0)
    before, after = frame.values["contrast_before"], frame.values["contrast_after"]
    assert after > 1.8 * before  # brightness standard deviation
    assert _spread(frame.image) > 2 * _spread(dull)


def test_global_equalisation_maps_levels_by_the_cumulative_histogram(dull: np.ndarray) -> None:
    out = run_stage("equalize", dull, method="global", channels="gray").image[:, :, 0]
    cdf = np.cumsum(np.bincount(out.ravel(), minlength=256)) / out.size
    # every output level L holds the pixels whose share of darker-or-equal pixels is L/255 of the way from
    # the darkest level's share (c0) to 1: the flattest histogram 8-bit levels allow
    levels = np.unique(out)
    c0 = cdf[levels[0]]
    assert levels[0] == 0 and levels[-1] == 255
    assert np.abs(cdf[levels] - (c0 + levels / 255 * (1 - c0))).max() < 0.003


def test_luminance_equalisation_keeps_the_hue(dull: np.ndarray) -> None:
    out = run_stage("equalize", dull, method="clahe", channels="luminance").image
    hue_before = cv2.cvtColor(dull, cv2.COLOR_BGR2HSV)[:, :, 0].astype(int)
    hue_after = cv2.cvtColor(out, cv2.COLOR_BGR2HSV)[:, :, 0].astype(int)
    saturated = cv2.cvtColor(dull, cv2.COLOR_BGR2HSV)[:, :, 1] > 60
    diff = np.abs(hue_before - hue_after)[saturated]
    assert np.median(np.minimum(diff, 180 - diff)) <= 3


def test_histogram_values_and_overlay(dull: np.ndarray) -> None:
    frame = run_stage("histogram", dull, corner="bottom_left", width=256, height=100)
    gray = cv2.cvtColor(dull, cv2.COLOR_BGR2GRAY)
    assert abs(frame.values["brightness_mean"] - gray.mean()) < 0.01
    assert abs(frame.values["brightness_std"] - gray.std()) < 0.01
    assert frame.values["dark_clipped"] == 0 and frame.values["bright_clipped"] == 0  # 100..160 never clips
    hists = frame.extras["histogram"]
    for i, name in enumerate("BGR"):
        np.testing.assert_array_equal(hists[name], np.bincount(dull[:, :, i].ravel(), minlength=256))
    # the panel (bottom-left, 256 x 100) is drawn on the overlay only; the frame itself is untouched
    np.testing.assert_array_equal(frame.image, dull)
    panel = frame.annotated[-100:, :256]
    assert np.count_nonzero((panel != dull[-100:, :256]).any(axis=2)) == 256 * 100
    assert np.array_equal(frame.annotated[:-100], dull[:-100])
    # the curves only use the columns of the levels present (100..160 of 0..255)
    curves = panel[:-3]  # above the baseline where empty levels lie
    coloured = np.flatnonzero((curves.max(axis=2).astype(int) - curves.min(axis=2) > 60).any(axis=0))
    assert coloured.min() >= 95 and coloured.max() <= 165


def test_histogram_clipping_values() -> None:
    coins = skimage_bgr("coins")
    blown = cv2.convertScaleAbs(coins, alpha=2.0)
    values = run_stage("histogram", blown, mode="gray", log=True).values
    assert values["bright_clipped"] == round(float(np.mean(cv2.cvtColor(blown, cv2.COLOR_BGR2GRAY) == 255)), 4)
    assert values["bright_clipped"] > 0.05


@pytest.fixture(scope="module")
def flag() -> np.ndarray:
    """Three colour bands of 50 %, 30 % and 20 % with sensor-like noise, blended over a real photo at 10 %."""
    rng = np.random.default_rng(7)
    image = np.zeros((200, 300, 3), np.uint8)
    image[:, :150] = (40, 40, 200)  # red
    image[:, 150:240] = (200, 160, 30)  # blue
    image[:, 240:] = (60, 200, 240)  # yellow
    photo = cv2.resize(skimage_bgr("coffee"), (300, 200))
    image = cv2.addWeighted(image, 0.9, photo, 0.1, 0)
    return np.clip(image.astype(np.int16) + rng.integers(-6, 7, image.shape), 0, 255).astype(np.uint8)


def test_dominant_colours_find_the_bands_and_their_shares(flag: np.ndarray) -> None:
    frame = run_stage("dominant_colors", flag, k=3)
    shares = frame.values["dominant_shares"]
    assert np.allclose(shares, [0.5, 0.3, 0.2], atol=0.02)
    palette, _ = frame.extras["dominant_colors"]
    for colour, band in zip(palette, (flag[:, :150], flag[:, 150:240], flag[:, 240:])):
        assert np.abs(colour.astype(float) - band.reshape(-1, 3).mean(axis=0)).max() < 8
    assert all(c.startswith("#") and len(c) == 7 for c in frame.values["dominant_colors"])
    # the first colour is red: in #rrggbb the red byte is the largest
    first = frame.values["dominant_colors"][0]
    assert int(first[1:3], 16) > max(int(first[3:5], 16), int(first[5:7], 16))


def test_posterize_uses_only_the_palette_and_draws_the_bar() -> None:
    photo = skimage_bgr("chelsea")
    frame = run_stage("dominant_colors", photo, k=4, posterize=True, palette_height=30)
    colours = np.unique(frame.image.reshape(-1, 3), axis=0)
    assert len(colours) == 4
    palette, shares = frame.extras["dominant_colors"]
    assert {tuple(c) for c in colours} == {tuple(c) for c in palette}
    assert abs(sum(shares) - 1) < 1e-6 and list(shares) == sorted(shares, reverse=True)
    # quantisation keeps the picture: close to the photo on average
    assert np.abs(frame.image.astype(int) - photo.astype(int)).mean() < 25
    bar = frame.annotated[-30:]
    assert tuple(bar[15, 2]) == tuple(int(v) for v in palette[0])  # the bar starts with the most common colour


def test_dominant_colours_are_kept_between_updates(flag: np.ndarray) -> None:
    from vision_desk.engine.frame import Frame
    from vision_desk.stages.classical.histograms import DominantColorsParams, DominantColorsStage

    stage = DominantColorsStage(DominantColorsParams(k=3, every=5))
    first = Frame(flag.copy(), 0, 0.0)
    stage.process(first)
    other = Frame(np.full_like(flag, 128), 1, 0.03)
    stage.process(other)
    assert other.values["dominant_colors"] == first.values["dominant_colors"]  # within the 5-frame period
    stage.reset()
    fresh = Frame(np.full_like(flag, 128), 2, 0.06)
    stage.process(fresh)
    assert fresh.values["dominant_colors"] == ["#808080"]  # a flat frame has one colour, whatever k
