"""Temporal stabilisation for per-frame effects: an exponential moving average that knows about motion and cuts.

A network run on each frame alone flickers: sensor noise and compression
noise change its output although the scene did not. :class:`TemporalSmoother`
blends each new output with the previous smoothed one, per pixel, but

- only where the input itself stayed still (a moving object is not smeared
  into a trail: the blend weight falls to 0 where the input changed by
  ``motion`` or more), and
- not across a scene cut (a mean input change above ``cut`` starts afresh).
"""

from __future__ import annotations

import cv2
import numpy as np


def guide_of(image_bgr: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The frame's gray level (float32, 0..255) at ``size`` (w, h): what the smoother compares between frames."""
    gray = image_bgr if image_bgr.ndim == 2 else cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY)
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA).astype(np.float32)


class TemporalSmoother:
    """Motion-aware exponential smoothing of a float array (HxW or HxWxC) between frames.

    Args:
        weight: how much of the past to keep where the input is still (0 = off, 0.95 = very steady).
        motion: gray-level change (0..255) of the input at which a pixel stops being smoothed.
        cut: mean gray-level change of the input that counts as a new scene and resets.
    """

    def __init__(self, weight: float, motion: float = 24.0, cut: float = 30.0) -> None:
        self.weight = weight
        self.motion = motion
        self.cut = cut
        self._state: np.ndarray | None = None
        self._guide: np.ndarray | None = None
        self.cuts = 0

    def reset(self) -> None:
        self._state = None
        self._guide = None

    def __call__(self, value: np.ndarray, guide: np.ndarray) -> np.ndarray:
        """Smoothed ``value``; ``guide`` is the input's gray level at the value's height and width."""
        value = value.astype(np.float32, copy=False)
        prev, prev_guide = self._state, self._guide
        self._guide = guide
        if self.weight <= 0 or prev is None or prev.shape != value.shape or prev_guide.shape != guide.shape:
            self._state = value
            return value
        change = cv2.GaussianBlur(np.abs(guide - prev_guide), (5, 5), 0)
        if float(change.mean()) > self.cut:
            self.cuts += 1
            self._state = value
            return value
        w = self.weight * np.clip(1.0 - change / self.motion, 0.0, 1.0)
        if value.ndim == 3:
            w = w[..., None]
        self._state = value + w * (prev - value)
        return self._state
