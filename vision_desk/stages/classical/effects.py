"""Effects: tilt-shift miniature and non-photorealistic rendering (pencil sketch, stylization, detail enhance, cartoon)."""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

from vision_desk.engine.frame import Frame
from vision_desk.engine.params import StageParams, param
from vision_desk.engine.stage import Stage
from vision_desk.stages.basic import odd, to_bgr, to_gray
from vision_desk.stages.classical._frame_tools import at_reduced_size

_DOWNSCALE_HELP = "Divide the frame size by this before filtering and scale the result back (the filter's time falls with the pixel count)."

# -- tilt-shift ------------------------------------------------------------------------------


def focus_weights(height: int, centre: float, band: float, fade: float) -> np.ndarray:
    """Per-row sharpness weight (1 in the focus band, falling linearly to 0 over ``fade``), shape (H, 1, 1)."""
    rows = (np.arange(height, dtype=np.float32) + 0.5) / height
    distance = np.abs(rows - centre) - band / 2
    weight = 1.0 - np.clip(distance / max(fade, 1e-6), 0.0, 1.0)
    return weight.reshape(-1, 1, 1)


def tilt_shift(image: np.ndarray, centre: float = 0.55, band: float = 0.2, fade: float = 0.2, blur: int = 21, saturation: float = 1.3) -> np.ndarray:
    """The miniature look: a sharp horizontal band, increasingly blurred above and below, with boosted colour."""
    blurred = cv2.GaussianBlur(image, (odd(blur), odd(blur)), 0)
    w = focus_weights(image.shape[0], centre, band, fade)
    out = (image.astype(np.float32) * w + blurred.astype(np.float32) * (1.0 - w)).astype(np.uint8)
    if saturation != 1.0:
        hsv = cv2.cvtColor(out, cv2.COLOR_BGR2HSV)
        hsv[..., 1] = cv2.convertScaleAbs(hsv[..., 1], alpha=saturation)
        out = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
    return out


class TiltShiftParams(StageParams):
    centre: float = param(0.55, ge=0.0, le=1.0, step=0.01, widget="slider", help="Height of the sharp band's centre, as a fraction of the frame (0 = top).")
    band: float = param(0.2, ge=0.0, le=1.0, step=0.01, help="Height of the sharp band, as a fraction of the frame.")
    fade: float = param(0.2, ge=0.0, le=1.0, step=0.01, help="Height over which sharpness fades into full blur.")
    blur: int = param(21, ge=1, le=151, step=2, help="Blur of the out-of-focus parts (Gaussian kernel size).")
    saturation: float = param(1.3, ge=0.0, le=3.0, step=0.05, help="Colour saturation factor (miniatures look vivid).")


class TiltShiftStage(Stage):
    id = "tilt_shift"
    title = "Tilt-shift"
    category = "Effects"
    help = "Makes a scene look like a miniature model: a sharp horizontal band, blur above and below, vivid colour."
    Params = TiltShiftParams

    def process(self, frame: Frame) -> None:
        p = self.params
        frame.image = tilt_shift(frame.image, p.centre, p.band, p.fade, p.blur, p.saturation)


# -- OpenCV's non-photorealistic rendering ------------------------------------------------------


class StylizeParams(StageParams):
    sigma_s: float = param(60.0, ge=0.0, le=200.0, help="Spatial extent of the smoothing, in pixels.")
    sigma_r: float = param(0.45, ge=0.0, le=1.0, step=0.01, help="How different colours may be and still be smoothed together.")
    downscale: float = param(2.0, ge=1.0, le=8.0, step=0.25, help=_DOWNSCALE_HELP)


