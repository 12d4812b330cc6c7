"""Test scenes for the text family: labels rendered with a real TrueType font and codes pasted onto real photos."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from tests.media import skimage_bgr


def photo(name: str, size: tuple[int, int] = (640, 400)) -> np.ndarray:
    """A scikit-image photo resized to size (w, h), BGR."""
    return cv2.resize(skimage_bgr(name), size, interpolation=cv2.INTER_AREA)


def render_label(text: str, px: int) -> np.ndarray:
    """Dark text on an off-white label, rendered with Pillow's bundled TrueType font at px pixels."""
    font = ImageFont.load_default(size=px)
    left, top, right, bottom = font.getbbox(text)
    pad = max(6, px // 2)
    label = Image.new("RGB", (right - left + 2 * pad, bottom - top + 2 * pad), (238, 236, 228))
    ImageDraw.Draw(label).text((pad - left, pad - top), text, font=font, fill=(25, 25, 30))
    return cv2.cvtColor(np.asarray(label), cv2.COLOR_RGB2BGR)


def paste_quad(background: np.ndarray, patch: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """The patch warped onto the background so its corners land on quad (TL, TR, BR, BL)."""
    h, w = patch.shape[:2]
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    matrix = cv2.getPerspectiveTransform(src, np.float32(quad).reshape(4, 2))
    size = (background.shape[1], background.shape[0])
    warped = cv2.warpPerspective(patch, matrix, size, flags=cv2.INTER_AREA)
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), matrix, size, flags=cv2.INTER_LINEAR) > 127
    out = background.copy()
    out[mask] = warped[mask]
    return out


def plane_quad(centre: tuple[float, float], width: float, height: float, yaw: float = 0.0, pitch: float = 0.0,
               roll: float = 0.0, focal: float = 900.0) -> np.ndarray:
    """Corners (TL, TR, BR, BL) of a width x height rectangle turned by yaw/pitch/roll degrees, seen by a pinhole camera."""
    w, h = width / 2, height / 2
    pts = np.float64([[-w, -h, 0], [w, -h, 0], [w, h, 0], [-w, h, 0]])
    y, p, r = np.radians([yaw, pitch, roll])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    cam = pts @ (rz @ rx @ ry).T + [0, 0, focal]
    return (cam[:, :2] / cam[:, 2:3] * focal + np.asarray(centre)).astype(np.float32)


def degrade(image: np.ndarray, blur: float = 0.0, noise: float = 0.0, seed: int = 0) -> np.ndarray:
    """Gaussian blur (sigma in pixels) then Gaussian noise (sigma in grey levels)."""
    out = cv2.GaussianBlur(image, (0, 0), blur) if blur > 0 else image
    if noise > 0:
        rng = np.random.default_rng(seed)
        out = np.clip(out.astype(np.float32) + rng.normal(0.0, noise, out.shape), 0, 255).astype(np.uint8)
    return out


SHEET_SIZE = (624, 335)  # page() enlarged 1.5x with 24 px margins: (w, h)


def _sheet() -> np.ndarray:
    """scikit-image's page() enlarged 1.5x on a sheet of paper with white margins."""
    from skimage import data

    page = cv2.resize(cv2.cvtColor(data.page(), cv2.COLOR_GRAY2BGR), None, fx=1.5, fy=1.5, interpolation=cv2.INTER_CUBIC)
    return cv2.copyMakeBorder(page, 24, 24, 24, 24, cv2.BORDER_CONSTANT, value=(222, 222, 218))


def page_on_table(yaw: float = 25, pitch: float = -20, roll: float = 8, table: str = "coffee") -> tuple[np.ndarray, np.ndarray]:
    """The sheet photographed at an angle lying on a darkened real photo; returns the image and the sheet's true corners."""
    page = _sheet()
    h, w = page.shape[:2]
    quad = plane_quad((480, 300), w * 0.9, h * 0.9, yaw, pitch, roll)
    background = cv2.convertScaleAbs(photo(table, (960, 600)), alpha=0.55)
    return paste_quad(background, page, quad), quad


#: Plates of the moving-plates clip: text, top-left corner on the first frame, pixels moved per frame.
PLATES = (("AB12", (20, 30), (9, 2)), ("XY98", (300, 150), (-8, -2)), ("KM47", (40, 210), (6, -1)))
PLATE_SIZE = (150, 56)


def plate_box(plate: tuple, i: int, size: tuple[int, int] = PLATE_SIZE) -> tuple[int, int, int, int]:
    """Where a plate of :data:`PLATES` (or a tile of ``size``) lies on frame i: x1, y1, x2, y2."""
    _, (x, y), (dx, dy) = plate
    return x + i * dx, y + i * dy, x + i * dx + size[0], y + i * dy + size[1]


def moving_plates_frames(n: int, size: tuple[int, int] = (480, 300), patch=None) -> list[np.ndarray]:  # noqa: ANN001
    """The :data:`PLATES`: white plates, each printed with its own text in a big clear font (or ``patch(text)``'s
    image instead, e.g. a QR code), drifting across a darkened real photo in different directions, never touching."""
    background = cv2.convertScaleAbs(photo("coffee", size), alpha=0.3)
    pw, ph = PLATE_SIZE
    frames = []
    for i in range(n):
        image = background.copy()
        for plate in PLATES:
            x, y, _, _ = plate_box(plate, i)
            if patch is None:
                cv2.rectangle(image, (x, y), (x + pw - 1, y + ph - 1), (235, 235, 235), -1)
                cv2.putText(image, plate[0], (x + 12, y + 44), cv2.FONT_HERSHEY_SIMPLEX, 1.4, (20, 20, 20), 3, cv2.LINE_AA)
            else:
                tile = patch(plate[0])
                image[y:y + tile.shape[0], x:x + tile.shape[1]] = tile
        frames.append(image)
    return frames
