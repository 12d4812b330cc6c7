"""Effects: measurable properties of tilt-shift, stylization, detail enhance, pencil sketch and cartoon on a real photo."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.media import skimage_bgr
from tests.stages.classical.stage_runs import entry_tests, run_clip, run_frames
from vision_desk.engine.pipeline import load_spec
from vision_desk.stages.classical.analysis import laplacian_variance
from vision_desk.stages.classical.effects import focus_weights


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return skimage_bgr("astronaut")


def apply(stage: str, image: np.ndarray, **params: object) -> np.ndarray:
    out = run_frames([{"stage": stage, "params": params}], [image])[0].image
    assert out.shape == image.shape and out.dtype == np.uint8
    return out


def gray_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two images' gray levels: still the same picture when high."""
    ga, gb = (cv2.cvtColor(x, cv2.COLOR_BGR2GRAY).astype(np.float64).ravel() for x in (a, b))
    return float(np.corrcoef(ga, gb)[0, 1])


def test_tilt_shift_keeps_the_band_sharp_and_blurs_the_rest(photo: np.ndarray) -> None:
    out = apply("tilt_shift", photo, centre=0.55, band=0.2, fade=0.2)
    band = slice(int(0.46 * 512), int(0.64 * 512))
    assert laplacian_variance(out[band]) > 0.95 * laplacian_variance(photo[band])
    for far in (slice(0, 80), slice(450, 512)):  # beyond band/2 + fade from the centre: full blur
        assert laplacian_variance(out[far]) < 0.1 * laplacian_variance(photo[far])
    saturation = [cv2.cvtColor(x, cv2.COLOR_BGR2HSV)[..., 1].mean() for x in (out, photo)]
    assert saturation[0] > 1.15 * saturation[1]


def test_focus_weights_ramp() -> None:
    w = focus_weights(100, centre=0.5, band=0.2, fade=0.2).ravel()
    assert w[50] == 1.0 and w[41] == 1.0 and w[59] == 1.0  # inside the band
    assert w[0] == 0.0 and w[99] == 0.0  # past the fade
    assert 0.0 < w[30] < 1.0 and w[30] == pytest.approx(w[69], abs=1e-6)  # symmetric ramp


def test_stylize_flattens_colours_but_keeps_the_picture(photo: np.ndarray) -> None:
    out = apply("stylize", photo, downscale=1.0)
    colours = [len(np.unique(x.reshape(-1, 3), axis=0)) for x in (out, photo)]
    assert colours[0] < 0.6 * colours[1]  # ~57k of ~113k colours left
    assert gray_correlation(out, photo) > 0.7  # 0.83 measured


def test_detail_enhance_boosts_fine_detail(photo: np.ndarray) -> None:
    out = apply("detail", photo)
    assert laplacian_variance(out) > 2.5 * laplacian_variance(photo)  # ~4x on the astronaut
    assert gray_correlation(out, photo) > 0.8  # 0.97 measured


def test_pencil_mono_draws_dark_strokes_on_light_paper(photo: np.ndarray) -> None:
    out = apply("pencil", photo, mode="mono", downscale=1.0)
    assert (out[..., 0] == out[..., 1]).all() and (out[..., 1] == out[..., 2]).all()
    assert out.mean() > 140  # mostly paper
    edges = cv2.Canny(cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY), 100, 200) > 0
    near_edges = cv2.dilate(edges.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    assert out[..., 0][near_edges].mean() < out[..., 0][~near_edges].mean() - 15  # strokes follow the edges


def test_pencil_colour_keeps_colour(photo: np.ndarray) -> None:
    out = apply("pencil", photo, mode="color")
    assert not (out[..., 0] == out[..., 2]).all()
    # The orange suit stays orange: red channel above blue on the suit.
    assert out[400:480, 60:140, 2].mean() > out[400:480, 60:140, 0].mean() + 30


def test_cartoon_has_few_colours_and_black_outlines(photo: np.ndarray) -> None:
    out = apply("cartoon", photo, levels=8)
    colours = {tuple(c) for c in np.unique(out.reshape(-1, 3), axis=0)}
    assert len(colours) <= 8**3 + 1  # posterised levels plus black
    black = out.max(axis=2) == 0
    assert 0.02 < black.mean() < 0.4
    edges = cv2.Canny(cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY), 50, 150) > 0
    near_edges = cv2.dilate(edges.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    assert near_edges[black].mean() > 0.6  # outlines sit on the photo's edges


# -- pipeline files and a real 720p clip ---------------------------------------------------------

VALID = [
    ("tilt_shift", {"centre": 0.4, "band": 0.1, "fade": 0.3, "blur": 31, "saturation": 1.0}),
    ("stylize", {"sigma_s": 40.0, "sigma_r": 0.3, "downscale": 3.0}),
    ("detail", {"sigma_s": 20.0, "sigma_r": 0.1, "downscale": 2.0}),
    ("pencil", {"mode": "color", "shade": 0.02, "downscale": 2.0}),
    ("cartoon", {"edge_block": 7, "edge_offset": 3, "smoothing": 1, "levels": 0}),
]
INVALID = [
    ("tilt_shift", {"centre": 1.5}, "centre"),
    ("stylize", {"downscale": 0}, "downscale"),
    ("detail", {"sigma_r": 2}, "sigma_r"),
    ("pencil", {"mode": "charcoal"}, "mode"),
    ("cartoon", {"levels": 100}, "levels"),
]


def test_preset_loads() -> None:
    spec = load_spec(Path(__file__).parents[3] / "pipelines" / "cartoon.yaml")
    assert spec.name == "cartoon" and spec.stages


test_valid_pipeline_entries, test_invalid_pipeline_entries = entry_tests(VALID, INVALID)


def test_effect_stages_over_a_720p_clip(clip_720p: Path) -> None:
    frames = run_clip(clip_720p, [{"stage": s, "params": p} for s, p in VALID], max_frames=3)
    assert frames[0].image.shape == (720, 1280, 3)
    assert all(f.image.std() > 10 for f in frames)  # a picture, not a blank
