"""Histograms: a live histogram overlay, equalisation (global and CLAHE) and dominant colours by k-means."""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

from vision_desk.engine.frame import Frame
from vision_desk.engine.params import StageParams, param
from vision_desk.engine.stage import Stage
from vision_desk.stages.classical._common import to_gray

_CURVE_COLORS = {"B": (255, 120, 40), "G": (60, 220, 60), "R": (60, 60, 255), "gray": (230, 230, 230)}


def histograms(image: np.ndarray, mode: str) -> dict[str, np.ndarray]:
    """256-bin histograms keyed by channel: B, G, R for ``color``, one ``gray`` curve otherwise."""
    if mode == "gray":
        return {"gray": cv2.calcHist([to_gray(image)], [0], None, [256], [0, 256]).ravel()}
    return {name: cv2.calcHist([image], [i], None, [256], [0, 256]).ravel() for i, name in enumerate("BGR")}


def draw_histogram_panel(canvas: np.ndarray, hists: dict[str, np.ndarray], corner: str, size: tuple[int, int], log: bool) -> None:
    """Draws the curves on a darkened panel in one corner of the canvas, in place."""
    h_img, w_img = canvas.shape[:2]
    w, h = min(size[0], w_img), min(size[1], h_img)
    x0 = 0 if corner.endswith("left") else w_img - w
    y0 = 0 if corner.startswith("top") else h_img - h
    panel = canvas[y0 : y0 + h, x0 : x0 + w]
    panel[:] = (panel * 0.35).astype(np.uint8)
    xs = np.linspace(0, w - 1, 256)
    for name, hist in hists.items():
        values = np.log1p(hist) if log else hist
        top = float(values.max()) or 1.0
        ys = (h - 1) - values / top * (h - 4)
        pts = np.stack([xs, ys], axis=1).round().astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(panel, [pts], False, _CURVE_COLORS[name], 1, cv2.LINE_AA)


class HistogramParams(StageParams):
    mode: Literal["color", "gray"] = param("color", help="One curve per colour channel (B, G, R), or one for brightness.")
    corner: Literal["top_left", "top_right", "bottom_left", "bottom_right"] = param("top_right", help="Where the histogram panel is drawn.")
    width: int = param(256, ge=64, le=2048, help="Panel width in pixels.")
    height: int = param(120, ge=32, le=1024, help="Panel height in pixels.")
    log: bool = param(False, help="Logarithmic counts (shows small peaks next to a dominant one).")


class HistogramStage(Stage):
    id = "histogram"
    title = "Histogram"
    category = "Histograms"
    help = ("Draws a live histogram (per channel or brightness) over the frame; brightness_mean, brightness_std "
            "and the fractions of clipped dark / bright pixels go in values.")
    Params = HistogramParams
    values = {"brightness_mean": "Mean gray level (0-255).", "brightness_std": "Standard deviation of the gray level.",
              "dark_clipped": "Share of pixels at black (0).", "bright_clipped": "Share of pixels at white (255)."}

    def process(self, frame: Frame) -> None:
        hists = histograms(frame.image, self.params.mode)
        frame.extras[self.id] = hists
        mean, std = cv2.meanStdDev(to_gray(frame.image))
        gray_hist = hists["gray"] if "gray" in hists else cv2.calcHist([to_gray(frame.image)], [0], None, [256], [0, 256]).ravel()
        total = float(gray_hist.sum())
        frame.values["brightness_mean"] = round(float(mean[0, 0]), 2)
        frame.values["brightness_std"] = round(float(std[0, 0]), 2)
        frame.values["dark_clipped"] = round(float(gray_hist[0]) / total, 4)
        frame.values["bright_clipped"] = round(float(gray_hist[255]) / total, 4)

    def draw(self, canvas: np.ndarray, frame: Frame) -> None:
        hists = frame.extras.get(self.id)
        if hists:
            p = self.params
            draw_histogram_panel(canvas, hists, p.corner, (p.width, p.height), p.log)


def equalize(image: np.ndarray, method: str, channels: str, clip_limit: float = 2.0, tiles: int = 8) -> np.ndarray:
    """Spreads the brightness histogram: globally, or per tile with a contrast limit (CLAHE).

    ``luminance`` equalises only Y of YCrCb, so colours keep their hue;
    ``each`` equalises B, G and R separately (colours shift); ``gray`` returns gray.
    """
    if method == "clahe":
        clahe = cv2.createCLAHE(clipLimit=clip_limit, tileGridSize=(tiles, tiles))
        eq = clahe.apply
    else:
        eq = cv2.equalizeHist
    if channels == "gray":
        return cv2.cvtColor(eq(to_gray(image)), cv2.COLOR_GRAY2BGR)
    if channels == "each":
        return cv2.merge([eq(c) for c in cv2.split(image)])
    ycrcb = cv2.cvtColor(image, cv2.COLOR_BGR2YCrCb)
    ycrcb[:, :, 0] = eq(np.ascontiguousarray(ycrcb[:, :, 0]))
    return cv2.cvtColor(ycrcb, cv2.COLOR_YCrCb2BGR)


class EqualizeParams(StageParams):
    method: Literal["clahe", "global"] = param("clahe", help="clahe: adaptive, tile by tile with limited contrast (less noise); global: one histogram for the whole frame.")
    channels: Literal["luminance", "each", "gray"] = param("luminance", help="luminance keeps colours; each equalises B, G, R separately; gray gives a gray result.")
    clip_limit: float = param(2.0, ge=0.1, le=40.0, step=0.1, help="CLAHE: contrast limit per tile (higher: stronger, noisier).")
    tiles: int = param(8, ge=1, le=64, help="CLAHE: tiles per side of the grid.")


