"""Helpers for the drawing tests: where a drawing changed a picture, and a text's glyphs as cv2.putText draws them."""

from __future__ import annotations

import cv2
import numpy as np


def changed_box(before: np.ndarray, after: np.ndarray) -> tuple[int, int, int, int]:
    """(x1, y1, x2, y2), exclusive ends, of the pixels that differ between two images."""
    ys, xs = np.nonzero((before != after).any(axis=2))
    assert len(xs), "nothing was drawn"
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def ink(image: np.ndarray, background: tuple[int, int, int]) -> np.ndarray:
    """The tight crop around the pixels that are not the background colour."""
    ys, xs = np.nonzero((image != np.array(background, np.uint8)).any(axis=2))
    assert len(xs), "no ink"
    return image[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


def put_text_ink(text: str, scale: float, thickness: int, color: tuple[int, int, int], background: tuple[int, int, int]) -> np.ndarray:
    """The glyphs of one line as cv2.putText draws them on a plain background, tightly cropped."""
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    canvas = np.full((h + base + 40, w + 40, 3), background, np.uint8)
    cv2.putText(canvas, text, (20, h + 20), cv2.FONT_HERSHEY_SIMPLEX, scale, color, thickness, cv2.LINE_AA)
    return ink(canvas, background)