class _ReducibleEffect(Stage):
    """An OpenCV effect slow enough to want its ``downscale`` parameter: :meth:`render` runs at the reduced size."""

    category = "Effects"
    heavy = True

    def render(self, image: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def process(self, frame: Frame) -> None:
        frame.image = at_reduced_size(self.render, frame.image, self.params.downscale)


class StylizeStage(_ReducibleEffect):
    id = "stylize"
    title = "Stylization"
    help = "A watercolour-like painting (cv2.stylization, edge-preserving smoothing). Slow: about a second per 720p frame without downscale."
    Params = StylizeParams

    def render(self, image: np.ndarray) -> np.ndarray:
        return cv2.stylization(image, sigma_s=self.params.sigma_s, sigma_r=self.params.sigma_r)


class DetailParams(StageParams):
    sigma_s: float = param(10.0, ge=0.0, le=200.0, help="Spatial extent of the base layer's smoothing, in pixels.")
    sigma_r: float = param(0.15, ge=0.0, le=1.0, step=0.01, help="Range of the smoothing: larger boosts coarser detail.")
    downscale: float = param(1.0, ge=1.0, le=8.0, step=0.25, help=_DOWNSCALE_HELP)


class DetailStage(_ReducibleEffect):
    id = "detail"
    title = "Detail enhance"
    help = "Boosts fine detail and texture (cv2.detailEnhance). Slow: a few frames a second at 720p; downscale trades detail for speed."
    Params = DetailParams

    def render(self, image: np.ndarray) -> np.ndarray:
        return cv2.detailEnhance(image, sigma_s=self.params.sigma_s, sigma_r=self.params.sigma_r)


def pencil(image: np.ndarray, mode: str = "mono", sigma_s: float = 60.0, sigma_r: float = 0.07, shade: float = 0.05) -> np.ndarray:
    """cv2.pencilSketch: a gray (mono) or coloured pencil drawing, as BGR."""
    mono, color = cv2.pencilSketch(image, sigma_s=sigma_s, sigma_r=sigma_r, shade_factor=shade)
    return to_bgr(mono) if mode == "mono" else color


class PencilParams(StageParams):
    mode: Literal["mono", "color"] = param("mono", help="Graphite on paper, or coloured pencils.")
    sigma_s: float = param(60.0, ge=0.0, le=200.0, help="Spatial extent of the smoothing, in pixels.")
    sigma_r: float = param(0.07, ge=0.0, le=1.0, step=0.01, help="Range of the smoothing: larger draws fewer, bolder strokes.")
    shade: float = param(0.05, ge=0.0, le=0.1, step=0.005, help="Paper shading: higher is darker.")
    downscale: float = param(2.0, ge=1.0, le=8.0, step=0.25, help=_DOWNSCALE_HELP)


class PencilStage(_ReducibleEffect):
    id = "pencil"
    title = "Pencil sketch (OpenCV)"
    help = "OpenCV's pencil sketch (cv2.pencilSketch), in graphite or colour; the lighter 'sketch' stage is much faster. Slow without downscale."
    Params = PencilParams

    def render(self, image: np.ndarray) -> np.ndarray:
        p = self.params
        return pencil(image, p.mode, p.sigma_s, p.sigma_r, p.shade)


# -- cartoon ------------------------------------------------------------------------------------


def cartoon(image: np.ndarray, edge_block: int = 9, edge_offset: int = 5, smoothing: int = 2, levels: int = 8) -> np.ndarray:
    """The classic cartoon: flat colour regions (bilateral smoothing + colour levels) under bold black outlines.

    Args:
        edge_block: neighbourhood of the adaptive threshold that finds the outlines (odd).
        edge_offset: how much darker than its neighbourhood a pixel must be to be an outline.
        smoothing: bilateral filter passes (each flattens texture, keeping edges).
        levels: colour levels per channel (posterisation); 0 keeps every colour.
    """
    gray = cv2.medianBlur(to_gray(image), 7)
    edges = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, odd(max(3, edge_block)), edge_offset)
    if smoothing:
        # Bilateral passes at half size (the classic cartoon recipe): four times cheaper, and flat areas want no detail.
        color = cv2.pyrDown(image)
        for _ in range(smoothing):
            color = cv2.bilateralFilter(color, 9, 75, 75)
        color = cv2.resize(color, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR)
    else:
        color = image
    if levels:
        step = 256 // levels
        color = (color // step * step + step // 2).astype(np.uint8)
    return cv2.bitwise_and(color, color, mask=edges)


class CartoonParams(StageParams):
    edge_block: int = param(9, ge=3, le=101, step=2, help="Outline detector neighbourhood, in pixels (odd): larger gives broader outlines.")
    edge_offset: int = param(5, ge=0, le=50, help="Outline sensitivity: higher draws fewer lines.")
    smoothing: int = param(2, ge=0, le=10, help="Bilateral smoothing passes: more gives flatter colour (each costs time).")
    levels: int = param(8, ge=0, le=64, help="Colour levels per channel; 0 keeps every colour.")


class CartoonStage(Stage):
    id = "cartoon"
    title = "Cartoon"
    category = "Effects"
    help = "Flat colours and bold outlines: bilateral smoothing, posterisation and adaptive-threshold edges."
    Params = CartoonParams

    def process(self, frame: Frame) -> None:
        p = self.params
        frame.image = cartoon(frame.image, p.edge_block, p.edge_offset, p.smoothing, p.levels)