class EqualizeStage(Stage):
    id = "equalize"
    title = "Equalise histogram / CLAHE"
    category = "Histograms"
    help = "Raises contrast by histogram equalisation, global or CLAHE; contrast_before / contrast_after (brightness std) in values."
    Params = EqualizeParams
    values = {"contrast_before": "Gray-level standard deviation before.", "contrast_after": "Gray-level standard deviation after."}

    def process(self, frame: Frame) -> None:
        p = self.params
        before = float(cv2.meanStdDev(to_gray(frame.image))[1][0, 0])
        frame.image = equalize(frame.image, p.method, p.channels, p.clip_limit, p.tiles)
        frame.values["contrast_before"] = round(before, 2)
        frame.values["contrast_after"] = round(float(cv2.meanStdDev(to_gray(frame.image))[1][0, 0]), 2)


def dominant_colors(image: np.ndarray, k: int, samples: int = 5000, attempts: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` dominant BGR colours by k-means, most common first, and their shares of the frame.

    k-means runs on a nearest-neighbour subsample of about ``samples`` pixels
    (real pixel colours, no blending); seeded, so the same frame gives the same palette.
    """
    h, w = image.shape[:2]
    scale = min(1.0, (samples / float(h * w)) ** 0.5)
    small = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_NEAREST)
    data = small.reshape(-1, 3).astype(np.float32)
    k = min(k, len(np.unique(data, axis=0)))
    cv2.setRNGSeed(12345)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 30, 0.5)
    _, labels, centres = cv2.kmeans(data, k, None, criteria, attempts, cv2.KMEANS_PP_CENTERS)
    shares = np.bincount(labels.ravel(), minlength=k) / float(len(labels))
    order = np.argsort(-shares, kind="stable")
    return np.clip(np.round(centres[order]), 0, 255).astype(np.uint8), shares[order]


def posterize(image: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Every pixel replaced by the nearest palette colour (colour quantisation)."""
    pixels = image.reshape(-1, 3).astype(np.float32)
    centres = palette.astype(np.float32)
    # |p - c|^2 = |p|^2 - 2 p.c + |c|^2, and |p|^2 is the same for every c: one matrix product ranks them
    # (integers below 2^24, so float32 is exact)
    score = (centres * centres).sum(axis=1) - 2.0 * (pixels @ centres.T)
    return palette[np.argmin(score, axis=1)].reshape(image.shape)


def hex_color(bgr: np.ndarray) -> str:
    b, g, r = (int(v) for v in bgr)
    return f"#{r:02x}{g:02x}{b:02x}"


class DominantColorsParams(StageParams):
    k: int = param(5, ge=1, le=16, help="Number of colours.")
    samples: int = param(5000, ge=100, le=1_000_000, help="Pixels sampled for k-means (more: steadier, slower).")
    attempts: int = param(2, ge=1, le=10, help="k-means restarts; the best is kept.")
    every: int = param(1, ge=1, le=1000, help="Recompute the palette every N frames (it is kept in between).")
    posterize: bool = param(False, help="Replace every pixel by its nearest palette colour (colour quantisation).")
    palette_height: int = param(40, ge=0, le=400, help="Height of the palette bar drawn at the bottom (0: none).")


class DominantColorsStage(Stage):
    id = "dominant_colors"
    title = "Dominant colours (k-means)"
    category = "Histograms"
    help = ("The k dominant colours by k-means clustering: a palette bar with their shares, and the hex colours "
            "and shares in values (dominant_colors, dominant_shares); optional posterisation.")
    Params = DominantColorsParams
    values = {"dominant_colors": "The colours as hex strings, most common first.",
              "dominant_shares": "Each colour's share of the frame (0-1)."}

    def __init__(self, params: StageParams | None = None) -> None:
        super().__init__(params)
        self._palette: tuple[np.ndarray, np.ndarray] | None = None
        self._age = 0

    def reset(self) -> None:
        self._palette, self._age = None, 0

    def update_params(self, params: StageParams) -> None:
        super().update_params(params)
        self.reset()

    def process(self, frame: Frame) -> None:
        p = self.params
        if self._palette is None or self._age >= p.every:
            self._palette, self._age = dominant_colors(frame.image, p.k, p.samples, p.attempts), 0
        self._age += 1
        palette, shares = self._palette
        frame.values["dominant_colors"] = [hex_color(c) for c in palette]
        frame.values["dominant_shares"] = [round(float(s), 4) for s in shares]
        frame.extras[self.id] = (palette, shares)
        if p.posterize:
            frame.image = posterize(frame.image, palette)

    def draw(self, canvas: np.ndarray, frame: Frame) -> None:
        found = frame.extras.get(self.id)
        height = min(self.params.palette_height, canvas.shape[0])
        if not found or height <= 0:
            return
        palette, shares = found
        w = canvas.shape[1]
        edges = np.concatenate([[0], np.cumsum(shares)]) * w
        y0 = canvas.shape[0] - height
        for colour, share, x1, x2 in zip(palette, shares, edges[:-1], edges[1:]):
            bgr = tuple(int(v) for v in colour)
            cv2.rectangle(canvas, (int(x1), y0), (int(x2), canvas.shape[0] - 1), bgr, -1)
            text = f"{hex_color(colour)} {share:.0%}"
            (tw, _), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.4, 1)
            if x2 - x1 > tw + 6:
                lum = 0.114 * bgr[0] + 0.587 * bgr[1] + 0.299 * bgr[2]
                cv2.putText(canvas, text, (int(x1) + 3, y0 + height // 2 + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                            (0, 0, 0) if lum > 140 else (255, 255, 255), 1, cv2.LINE_AA)
