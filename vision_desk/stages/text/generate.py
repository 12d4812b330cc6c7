"""Code generation: QR codes with segno, EAN-13 and Code 128 barcodes with python-barcode.

Used by ``vision-desk codes make`` and by the tests that check generation
round-trips through reading. Images are BGR uint8 like every frame in the app.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np

from vision_desk.errors import VisionDeskError

CodeKind = Literal["qr", "ean13", "code128"]
CODE_KINDS: tuple[str, ...] = ("qr", "ean13", "code128")
QUIET_ZONE_MODULES = 4  # the QR standard's quiet zone
BARCODE_QUIET_ZONE = 11  # EAN-13 asks for 11 modules on the left, Code 128 for 10


def ean13_check_digit(digits12: str) -> str:
    """The EAN-13 check digit of 12 digits (weights 1, 3, 1, 3 ... from the left)."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits12))
    return str((10 - total % 10) % 10)


def ean13_full(text: str) -> str:
    """The 13-digit EAN-13 for 12 digits (check digit added) or 13 digits (check digit verified)."""
    digits = text.strip()
    if not digits.isdigit() or len(digits) not in (12, 13):
        raise VisionDeskError(f"EAN-13 needs 12 digits (or 13 with the check digit), got {text!r}.")
    check = ean13_check_digit(digits[:12])
    if len(digits) == 13 and digits[12] != check:
        raise VisionDeskError(f"EAN-13 {digits} has the wrong check digit; the last digit should be {check}.")
    return digits[:12] + check


def _qr_image(data: str | bytes, scale: int, error: str) -> np.ndarray:
    import segno

    try:
        # Text is always UTF-8: segno would otherwise pick ISO-8859-1 (QR's nominal default) for
        # Latin-1-only text, which most readers, ours included, do not take for text.
        qr = segno.make_qr(data, error=error, encoding=None if isinstance(data, bytes) else "utf-8")
    except segno.DataOverflowError:
        raise VisionDeskError(f"{len(data)} characters are too many for one QR code; shorten the text.") from None
    modules = np.pad(np.asarray(qr.matrix, dtype=bool), QUIET_ZONE_MODULES)
    gray = np.where(modules, 0, 255).astype(np.uint8)
    return np.kron(gray, np.ones((scale, scale), np.uint8)) if scale > 1 else gray


def _barcode_image(kind: str, text: str, scale: int, human_text: bool) -> np.ndarray:
    """Bars from python-barcode's module pattern, drawn at exactly ``scale`` pixels per module.

    python-barcode's own ImageWriter places bars at fractional millimetre
    positions, which at 1-2 pixels per module leaves bars a pixel too thin or
    thick; drawing the pattern directly keeps every size readable.
    """
    import barcode
    from barcode.errors import BarcodeError

    if kind == "ean13":
        text = ean13_full(text)
    elif not text or not text.isascii() or not text.isprintable():
        raise VisionDeskError(f"Code 128 encodes printable ASCII text only, got {text!r}; use a QR code for other characters.")
    try:
        code = barcode.get(kind, text)
        pattern = "".join(code.build())
    except BarcodeError as err:
        raise VisionDeskError(f"cannot make a {kind} barcode from {text!r}: {err}") from None
    row = np.pad(np.frombuffer(pattern.encode(), np.uint8) == ord("1"), BARCODE_QUIET_ZONE)
    height = max(40, len(row) // 4) * scale
    gray = np.where(np.repeat(row, scale)[None, :], 0, 255).astype(np.uint8).repeat(height, axis=0)
    gray = np.pad(gray, ((4 * scale, 4 * scale), (0, 0)), constant_values=255)
    if human_text:
        gray = _caption(gray, code.get_fullcode(), 9 * scale)
    return gray


def _caption(gray: np.ndarray, text: str, px: int) -> np.ndarray:
    """The image with text printed centred under it (Pillow's bundled TrueType font)."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=px)
    left, top, right, bottom = font.getbbox(text)
    band = Image.new("L", (gray.shape[1], bottom - top + px // 2), 255)
    ImageDraw.Draw(band).text(((gray.shape[1] - (right - left)) / 2 - left, -top), text, font=font, fill=0)
    return np.vstack([gray, np.asarray(band, np.uint8)])


def make_code(data: str | bytes, kind: str = "qr", *, scale: int = 4, error: str = "m", human_text: bool = True) -> np.ndarray:
    """Renders a QR code or a barcode as a BGR image.

    Args:
        data: the payload; bytes are encoded as they are (QR only).
        kind: ``qr``, ``ean13`` or ``code128``.
        scale: pixels per module (the narrowest bar or one QR square).
        error: QR error-correction level ``l``, ``m``, ``q`` or ``h`` (segno may raise it when it fits).
        human_text: print the digits/text under a barcode.

    Raises:
        VisionDeskError: invalid payload for the kind (letters in EAN-13, wrong check digit, too long).
    """
    import cv2

    if kind not in CODE_KINDS:
        raise VisionDeskError(f"unknown code type {kind!r}; choose one of {', '.join(CODE_KINDS)}.")
    if scale < 1:
        raise VisionDeskError("the scale (pixels per module) must be at least 1.")
    if kind == "qr":
        gray = _qr_image(data, scale, error)
    else:
        if isinstance(data, bytes):
            raise VisionDeskError(f"{kind} barcodes encode text; binary data needs a QR code.")
        gray = _barcode_image(kind, data, scale, human_text)
    return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)


def expected_payload(data: str, kind: str) -> str:
    """What a reader returns for a code made from ``data`` (EAN-13 gains its check digit)."""
    return ean13_full(data) if kind == "ean13" else data


def save_image(image: np.ndarray, path: str | Path) -> Path:
    """Writes a BGR image with Pillow (PNG, JPEG, BMP, ... from the suffix; any path, any platform)."""
    from PIL import Image

    path = Path(path)
    if path.parent and not path.parent.exists():
        raise VisionDeskError(f"folder {path.parent} does not exist; create it or choose another --out.")
    rgb = np.ascontiguousarray(image[:, :, ::-1])
    try:
        Image.fromarray(rgb).save(path)
    except (ValueError, KeyError):
        raise VisionDeskError(f"cannot tell the image format from {path.name}; use a name ending in .png.") from None
    except OSError as err:
        raise VisionDeskError(f"cannot write {path}: {err.strerror or err}.") from None
    return path
