"""Lab colour helpers for colorization: keep a frame's 8-bit L exactly while replacing its ab.

OpenCV's 8-bit Lab stores L as ``L * 255 / 100`` and a, b offset by 128. A
naive ``Lab -> BGR`` round trip does not keep L: rounding to 8-bit BGR moves
it by a step or two, and a chroma the sRGB gamut cannot hold at that
lightness is clipped, which can move L a lot. :func:`merge_exact` therefore

1. converts in 8-bit Lab and checks L in that same representation; a pixel
   whose L moved by more than two steps holds a colour outside the sRGB gamut
   at that lightness, so its chroma is shrunk (a, b toward 0, hue kept) until
   it fits,
2. nudges the pixels whose L is a step or two off to a neighbouring BGR value
   whose 8-bit L is exact, and
3. gives any pixel still off a near-gray BGR value with exactly that L (a
   256-row table built once).

So ``cv2.cvtColor(out, COLOR_BGR2Lab)[..., 0]`` equals the L it was given,
for every pixel, always. That search is too slow per frame, so it is run once
over a grid of all L and every other a, b (:func:`exact_colour_table`), and
:func:`merge_l_ab` converts a frame directly, taking from the table only the
pixels whose L the direct conversion moved.
"""

from __future__ import annotations

import itertools
from functools import lru_cache

import cv2
import numpy as np


def lab8_l(image_bgr: np.ndarray) -> np.ndarray:
    """The 8-bit Lab L channel (0..255 for L 0..100) of a BGR uint8 image; gray input is three equal channels."""
    return cv2.cvtColor(image_bgr, cv2.COLOR_BGR2Lab)[..., 0]


def _lab8(pixels: np.ndarray) -> np.ndarray:
    """8-bit Lab of BGR uint8 rows (N, 3), as int16 (N, 3)."""
    return cv2.cvtColor(np.ascontiguousarray(pixels, np.uint8).reshape(-1, 1, 3), cv2.COLOR_BGR2Lab).reshape(-1, 3).astype(np.int16)


def _bgr8(lab: np.ndarray) -> np.ndarray:
    """BGR uint8 rows (N, 3) of 8-bit Lab rows (N, 3) (OpenCV clips colours outside sRGB)."""
    return cv2.cvtColor(np.ascontiguousarray(lab, np.uint8).reshape(-1, 1, 3), cv2.COLOR_Lab2BGR).reshape(-1, 3)


# Nudges for a pixel whose 8-bit L is a step or two off, tried in turn on the pixels still off:
# one channel by one (blue moves L least), then two, then all three, then by two. Each is applied
# in the direction L must go (L grows with each of B, G and R).
_NUDGES = np.array(
    [(1, 0, 0), (0, 0, 1), (0, 1, 0), (1, 0, 1), (1, 1, 0), (0, 1, 1), (1, 1, 1),
     (2, 0, 0), (0, 0, 2), (0, 2, 0), (2, 1, 1), (1, 2, 1), (2, 2, 2)],
    np.int16,
)
#: Chroma factors tried, in turn, on pixels whose colour sRGB cannot show at their lightness.
_CHROMA_STEPS = (0.75, 0.5, 0.3, 0.15, 0.0)


@lru_cache(maxsize=1)
def exact_l_table() -> np.ndarray:
    """(256, 3) uint8: for each 8-bit L, a near-gray BGR colour with exactly that L (the least chroma found).

    Grays alone reach only 238 of the 256 levels; grays moved by up to 3 per
    channel reach 253, which is every level any BGR colour has (4, 13 and 22
    come from no colour at all, so they never occur in a frame; their rows
    hold the level below).
    """
    offsets = np.array(list(itertools.product(range(-3, 4), repeat=3)), np.int16)
    cand = np.clip(np.arange(256, dtype=np.int16)[:, None, None] + offsets[None], 0, 255).astype(np.uint8).reshape(-1, 3)
    lab = _lab8(cand)
    chroma = np.abs(lab[:, 1] - 128) + np.abs(lab[:, 2] - 128)
    table = np.zeros((256, 3), np.uint8)
    best = np.full(256, np.iinfo(np.int32).max)
    for level, c, colour in zip(lab[:, 0], chroma, cand):
        if c < best[level]:
            best[level], table[level] = c, colour
    for level in range(1, 256):
        if best[level] == np.iinfo(np.int32).max:
            table[level] = table[level - 1]
    return table


