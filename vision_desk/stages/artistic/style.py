"""Neural style transfer: the 26 built-in Magenta styles, any painting as the style, or Johnson's fast style models.

One stage, three families, chosen by what ``style`` names:

- a number or a blend (``7``, ``3:0.5,12:0.5``): the 26-style Magenta network;
- an image file (``starry.jpg``): Magenta's arbitrary-style network with that picture as the style;
- a ``.t7`` or ``.pth`` file, or a model name from ``vision-desk models list``
  (``johnson-candy``): a fast neural style network (Johnson et al.).

Around the network: the frame is scaled so its longer side is ``size``
(never enlarged), stylised, optionally steadied over time, scaled back, given
back its own colours if asked (only the stylised luminance is kept) and blended
with the original by ``strength``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Protocol

import cv2
import numpy as np
from pydantic import field_validator

from vision_desk.engine.frame import Frame
from vision_desk.engine.params import StageParams, param
from vision_desk.engine.stage import Stage
from vision_desk.errors import VisionDeskError
from vision_desk.stages.artistic.style_models import parse_blend, to_uint8
from vision_desk.stages.artistic.temporal import TemporalSmoother, guide_of

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
MODEL_SUFFIXES = {".t7", ".pth"}


class StyleNet(Protocol):
    def run(self, bgr: np.ndarray) -> np.ndarray: ...


def load_style(style: str, device: str = "auto") -> StyleNet:
    """The network for a style spec (see the module docstring); VisionDeskError with the fix when it cannot be had."""
    from vision_desk.stages.artistic import style_models as sm

    weights = parse_blend(style)
    if weights is not None:
        return sm.MagentaMultiStyle(weights, device)
    path = Path(style).expanduser()
    if path.suffix.lower() in IMAGE_SUFFIXES:
        if not path.is_file():
            raise VisionDeskError(f"style image {path} not found; give an existing picture, a built-in style number 0-25 or a .t7/.pth model.")
        picture = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if picture is None:
            raise VisionDeskError(f"style image {path} could not be read; use a JPEG or PNG file.")
        return sm.MagentaArbitrary(picture, device)
    from vision_desk.models import load_manifest, resolve

    known = load_manifest().get(style)
    if path.suffix.lower() not in MODEL_SUFFIXES and (known is None or "style" not in known.used_by):
        raise VisionDeskError(
            f"style '{style}' is neither a built-in style number (0-25), an image file, a .t7/.pth model nor a model name; "
            "'vision-desk models list' shows the style models."
        )
    model = resolve(style)  # ModelMissingError names the pull command
    if model.suffix.lower() == ".pth":
        return sm.JohnsonPyTorch(model, device)
    return sm.JohnsonTorch7(model, device)


def processing_shape(h: int, w: int, size: int) -> tuple[int, int]:
    """(h, w) with the longer side at most ``size``, both multiples of 4 (the networks downsample by 4)."""
    scale = min(1.0, size / max(h, w))
    return max(4, round(h * scale / 4) * 4), max(4, round(w * scale / 4) * 4)


def keep_colours(styled: np.ndarray, original: np.ndarray) -> np.ndarray:
    """The stylised luminance (Y) with the original's chroma (Cr, Cb): style without its palette."""
    y = cv2.cvtColor(styled, cv2.COLOR_BGR2YCrCb)[..., :1]
    crcb = cv2.cvtColor(original, cv2.COLOR_BGR2YCrCb)[..., 1:]
    return cv2.cvtColor(np.concatenate([y, crcb], axis=2), cv2.COLOR_YCrCb2BGR)


def stylize(image: np.ndarray, net: StyleNet, size: int = 384, strength: float = 1.0, preserve_colors: bool = False,
            smoother: TemporalSmoother | None = None) -> np.ndarray:
    """Stylises a BGR frame; strength 0 returns the input unchanged (the same array)."""
    if strength <= 0:
        return image
    h, w = image.shape[:2]
    ph, pw = processing_shape(h, w, size)
    small = cv2.resize(image, (pw, ph), interpolation=cv2.INTER_AREA) if (ph, pw) != (h, w) else image
    styled = net.run(small)
    if smoother is not None:
        styled = to_uint8(smoother(styled, guide_of(small, (pw, ph))))
    if (ph, pw) != (h, w):
        styled = cv2.resize(styled, (w, h), interpolation=cv2.INTER_LINEAR)
    if preserve_colors:
        styled = keep_colours(styled, image)
    if strength < 1:
        styled = cv2.addWeighted(image, 1.0 - strength, styled, strength, 0.0)
    return styled


class StyleParams(StageParams):
    style: str = param("19", help="A built-in style 0-25 or a blend like 3:0.5,12:0.5; a picture (any painting) as the style; or a .t7/.pth fast-style model or its name (johnson-candy).", widget="text")
    strength: float = param(1.0, ge=0.0, le=1.0, step=0.05, help="Blend with the original frame: 0 leaves it untouched, 1 is the full style.", widget="slider")
    size: int = param(384, ge=64, le=2048, step=32, help="Longer side, in pixels, the network works at (never above the frame's); the cost grows with its square. The arbitrary-style network's input is fixed at 384.")
    preserve_colors: bool = param(False, help="Keep the frame's own colours: only the stylised brightness is used.")
    stabilize: float = param(0.6, ge=0.0, le=0.95, step=0.05, help="Temporal stabilisation against flicker on video: share of the previous output kept where the scene is still; 0 is off.")
    device: Literal["auto", "cpu", "cuda"] = param("auto", help="Where the network runs: the GPU when there is one (auto), or the CPU.")

    @field_validator("style")
    @classmethod
    def _known_form(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("is empty; give a style number 0-25, a picture or a model")
        parse_blend(v)  # raises ValueError for a bad number or blend; other forms are checked when the stage starts
        return v.strip()


class StyleStage(Stage):
    id = "style"
    title = "Style transfer"
    category = "Artistic"
    help = ("Repaints the frame in the style of a painting: 26 built-in styles, any picture as the style, or Johnson's "
            "fast-style .t7/.pth models. Heavy: a few frames a second on a 2-core CPU at the default size 384, live on a GPU.")
    Params = StyleParams
    heavy = True

    def __init__(self, params: StageParams | None = None) -> None:
        super().__init__(params)
        self._net: StyleNet | None = None
        self._loaded: tuple[str, str] | None = None
        self._smoother = TemporalSmoother(self.params.stabilize)

    def setup(self) -> None:
        key = (self.params.style, self.params.device)
        if self._net is None or self._loaded != key:
            self._net = load_style(*key)
            self._loaded = key

    def reset(self) -> None:
        self._smoother.reset()

    def update_params(self, params: StageParams) -> None:
        old = self.params
        super().update_params(params)
        if (old.style, old.device) != (params.style, params.device):
            self._net = None
        if (old.stabilize, old.size, old.style) != (params.stabilize, params.size, params.style):
            self._smoother = TemporalSmoother(params.stabilize)

    def process(self, frame: Frame) -> None:
        p = self.params
        if p.strength <= 0:
            return
        if self._net is None:
            self.setup()
        smoother = self._smoother if p.stabilize > 0 else None
        frame.image = stylize(frame.image, self._net, p.size, p.strength, p.preserve_colors, smoother)

