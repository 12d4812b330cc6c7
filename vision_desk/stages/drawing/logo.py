"""The ``draw_image`` stage: a logo or any picture blended into the frame itself through its alpha channel.

Blending works on premultiplied colour (colour times alpha), so that scaling a
logo never bleeds the colour of its transparent pixels into its edges:
``out = logo * a + frame * (1 - a)`` with ``a = alpha / 255 * opacity``.
"""

from __future__ import annotations

import cv2
import numpy as np

from vision_desk.engine.frame import Frame
from vision_desk.engine.params import StageParams, param
from vision_desk.stages.classical._frame_tools import read_image_file
from vision_desk.stages.drawing._common import Anchor, DrawingStage, anchor_param, margin_param, place, position_param

IMAGE_FILTER = "Images (*.png *.webp *.tif *.tiff *.jpg *.jpeg *.bmp)"


def to_bgra(image: np.ndarray) -> np.ndarray:
    """Any image OpenCV reads unchanged (gray, BGR, BGRA; 8 or 16 bits) as 8-bit BGRA (opaque where it had no alpha)."""
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype != np.uint8:
        image = np.clip(np.rint(image.astype(np.float32) * 255.0), 0, 255).astype(np.uint8)  # float images are 0..1
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGRA)
    if image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2BGRA)
    return image


def premultiply(bgra: np.ndarray, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Premultiplied colour (H, W, 3) and alpha (H, W, 1), both float32 with alpha in 0..1, resized by ``scale``."""
    alpha = bgra[..., 3:].astype(np.float32) / 255.0
    colour = bgra[..., :3].astype(np.float32) * alpha
    if scale != 1.0:
        size = (max(1, round(bgra.shape[1] * scale)), max(1, round(bgra.shape[0] * scale)))
        interpolation = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
        colour = cv2.resize(colour, size, interpolation=interpolation)
        alpha = cv2.resize(alpha, size, interpolation=interpolation)[..., None]
    return colour, alpha


def blend(image: np.ndarray, colour: np.ndarray, alpha: np.ndarray, x: int, y: int, opacity: float = 1.0) -> None:
    """Blends a premultiplied picture into ``image`` in place with its top-left corner at (x, y); parts outside are cut off."""
    h, w = alpha.shape[:2]
    x1, y1, x2, y2 = max(0, x), max(0, y), min(image.shape[1], x + w), min(image.shape[0], y + h)
    if x2 <= x1 or y2 <= y1:
        return
    src = (slice(y1 - y, y2 - y), slice(x1 - x, x2 - x))
    a = alpha[src] * opacity
    roi = image[y1:y2, x1:x2]
    out = colour[src] * opacity + roi.astype(np.float32) * (1.0 - a)
    roi[...] = np.clip(np.rint(out), 0, 255).astype(np.uint8)


class DrawImageParams(StageParams):
    image: str = param("", widget="image_path", file_filter=IMAGE_FILTER,
                       help="The picture, e.g. a logo: a PNG with transparency blends through its alpha channel; others are opaque.")
    position: tuple[int, int] = position_param("picture")
    anchor: Anchor = anchor_param("top_right", "picture")
    margin: int = margin_param()
    scale: float = param(1.0, ge=0.01, le=10.0, step=0.05, help="Size factor of the picture (1 = its own pixels).")
    opacity: float = param(1.0, ge=0.0, le=1.0, step=0.05, widget="slider", help="1 shows the picture as its alpha says; lower fades it into the video.")


class DrawImageStage(DrawingStage):
    id = "draw_image"
    title = "Draw image / logo"
    help = ("Blends a picture, e.g. a logo PNG with transparency, into the frame itself (recordings keep it), at a corner or a "
            "point picked on the video.")
    Params = DrawImageParams

    def __init__(self, params: StageParams | None = None) -> None:
        super().__init__(params)
        self._prepared: tuple[np.ndarray, float, np.ndarray, np.ndarray] | None = None  # file's pixels, scale, colour, alpha

    def setup(self) -> None:
        if self.params.image:
            self._picture()  # a missing or unreadable file stops the chain at start, not at the first frame

    def _picture(self) -> tuple[np.ndarray, np.ndarray]:
        """The picture, premultiplied and scaled; read again when the file or the scale changes."""
        raw = read_image_file(self.params.image, "image", cv2.IMREAD_UNCHANGED)
        cached = self._prepared
        if cached is None or cached[0] is not raw or cached[1] != self.params.scale:
            cached = self._prepared = (raw, self.params.scale, *premultiply(to_bgra(raw), self.params.scale))
        return cached[2], cached[3]

    def process(self, frame: Frame) -> None:
        if not self.params.image:
            frame.extras[self.id] = "pick an image file"
            return
        super().process(frame)

    def render(self, image: np.ndarray, frame: Frame) -> None:
        p = self.params
        colour, alpha = self._picture()
        x, y = place((alpha.shape[1], alpha.shape[0]), (image.shape[1], image.shape[0]), p.anchor, p.margin, p.position)
        blend(image, colour, alpha, x, y, p.opacity)

    def draw(self, canvas: np.ndarray, frame: Frame) -> None:
        hint = frame.extras.get(self.id)
        if hint:
            cv2.putText(canvas, f"draw_image: {hint}", (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 200, 255), 2, cv2.LINE_AA)
