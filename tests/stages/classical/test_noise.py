"""The noise stage: the statistics each kind must have, noise that repeats per (seed, frame), and denoising that undoes it."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.media import skimage_bgr
from tests.stages.classical.stage_runs import entry_tests, run_clip, run_frames
from vision_desk.engine.frame import Frame
from vision_desk.engine.pipeline import Pipeline, load_spec

ROOT = Path(__file__).resolve().parents[3]

test_valid_pipeline_entries, test_invalid_pipeline_entries = entry_tests(
    valid=[
        ("noise", {}),
        ("noise", {"kind": "salt_pepper", "amount": 0.1, "salt_ratio": 0.3, "seed": 0}),
        ("noise", {"kind": "speckle", "variance": 0.1}),
        ("noise", {"kind": "poisson", "photons": 0.25, "seed": 42}),
    ],
    invalid=[
        ("noise", {"kind": "uniform"}, "kind"),
        ("noise", {"sigma": 200}, "sigma"),
        ("noise", {"amount": 1.5}, "amount"),
        ("noise", {"photons": 0}, "photons"),
        ("noise", {"seed": -1}, "seed"),
    ],
)


def noisy(image: np.ndarray, index: int = 0, **params: object) -> np.ndarray:
    """The noise stage, built from a validated pipeline entry, over one frame with this index."""
    frames = run_frames([{"stage": "noise", "params": params}], [image] * (index + 1))
    return frames[index].image


def flat(level: int) -> np.ndarray:
    return np.full((256, 256, 3), level, np.uint8)


def test_gaussian_noise_has_the_asked_sigma() -> None:
    residual = noisy(flat(128), kind="gaussian", sigma=20).astype(np.float64) - 128
    assert abs(residual.mean()) < 0.3 and abs(residual.std() - 20) < 0.4  # 196 608 samples: std of the estimate ~0.03


def test_salt_and_pepper_replaces_the_asked_fraction_of_pixels() -> None:
    out = noisy(flat(128), kind="salt_pepper", amount=0.1, salt_ratio=0.3)
    white, black = (out == 255).all(axis=2), (out == 0).all(axis=2)
    assert abs(white.mean() - 0.03) < 0.004 and abs(black.mean() - 0.07) < 0.005
    assert (out[~(white | black)] == 128).all()  # whole pixels change, the rest stay as they were


def test_speckle_grows_with_brightness_and_poisson_with_fewer_photons() -> None:
    for level in (50, 150):
        residual = noisy(flat(level), kind="speckle", variance=0.04).astype(np.float64) - level
        assert abs(residual.std() - 0.2 * level) < 0.03 * level and abs(residual.mean()) < 0.5
    for photons, expected_std in ((1.0, 10.0), (4.0, 5.0)):  # sqrt(100 / photons) grey levels at level 100
        out = noisy(flat(100), kind="poisson", photons=photons).astype(np.float64)
        assert abs(out.mean() - 100) < 0.3 and abs(out.std() - expected_std) < 0.1 * expected_std


@pytest.mark.parametrize("kind", ["gaussian", "salt_pepper", "speckle", "poisson"])
def test_a_seed_repeats_per_frame_and_varies_between_frames(kind: str) -> None:
    photo = skimage_bgr("astronaut")
    first = noisy(photo, 3, kind=kind, seed=7)
    again = noisy(photo, 3, kind=kind, seed=7)  # a new pipeline: a second run of the same video
    np.testing.assert_array_equal(first, again)
    assert (first != noisy(photo, 4, kind=kind, seed=7)).mean() > 0.01  # the next frame gets other noise
    assert (first != noisy(photo, 3, kind=kind, seed=8)).mean() > 0.01
    assert (noisy(photo, 3, kind=kind, seed=0) != noisy(photo, 3, kind=kind, seed=0)).mean() > 0.01  # 0: fresh every time


def test_the_preset_denoises_most_of_the_noise_it_adds() -> None:
    clean = skimage_bgr("astronaut")
    pipeline = Pipeline(load_spec(ROOT / "pipelines" / "noise-robustness.yaml"))
    pipeline.setup()
    noise_only = run_frames([{"stage": "noise", "params": {"kind": "gaussian", "sigma": 20, "seed": 1}}], [clean])[0].image
    denoised = pipeline.process(Frame(clean.copy(), 0, 0.0)).image
    before, after = cv2.PSNR(clean, noise_only), cv2.PSNR(clean, denoised)
    assert 21.5 < before < 24.0  # sigma 20: 20 log10(255 / 20) = 22.1 dB, a little more where clipping cuts the noise
    assert after > before + 3.0  # measured 22.7 -> 27.6 dB


def test_median_blur_removes_salt_and_pepper() -> None:
    clean = skimage_bgr("astronaut")
    frames = run_frames([{"stage": "noise", "params": {"kind": "salt_pepper", "amount": 0.05}},
                         {"stage": "blur", "params": {"method": "median", "ksize": 3}}], [clean])
    before = cv2.PSNR(clean, noisy(clean, kind="salt_pepper", amount=0.05))
    assert cv2.PSNR(clean, frames[0].image) > before + 8.0  # measured 17.5 -> 31.4 dB


def test_noise_over_a_720p_clip_repeats_and_has_its_sigma(clip_720p: Path) -> None:
    stages = [{"stage": "noise", "params": {"kind": "gaussian", "sigma": 12}}]
    clean = run_clip(clip_720p, [], max_frames=3)
    first, second = run_clip(clip_720p, stages, max_frames=3), run_clip(clip_720p, stages, max_frames=3)
    for c, a, b in zip(clean, first, second):
        np.testing.assert_array_equal(a.image, b.image)  # the default seed: a recording of it repeats exactly
        mid = (c.image > 60) & (c.image < 195)  # no clipping at 0 or 255 there
        residual = a.image[mid].astype(np.float64) - c.image[mid]
        assert abs(residual.std() - 12) < 0.5 and abs(residual.mean()) < 0.3
