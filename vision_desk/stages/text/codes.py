"""QR codes and barcodes: zbar (through pyzbar's ctypes binding) first, OpenCV's detectors as a fallback.

zbar reads QR and the 1-D symbologies in one pass. It is run with QR
``binary`` mode on, so a QR payload comes back as the exact bytes that were
encoded (zbar otherwise guesses a text encoding and re-encodes non-UTF-8 bytes).
Where zbar finds no QR code, OpenCV's ArUco-based QR detector looks for
rotated, perspective-distorted or small ones; each quadrilateral it finds is
rectified and enlarged and read by zbar again, and only if that fails decoded by
OpenCV itself (whose decoder turns non-UTF-8 bytes into Latin-1 text). Where
zbar reads no EAN/UPC barcode, OpenCV's barcode module tries (it copes with
steeper perspective); its numbers are kept only when their check digit holds.

With ``source`` set, codes are read inside each object of that stage instead
(a QR code on each parcel a detector finds), and the payload goes onto the
object (:mod:`vision_desk.stages.text.objects`).

Payloads are reported as text: the UTF-8 text when the bytes are valid UTF-8,
otherwise the base64 of the bytes with ``payload_encoding`` set to ``base64``
(see :func:`payload_bytes`). Payloads are data only: a URL is never opened.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np
from pydantic import model_validator

from vision_desk.engine.frame import Frame
from vision_desk.engine.params import StageParams, param
from vision_desk.engine.results import Detections
from vision_desk.engine.stage import AnalysisParams, Stage
from vision_desk.stages.basic import to_gray
from vision_desk.stages.text import roi as roi_tools
from vision_desk.stages.text.objects import MARGIN_HELP, OF_CLASS_HELP, SOURCE_HELP, ObjectReader, check_source, set_column

CodeType = Literal["qr", "ean13", "ean8", "upca", "upce", "code128", "code39", "code93", "itf", "codabar", "databar", "databar_exp"]
DEFAULT_TYPES: list[str] = ["qr", "ean13", "ean8", "upce", "code128", "code39", "code93", "itf", "codabar", "databar", "databar_exp"]

# zbar's symbology numbers (zbar.h, zbar_symbol_type_t) for our names.
_ZBAR_IDS = {"qr": 64, "ean13": 13, "ean8": 8, "upca": 12, "upce": 9, "code128": 128, "code39": 39, "code93": 93,
             "itf": 25, "codabar": 38, "databar": 34, "databar_exp": 35}
_ZBAR_NAMES = {v: k for k, v in _ZBAR_IDS.items()}
_CFG_ENABLE = 0
_CFG_BINARY = 4  # ZBAR_CFG_BINARY (zbar >= 0.23): keep QR byte segments as they are
_ALL_SYMBOLOGIES = 0


@dataclass
class Code:
    """One decoded code.

    Attributes:
        code_type: ``qr``, ``ean13``, ``code128`` ... (see :data:`CodeType`).
        data: the payload bytes exactly as encoded (EAN/UPC include the check digit).
        polygon: (K, 2) float32 outline in image pixels.
        reader: ``zbar`` or ``opencv`` (which decoder read it).
    """

    code_type: str
    data: bytes
    polygon: np.ndarray
    reader: str = "zbar"

    @property
    def payload(self) -> str:
        return payload_text(self.data)[0]

    @property
    def payload_encoding(self) -> str:
        return payload_text(self.data)[1]


def payload_text(data: bytes) -> tuple[str, str]:
    """(text, encoding): the UTF-8 text of data, or its base64 with encoding ``base64`` when it is not UTF-8."""
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(data).decode("ascii"), "base64"


def payload_bytes(payload: str, encoding: str = "utf-8") -> bytes:
    """The exact payload bytes back from a reported ``payload`` and ``payload_encoding``."""
    return base64.b64decode(payload) if encoding == "base64" else payload.encode("utf-8")


def zbar_decode(gray: np.ndarray, types: list[str] | tuple[str, ...] = tuple(DEFAULT_TYPES)) -> list[Code]:
    """Every code zbar finds in an 8-bit grayscale image (QR payloads byte-exact)."""
    from ctypes import c_void_p, cast

    # pyzbar's public decode() cannot switch on binary mode, so its scanner helpers are used directly.
    from pyzbar import pyzbar as pz
    from pyzbar.wrapper import (
        zbar_image_scanner_set_config,
        zbar_image_set_data,
        zbar_image_set_format,
        zbar_image_set_size,
        zbar_scan_image,
    )

    gray = np.ascontiguousarray(gray, dtype=np.uint8)
    height, width = gray.shape[:2]
    pixels = gray.tobytes()
    codes = []
    with pz._image_scanner() as scanner:
        zbar_image_scanner_set_config(scanner, _ALL_SYMBOLOGIES, _CFG_ENABLE, 0)
        for name in types:
            zbar_image_scanner_set_config(scanner, _ZBAR_IDS[name], _CFG_ENABLE, 1)
        zbar_image_scanner_set_config(scanner, _ZBAR_IDS["qr"], _CFG_BINARY, 1)
        with pz._image() as image:
            zbar_image_set_format(image, pz._FOURCC["L800"])
            zbar_image_set_size(image, width, height)
            zbar_image_set_data(image, cast(pixels, c_void_p), len(pixels), None)
            if zbar_scan_image(scanner, image) < 0:
                return []
            for symbol in pz._symbols_for_image(image):
                kind = _ZBAR_NAMES.get(int(symbol.contents.type))
                if kind is None:
                    continue
                decoded = next(pz._decode_symbols([symbol]))
                polygon = np.asarray([(p.x, p.y) for p in decoded.polygon], np.float32).reshape(-1, 2)
                codes.append(Code(kind, bytes(decoded.data), polygon, "zbar"))
    return codes


def _inside(points: np.ndarray, polygon: np.ndarray) -> bool:
    centre = points.reshape(-1, 2).mean(axis=0)
    hull = cv2.convexHull(polygon.reshape(-1, 1, 2).astype(np.float32))
    return cv2.pointPolygonTest(hull, (float(centre[0]), float(centre[1])), False) >= 0


def rectify_quad(gray: np.ndarray, quad: np.ndarray, side: int = 240, margin: int = 40) -> np.ndarray:
    """The quadrilateral (TL, TR, BR, BL) warped to an upright side x side square inside its own surroundings."""
    dst = np.float32([[margin, margin], [margin + side, margin], [margin + side, margin + side], [margin, margin + side]])
    matrix = cv2.getPerspectiveTransform(np.asarray(quad, np.float32).reshape(4, 2), dst)
    size = side + 2 * margin
    return cv2.warpPerspective(gray, matrix, (size, size), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)


_qr_detector = None


def _opencv_qr_detector():  # noqa: ANN202 - cv2 classes are untyped
    global _qr_detector
    if _qr_detector is None:
        _qr_detector = cv2.QRCodeDetectorAruco()
    return _qr_detector


def opencv_qr(gray: np.ndarray, known: list[Code]) -> list[Code]:
    """QR codes OpenCV finds that zbar did not: rectified and re-read by zbar, else decoded by OpenCV."""
    detector = _opencv_qr_detector()
    ok, quads = detector.detectMulti(gray)
    if not ok or quads is None:
        return []
    found = []
    for quad in np.asarray(quads, np.float32).reshape(-1, 4, 2):
        if any(c.code_type == "qr" and _inside(quad, c.polygon) for c in known + found):
            continue
        patch = rectify_quad(gray, quad)
        again = [c for c in zbar_decode(patch, ("qr",))]
        if again:
            found.append(Code("qr", again[0].data, quad.copy(), "zbar"))
            continue
        data, _ = detector.decodeBytes(gray, quad.reshape(1, 4, 2))
        if data:
            found.append(Code("qr", bytes(data), quad.copy(), "opencv"))
    return found


_RETAIL = ("ean13", "ean8", "upca")
_OPENCV_1D_NAMES = {"EAN_13": "ean13", "EAN_8": "ean8", "UPC_A": "upca"}
_barcode_detector = None


def gtin_valid(digits: str) -> bool:
    """Whether an EAN-8, UPC-A or EAN-13 number's last digit is its check digit."""
    if not digits.isdigit() or len(digits) not in (8, 12, 13):
        return False
    body = digits[:-1][::-1]
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(body))
    return (10 - total % 10) % 10 == int(digits[-1])


