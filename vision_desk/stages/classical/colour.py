"""Colour stages: colour-space view, brightness/contrast and gamma."""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

from vision_desk.engine.frame import Frame
from vision_desk.engine.params import StageParams, param
from vision_desk.engine.stage import Stage
from vision_desk.stages.classical._common import to_bgr

_CONVERSIONS = {
    "hsv": cv2.COLOR_BGR2HSV,
    "hls": cv2.COLOR_BGR2HLS,
    "lab": cv2.COLOR_BGR2LAB,
    "luv": cv2.COLOR_BGR2LUV,
    "ycrcb": cv2.COLOR_BGR2YCrCb,
    "xyz": cv2.COLOR_BGR2XYZ,
    "rgb": cv2.COLOR_BGR2RGB,
}

#: Channel names per colour space, as the GUI help and the values show them.
CHANNELS = {
    "bgr": ("B", "G", "R"), "rgb": ("R", "G", "B"), "hsv": ("H", "S", "V"), "hls": ("H", "L", "S"),
    "lab": ("L", "a", "b"), "luv": ("L", "u", "v"), "ycrcb": ("Y", "Cr", "Cb"), "xyz": ("X", "Y", "Z"),
}


def convert_color(image: np.ndarray, space: str) -> np.ndarray:
    """The BGR image converted to ``space`` (8-bit OpenCV ranges: hue is 0..179)."""
    return image if space == "bgr" else cv2.cvtColor(image, _CONVERSIONS[space])


def color_space_view(image: np.ndarray, space: str, channel: int) -> np.ndarray:
    """The converted image shown as-is (channel 0), or one channel (1..3) in gray.

    A hue channel is stretched from 0..179 to 0..255 so that it fills the gray range.
    """
    converted = convert_color(image, space)
    if channel == 0:
        return converted
    plane = converted[:, :, channel - 1]
    if space in ("hsv", "hls") and channel == 1:
        plane = cv2.convertScaleAbs(plane, alpha=255.0 / 179.0)
    return to_bgr(plane)


class ColorSpaceParams(StageParams):
    space: Literal["hsv", "lab", "ycrcb", "hls", "luv", "xyz", "rgb", "bgr"] = param("hsv", help="Colour space to convert the frame into.")
    channel: int = param(0, ge=0, le=3, help="0 shows all three channels as if they were B, G, R; 1-3 shows that channel alone in gray (e.g. 1=H, 2=S, 3=V for hsv).")


class ColorSpaceStage(Stage):
    id = "color_space"
    title = "Colour space"
    category = "Colour"
    help = "Shows the frame in another colour space (HSV, LAB, YCrCb...), whole or one channel in gray; the channel means are in values."
    Params = ColorSpaceParams
    values = {"mean_<space>_<letter>": "Mean of each channel of the chosen space, named by its letter, e.g. mean_hsv_V."}

    def process(self, frame: Frame) -> None:
        p = self.params
        converted = convert_color(frame.image, p.space)
        means = cv2.mean(converted)[:3]
        for name, mean in zip(CHANNELS[p.space], means):
            frame.values[f"mean_{p.space}_{name}"] = round(float(mean), 2)
        frame.image = color_space_view(frame.image, p.space, p.channel)


def brightness_contrast(image: np.ndarray, contrast: float, brightness: int) -> np.ndarray:
    """``contrast * pixel + brightness``, saturated to 0..255 (never wrapped)."""
    return cv2.addWeighted(image, contrast, image, 0.0, float(brightness))


class BrightnessContrastParams(StageParams):
    contrast: float = param(1.0, ge=0.0, le=4.0, step=0.05, widget="slider", help="Gain: 1 keeps the contrast, above 1 raises it, below 1 flattens it.")
    brightness: int = param(0, ge=-255, le=255, widget="slider", help="Added to every pixel after the gain (negative darkens).")


class BrightnessContrastStage(Stage):
    id = "brightness_contrast"
    title = "Brightness / contrast"
    category = "Colour"
    help = "Linear brightness and contrast: contrast x pixel + brightness, saturated to 0..255."
    Params = BrightnessContrastParams

    def process(self, frame: Frame) -> None:
        frame.image = brightness_contrast(frame.image, self.params.contrast, self.params.brightness)


def gamma_lut(gamma: float) -> np.ndarray:
    """The 256-entry table ``255 * (v / 255) ** gamma``."""
    return np.clip(np.round(255.0 * (np.arange(256) / 255.0) ** gamma), 0, 255).astype(np.uint8)


def adjust_gamma(image: np.ndarray, gamma: float) -> np.ndarray:
    """Applies the power law ``out = 255 * (in / 255) ** gamma`` through a lookup table."""
    return cv2.LUT(image, gamma_lut(gamma))


class GammaParams(StageParams):
    gamma: float = param(0.7, ge=0.05, le=5.0, step=0.05, widget="slider", help="Exponent of the power law: below 1 lifts shadows (brighter), above 1 deepens them (darker).")


class GammaStage(Stage):
    id = "gamma"
    title = "Gamma"
    category = "Colour"
    help = "Gamma correction out = 255 * (in / 255) ^ gamma: brightens or darkens mid-tones while black and white stay put."
    Params = GammaParams

    def process(self, frame: Frame) -> None:
        frame.image = adjust_gamma(frame.image, self.params.gamma)