def merge_exact(lab: np.ndarray) -> np.ndarray:
    """BGR uint8 rows (N, 3) for 8-bit Lab rows (N, 3): exactly each row's L, ab as close as the gamut allows.

    The careful, slow path (steps 1-3 of the module docstring); :func:`merge_l_ab`
    uses it through a table, once per process.
    """
    lab = np.ascontiguousarray(lab, np.uint8).reshape(-1, 3)
    flat = _bgr8(lab)
    target = lab[:, 0].astype(np.int16)
    off = target - _lab8(flat)[:, 0]
    # 1. Colours outside the gamut come back far from their L: shrink their chroma until they fit.
    idx = np.nonzero(np.abs(off) > 2)[0]
    for factor in _CHROMA_STEPS:
        if not idx.size:
            break
        sub = lab[idx].astype(np.float32)
        sub[:, 1:] = 128 + (sub[:, 1:] - 128) * factor
        px = _bgr8(np.rint(sub))
        d = target[idx] - _lab8(px)[:, 0]
        fits = np.abs(d) <= 2
        flat[idx[fits]] = px[fits]
        off[idx[fits]] = d[fits]
        idx = idx[~fits]
    # 2. Rounding leaves L a step or two off: nudge those pixels to a neighbouring exact colour.
    idx = np.nonzero(off)[0]
    for nudge in _NUDGES:
        if not idx.size:
            return flat
        px = np.clip(flat[idx].astype(np.int16) + np.sign(off[idx])[:, None] * nudge, 0, 255).astype(np.uint8)
        exact = _lab8(px)[:, 0] == target[idx]
        flat[idx[exact]] = px[exact]
        idx = idx[~exact]
    # 3. Whatever is left gets the least-coloured colour with exactly its L.
    if idx.size:
        flat[idx] = exact_l_table()[target[idx]]
    return flat


@lru_cache(maxsize=1)
def exact_colour_table() -> np.ndarray:
    """(256, 128, 128, 3) uint8: :func:`merge_exact` of every (L, a, b) with a, b on even 8-bit values.

    12.6 MB, built once per process (a few seconds on a 2-core CPU; the colorize
    stage builds it in ``setup``), so that frames need no per-pixel search.
    """
    grid = np.empty((256, 128, 128, 3), np.uint8)
    grid[..., 0] = np.arange(256, dtype=np.uint8)[:, None, None]
    grid[..., 1] = (2 * np.arange(128, dtype=np.uint8))[None, :, None]
    grid[..., 2] = (2 * np.arange(128, dtype=np.uint8))[None, None, :]
    return merge_exact(grid.reshape(-1, 3)).reshape(256, 128, 128, 3)


def merge_l_ab(l8: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """A BGR uint8 image whose 8-bit Lab L is exactly ``l8`` and whose ab is as close to ``ab`` as the gamut allows.

    Most pixels (about four in five) convert directly with L intact and keep
    their exact 8-bit ab; the rest come from :func:`exact_colour_table`, with a
    and b rounded down to an even 8-bit value (at most one Lab unit off).

    Args:
        l8: HxW uint8, L in OpenCV's 8-bit scale (as from :func:`lab8_l`).
        ab: HxWx2 float, a and b in Lab units (about -110..110).
    """
    h, w = l8.shape
    lab = np.empty((h, w, 3), np.uint8)
    lab[..., 0] = l8
    lab[..., 1:] = np.clip(np.rint(ab + 128.0), 0, 255)
    out = cv2.cvtColor(lab, cv2.COLOR_Lab2BGR)
    flat, lab = out.reshape(-1, 3), lab.reshape(-1, 3)
    bad = np.nonzero(_lab8(flat)[:, 0] != lab[:, 0])[0]
    if bad.size:
        rows = lab[bad]
        flat[bad] = exact_colour_table()[rows[:, 0], rows[:, 1] >> 1, rows[:, 2] >> 1]
    return out