def opencv_retail(image: np.ndarray, types: list[str] | tuple[str, ...]) -> list[Code]:
    """EAN-13, EAN-8 and UPC-A barcodes read by OpenCV's barcode module (steep perspective, where zbar gives up).

    Every number is checked against its check digit before it is reported.
    """
    global _barcode_detector
    if _barcode_detector is None:
        _barcode_detector = cv2.barcode.BarcodeDetector()
    ok, infos, kinds, points = _barcode_detector.detectAndDecodeWithType(image)
    if not ok or points is None:
        return []
    found = []
    for info, kind, quad in zip(infos, kinds, np.asarray(points, np.float32).reshape(-1, 4, 2)):
        name = _OPENCV_1D_NAMES.get(kind)
        if not info or name is None:
            continue
        if name == "upca" and "upca" not in types:  # reported the way zbar does: EAN-13 with a leading 0
            name, info = "ean13", "0" + info
        if name in types and gtin_valid(info):
            found.append(Code(name, info.encode("ascii"), quad, "opencv"))
    return found


def decode_codes(image: np.ndarray, types: list[str] | tuple[str, ...] = tuple(DEFAULT_TYPES), *, opencv_fallback: bool = True) -> list[Code]:
    """Every QR code and barcode in a BGR or grayscale image.

    Args:
        image: HxWx3 BGR or HxW gray, uint8.
        types: the symbologies to look for (fewer is faster and avoids look-alikes).
        opencv_fallback: when zbar reads no QR code (or no EAN/UPC barcode), let OpenCV's
            detectors look for rotated, steeply tilted or small ones.

    Returns:
        The codes, each with its exact payload bytes and outline. A code that
        cannot be read with its checksums intact is left out, never guessed.
    """
    gray = to_gray(image)
    codes = zbar_decode(gray, types)
    if opencv_fallback and "qr" in types and not any(c.code_type == "qr" for c in codes):
        codes += opencv_qr(gray, codes)
    if opencv_fallback and any(t in types for t in _RETAIL) and not any(c.code_type in _RETAIL for c in codes):
        codes += opencv_retail(gray, types)
    return codes


