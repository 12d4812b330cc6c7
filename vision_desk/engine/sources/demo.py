"""The built-in demo source: a live scene assembled from real photos that installed packages ship.

scikit-image's astronaut, coffee, chelsea and page, Ultralytics' bus.jpg and
zidane.jpg, a QR code and a line of printed text, each tile drifting gently so
that motion, faces, people, text and codes are all there to find without a
camera. It is live (paced at ``?fps=``, default 30) and loops forever.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vision_desk.engine.sources.base import Source, SourceState
from vision_desk.engine.uri import SourceURI

WIDTH, HEIGHT = 1280, 720
QR_PAYLOAD = "https://github.com/vision-desk/vision-desk"
TEXT_LINE = "Vision Desk reads this line"
BACKGROUND = (46, 42, 38)


@dataclass
class _Tile:
    image: np.ndarray
    x: int
    y: int
    phase: float
    amplitude: float = 6.0


def _ultralytics_asset(name: str) -> np.ndarray:
    import importlib.util

    # Locate the package without importing it: importing ultralytics imports torch (~3 s).
    spec = importlib.util.find_spec("ultralytics")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("the ultralytics package (which ships the demo's bus.jpg and zidane.jpg) is not installed")
    path = Path(spec.origin).parent / "assets" / name
    image = cv2.imread(str(path))
    if image is None:
        raise FileNotFoundError(f"ultralytics asset {name} is missing from {path.parent}")
    return image


def _skimage(name: str) -> np.ndarray:
    from skimage import data

    image = getattr(data, name)()
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return cv2.cvtColor(image, cv2.COLOR_RGB2BGR)


def _fit(image: np.ndarray, width: int | None = None, height: int | None = None) -> np.ndarray:
    h, w = image.shape[:2]
    scale = (width / w) if width else (height / h)  # type: ignore[operator]
    return cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)


def make_qr(payload: str, size: int) -> np.ndarray:
    """A QR code image with a quiet zone, as BGR."""
    qr = cv2.QRCodeEncoder.create().encode(payload)
    qr = cv2.copyMakeBorder(qr, 4, 4, 4, 4, cv2.BORDER_CONSTANT, value=255)
    qr = cv2.resize(qr, (size, size), interpolation=cv2.INTER_NEAREST)
    return cv2.cvtColor(qr, cv2.COLOR_GRAY2BGR)


def render_text(text: str, height: int, width: int) -> np.ndarray:
    """Dark text on a white band, rendered with a real TrueType font (Pillow's bundled one)."""
    from PIL import Image, ImageDraw, ImageFont

    band = Image.new("RGB", (width, height), (250, 250, 245))
    font = ImageFont.load_default(size=int(height * 0.62))
    draw = ImageDraw.Draw(band)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    draw.text(((width - (right - left)) / 2 - left, (height - (bottom - top)) / 2 - top), text, font=font, fill=(20, 20, 20))
    return cv2.cvtColor(np.asarray(band), cv2.COLOR_RGB2BGR)


def build_tiles() -> list[_Tile]:
    """Lays out the demo scene's tiles (each a real photo) on a 1280x720 canvas."""
    tiles = [
        _Tile(_fit(_ultralytics_asset("bus.jpg"), height=360), 16, 16, 0.0),
        _Tile(_fit(_ultralytics_asset("zidane.jpg"), height=360), 302, 16, 1.3),
        _Tile(_fit(_skimage("astronaut"), height=300), 962, 16, 2.1),
        _Tile(_fit(_skimage("coffee"), height=200), 16, 396, 0.7),
        _Tile(_fit(_skimage("chelsea"), height=200), 332, 396, 2.9),
        _Tile(_fit(_skimage("page"), height=200), 649, 396, 4.0),
        _Tile(make_qr(QR_PAYLOAD, 200), 1067, 396, 3.3, amplitude=4.0),
        _Tile(render_text(TEXT_LINE, 84, 1248), 16, 618, 5.1, amplitude=3.0),
    ]
    return tiles


def render_scene(tiles: list[_Tile], t: float, out: np.ndarray | None = None) -> np.ndarray:
    """The scene at time t seconds: every tile drifting on its own slow ellipse."""
    canvas = out if out is not None else np.empty((HEIGHT, WIDTH, 3), np.uint8)
    canvas[:] = BACKGROUND
    for tile in tiles:
        dx = round(tile.amplitude * math.sin(0.9 * t + tile.phase))
        dy = round(tile.amplitude * 0.6 * math.cos(0.7 * t + 1.7 * tile.phase))
        h, w = tile.image.shape[:2]
        x0, y0 = max(0, tile.x + dx), max(0, tile.y + dy)
        x1, y1 = min(WIDTH, x0 + w), min(HEIGHT, y0 + h)
        canvas[y0:y1, x0:x1] = tile.image[: y1 - y0, : x1 - x0]
    return canvas


class DemoSource(Source):
    """The built-in demo scene, live and endless (``?fps=30``)."""

    live = True

    def __init__(self, uri: SourceURI) -> None:
        super().__init__(uri)
        self.fps = float(uri.options.get("fps", 30))
        self.name = "demo:"
        self._tiles: list[_Tile] = []
        self._index = 0
        self._next = 0.0

    def open(self) -> None:
        self.set_state(SourceState.CONNECTING)
        self._tiles = build_tiles()
        self.size = (WIDTH, HEIGHT)
        self._index = 0
        self._next = time.monotonic()
        self.set_state(SourceState.RUNNING)

    def read(self) -> tuple[np.ndarray, float] | None:
        wait = self._next - time.monotonic()
        if wait > 0 and self._interrupt.wait(wait):
            return None
        # Pace by schedule, but never try to catch up on frames a slow consumer missed.
        self._next = max(self._next + 1.0 / self.fps, time.monotonic())
        t = self._index / self.fps
        self._index += 1
        return render_scene(self._tiles, t), t