class CodesParams(AnalysisParams):
    types: list[CodeType] = param(list(DEFAULT_TYPES), help="Symbologies to read; fewer is faster and avoids look-alikes (UPC-A is read as EAN-13 with a leading 0 unless upca is listed).")
    opencv_fallback: bool = param(True, help="When zbar reads no QR code (or no EAN/UPC), let OpenCV's detectors find rotated, steeply tilted or small ones.")
    roi: tuple[int, int, int, int] = param((0, 0, 0, 0), widget="rect", help=roi_tools.ROI_HELP)
    forget_after: int = param(30, ge=1, le=100_000, help="Frames a code may go unseen and still be the same sighting (no new event when it is read again).")
    log_events: bool = param(True, help="Log an event each time a code comes into view.")
    source: str = param("", help=SOURCE_HELP)
    of_class: str = param("", help=OF_CLASS_HELP)
    margin: float = param(0.1, ge=0.0, le=1.0, step=0.05, help=MARGIN_HELP + " A code needs its white border.")

    @model_validator(mode="after")
    def _source_fits(self) -> "CodesParams":
        check_source(CodesStage.id, self.source, self.roi, self.run)
        return self


@dataclass
class _Sighting:
    id: int
    last_tick: int


@dataclass
class _Memory:
    tick: int = 0
    next_id: int = 1
    scans: int = 0
    sightings: dict[tuple[str, bytes], _Sighting] = field(default_factory=dict)
    distinct: set[tuple[str, bytes]] = field(default_factory=set)


class CodesStage(Stage):
    id = "codes"
    title = "QR and barcodes"
    category = "Text & codes"
    help = ("Reads QR codes and barcodes (EAN, UPC, Code 128, Code 39, ITF...) with zbar, OpenCV as a fallback; "
            "a code seen on consecutive frames is one sighting with one event. With a source, reads inside each of "
            "that stage's objects and puts the payload on the object. URLs are never opened.")
    Params = CodesParams
    values = {"codes_count": "Codes in view (one object each).", "codes_scanned": "Sightings so far (a code that stays in view is one).",
              "codes_distinct": "Different codes seen so far."}
    columns = {"polygon": "The code's outline.", "code_type": "QRCODE, EAN13, CODE128 ...",
               "payload": "The content as text (with source: on the source's object, kept per track).",
               "payload_encoding": "How payload encodes the bytes: utf-8, or base64 for binary content."}

    @classmethod
    def in_frame_order(cls, params: StageParams) -> bool:
        return bool(getattr(params, "source", ""))

    def __init__(self, params: StageParams | None = None) -> None:
        super().__init__(params)
        self.reset()

    def reset(self) -> None:
        self._memory = _Memory()
        # A code is checksummed, so one read is right: the vote of one only carries it over frames that miss it.
        self._objects: ObjectReader[tuple[str, bytes]] = ObjectReader(window=1)

    def process(self, frame: Frame) -> None:
        p = self.params
        if p.source:
            self._read_objects(frame)
            return
        part, (ox, oy) = roi_tools.crop(frame.image, p.roi)
        codes = decode_codes(part, p.types, opencv_fallback=p.opencv_fallback) if part.size else []
        for code in codes:
            code.polygon = code.polygon + np.float32([ox, oy])
        rows = self._sight(frame, [(c.code_type, c.data) for c in codes])
        texts = [payload_text(c.data) for c in codes]
        frame.add(Detections.from_boxes(
            [roi_tools.polygon_box(c.polygon) for c in codes], [c.code_type for c in codes],
            track_id=rows, source=self.id,
            polygon=[np.round(c.polygon, 1).tolist() for c in codes],
            code_type=[c.code_type for c in codes],
            payload=[t for t, _ in texts], payload_encoding=[e for _, e in texts],
        ))

    def _read_objects(self, frame: Frame) -> None:
        p = self.params
        det = frame.detections

        def read(crop: np.ndarray) -> tuple[tuple[str, bytes], float] | None:
            codes = decode_codes(crop, p.types, opencv_fallback=p.opencv_fallback)
            if not codes:
                return None
            largest = max(codes, key=lambda c: cv2.contourArea(c.polygon.reshape(-1, 1, 2)))
            return (largest.code_type, largest.data), 1.0

        found = self._objects.read(frame.image, det, det.rows(p.source, p.of_class), p.margin, read)
        self._sight(frame, [code for code, _ in found.values()])
        columns = {i: (kind, *payload_text(data)) for i, ((kind, data), _) in found.items()}
        for k, name in enumerate(("code_type", "payload", "payload_encoding")):
            set_column(det, name, {i: values[k] for i, values in columns.items()})

    def _sight(self, frame: Frame, codes: list[tuple[str, bytes]]) -> list[int]:
        """Counts the codes in view as sightings (logging the new ones) and returns each one's sighting id."""
        p = self.params
        mem = self._memory
        mem.tick += 1
        ids = []
        for code_type, data in codes:
            key = (code_type, data)
            seen = mem.sightings.get(key)
            if seen is None or mem.tick - seen.last_tick > p.forget_after:
                seen = mem.sightings[key] = _Sighting(mem.next_id, mem.tick)
                mem.next_id += 1
                mem.scans += 1
                mem.distinct.add(key)
                if p.log_events:
                    frame.events.append(f"code {code_type}: {payload_text(data)[0]}")
            seen.last_tick = mem.tick
            ids.append(seen.id)
        # Forget sightings long gone so the memory stays small on endless streams.
        for key in [k for k, s in mem.sightings.items() if mem.tick - s.last_tick > p.forget_after]:
            del mem.sightings[key]
        frame.values["codes_count"] = len(codes)
        frame.values["codes_scanned"] = mem.scans
        frame.values["codes_distinct"] = len(mem.distinct)
        return ids

    def draw(self, canvas: np.ndarray, frame: Frame) -> None:
        roi_tools.draw(canvas, self.params.roi)
