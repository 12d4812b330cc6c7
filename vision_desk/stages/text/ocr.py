"""OCR with EasyOCR: text regions as objects, every N frames with the results carried in between.

:func:`read_text` is the algorithm (one image in, text regions out).
:class:`RegionCarrier` moves the last result with the scene on the frames
between two OCR passes (each frame's ``origin("ocr")`` names the frame they were
read on): by the motion of the tracked object a region lies on
when a tracker ran earlier in the pipeline, else by sparse optical flow
(Lucas-Kanade) of corner points inside each region. Text does not change at
30 fps, so reading every 5th or 10th frame costs little and keeps the overlay
on the text.

With ``source`` set (licence plates: ``source: detect`` after a plate
detector and ``track``) it reads inside each object of that stage instead and
puts the text on the object (:mod:`vision_desk.stages.text.objects`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import cv2
import numpy as np
from pydantic import model_validator

from vision_desk.engine.frame import Frame, ResultOrigin
from vision_desk.engine.params import StageParams, param
from vision_desk.engine.results import Detections
from vision_desk.engine.stage import AnalysisParams, Stage
from vision_desk.stages.basic import to_gray
from vision_desk.stages.text import roi as roi_tools
from vision_desk.stages.text.lines import join_tilted_words
from vision_desk.stages.text.objects import MARGIN_HELP, OF_CLASS_HELP, SOURCE_HELP, ObjectReader, check_source, set_column


#: Boxes whose longer side is at most this many pixels are dropped (EasyOCR's 20 also drops lone digits).
MIN_TEXT_SIZE = 10
#: Object crops lower than this many pixels are enlarged to it before reading.
MIN_OBJECT_HEIGHT = 64


@dataclass
class TextRegion:
    """One piece of text: its outline (4 corners, clockwise from top-left), the text and EasyOCR's confidence."""

    polygon: np.ndarray
    text: str
    score: float

    @property
    def box(self) -> tuple[float, float, float, float]:
        return roi_tools.polygon_box(self.polygon)


def merge_paragraphs(regions: list[TextRegion]) -> list[TextRegion]:
    """Joins neighbouring lines into paragraphs (EasyOCR's grouping); a paragraph's score is its lines' mean."""
    from easyocr.utils import get_paragraph

    if not regions:
        return []
    raw = [[r.polygon.tolist(), r.text, r.score] for r in regions]
    out = []
    for box, text in get_paragraph(raw):
        poly = np.asarray(box, np.float32).reshape(-1, 2)
        x1, y1, x2, y2 = roi_tools.polygon_box(poly)
        members = [r.score for r in regions
                   if x1 - 1 <= r.polygon[:, 0].mean() <= x2 + 1 and y1 - 1 <= r.polygon[:, 1].mean() <= y2 + 1]
        out.append(TextRegion(poly, text, float(np.mean(members)) if members else 0.0))
    return out


def read_text(reader: Any, image: np.ndarray, *, confidence: float = 0.4, roi: tuple[int, int, int, int] = (0, 0, 0, 0),
              paragraph: bool = False, allowlist: str = "", detector_size: int = 960) -> list[TextRegion]:
    """Reads the text in a BGR image with an ``easyocr.Reader``.

    Args:
        reader: from :func:`vision_desk.stages.text.easyocr_models.load_reader`.
        image: HxWx3 uint8 BGR.
        confidence: lines read with less confidence are dropped (before paragraphs are merged).
        roi: only read inside (x, y, w, h); (0, 0, 0, 0) is the whole image. Results are in image coordinates.
        paragraph: merge neighbouring lines into one region each.
        allowlist: only these characters may be read ("" allows all of the language's characters).
        detector_size: the longest side the text detector works at (EasyOCR's ``canvas_size``).
    """
    part, (ox, oy) = roi_tools.crop(image, roi)
    if part.size == 0:
        return []
    part = np.ascontiguousarray(part)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch/EasyOCR deprecation chatter on every call
        # readtext() split in its two halves, so tilted words can be joined into lines in between.
        horizontal, free = reader.detect(part, canvas_size=detector_size, min_size=MIN_TEXT_SIZE, reformat=False)
        level, tilted = join_tilted_words(horizontal[0], free[0])
        raw = reader.recognize(to_gray(part), level, tilted, allowlist=allowlist or None, reformat=False)
    regions = [
        TextRegion(np.asarray(box, np.float32).reshape(-1, 2) + np.float32([ox, oy]), " ".join(text.split()), float(conf))
        for box, text, conf in raw
        if conf >= confidence and text.strip()
    ]
    return merge_paragraphs(regions) if paragraph else reading_order(regions)


def read_object_text(reader: Any, crop: np.ndarray, *, confidence: float = 0.4, allowlist: str = "",
                     detector_size: int = 960) -> tuple[str, float] | None:
    """The text inside one object's crop as one string (its lines in reading order) and their mean confidence.

    Crops lower than :data:`MIN_OBJECT_HEIGHT` are enlarged first: the text detector misses letters only a
    few pixels tall, as on a distant plate. None when no text is read.
    """
    if crop.shape[0] < MIN_OBJECT_HEIGHT:
        scale = MIN_OBJECT_HEIGHT / crop.shape[0]
        crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    regions = read_text(reader, crop, confidence=confidence, allowlist=allowlist, detector_size=detector_size)
    if not regions:
        return None
    return " ".join(r.text for r in regions), float(np.mean([r.score for r in regions]))


def reading_order(regions: list[TextRegion]) -> list[TextRegion]:
    """Regions sorted line by line, top to bottom, then left to right within a line."""
    if len(regions) < 2:
        return regions
    heights = [r.box[3] - r.box[1] for r in regions]
    band = max(float(np.median(heights)) * 0.6, 1.0)
    return sorted(regions, key=lambda r: (round(float(r.polygon[:, 1].mean()) / band), r.box[0]))


@dataclass
class RegionCarrier:
    """Moves text regions found on one frame along with the scene on the following frames."""

    regions: list[TextRegion] = field(default_factory=list)
    offsets: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.float32))
    _prev: np.ndarray | None = None
    _points: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.float32))
    _origin: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.float32))
    _owner: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    _anchors: list[tuple[int, np.ndarray] | None] = field(default_factory=list)

    def start(self, gray: np.ndarray, regions: list[TextRegion], detections: Detections | None = None) -> None:
        """Remembers regions read on this frame, their corner points and the tracked objects they lie on."""
        self.regions = regions
        self.offsets = np.zeros((len(regions), 2), np.float32)
        self._prev = gray
        self._anchors = [_anchor(r, detections) for r in regions]
        points, owner = [], []
        h, w = gray.shape[:2]
        for i, region in enumerate(regions):
            x1, y1, x2, y2 = (int(round(v)) for v in region.box)
            x1, y1, x2, y2 = max(0, x1), max(0, y1), min(w, x2), min(h, y2)
            if x2 - x1 < 4 or y2 - y1 < 4:
                continue
            corners = cv2.goodFeaturesToTrack(gray[y1:y2, x1:x2], maxCorners=12, qualityLevel=0.01, minDistance=3)
            if corners is not None:
                pts = corners.reshape(-1, 2) + np.float32([x1, y1])
                points.append(pts)
                owner += [i] * len(pts)
        self._points = np.concatenate(points).astype(np.float32) if points else np.zeros((0, 2), np.float32)
        self._origin = self._points.copy()
        self._owner = np.asarray(owner, np.int32)

    def follow(self, gray: np.ndarray, detections: Detections | None = None) -> list[TextRegion]:
        """The remembered regions moved to where their text is in this frame."""
        if not self.regions:
            return []
        if len(self._points) and self._prev is not None and self._prev.shape == gray.shape:
            moved, status, _ = cv2.calcOpticalFlowPyrLK(self._prev, gray, self._points.reshape(-1, 1, 2), None,
                                                        winSize=(21, 21), maxLevel=3)
            keep = status.reshape(-1) == 1
            self._points = moved.reshape(-1, 2)[keep]
            self._origin, self._owner = self._origin[keep], self._owner[keep]
            for i in np.unique(self._owner):
                mine = self._owner == i
                self.offsets[i] = np.median(self._points[mine] - self._origin[mine], axis=0)
        self._prev = gray
        for i, anchor in enumerate(self._anchors):
            if anchor is not None and detections is not None:
                track, centre = anchor
                rows = np.flatnonzero(detections.track_id == track)
                if len(rows):
                    x1, y1, x2, y2 = detections.xyxy[rows[0]]
                    self.offsets[i] = np.float32([(x1 + x2) / 2, (y1 + y2) / 2]) - centre
        return [TextRegion(r.polygon + self.offsets[i], r.text, r.score) for i, r in enumerate(self.regions)]


def _anchor(region: TextRegion, detections: Detections | None) -> tuple[int, np.ndarray] | None:
    """The smallest tracked object whose box holds the region's centre: (track id, box centre)."""
    if detections is None or detections.empty:
        return None
    cx, cy = region.polygon.mean(axis=0)
    x1, y1, x2, y2 = detections.xyxy.T
    inside = (detections.track_id >= 0) & (x1 <= cx) & (cx <= x2) & (y1 <= cy) & (cy <= y2)
    if not inside.any():
        return None
    area = np.where(inside, (x2 - x1) * (y2 - y1), np.inf)
    best = int(np.argmin(area))
    bx1, by1, bx2, by2 = detections.xyxy[best]
    return int(detections.track_id[best]), np.float32([(bx1 + bx2) / 2, (by1 + by2) / 2])


class OcrParams(AnalysisParams):
    old_names = {"min_confidence": "confidence", "every_n_frames": "every"}

    languages: list[str] = param(["en"], help="EasyOCR language codes (en, fr, de, ru, ja...); English works offline, others need 'vision-desk models pull' once.")
    confidence: float = param(0.4, ge=0.0, le=1.0, step=0.05, help="Lines read with less confidence than this are dropped.")
    roi: tuple[int, int, int, int] = param((0, 0, 0, 0), widget="rect", help=roi_tools.ROI_HELP)
    paragraph: bool = param(False, help="Merge neighbouring lines into paragraphs (one object each).")
    allowlist: str = param("", widget="text", help="Only these characters may be read, e.g. 0123456789 for meters; empty allows all.")
    every: int = param(1, ge=1, le=300, help="Read every N-th frame; in between, the last result follows the scene (tracks or optical flow).")
    new_text_only: bool = param(True, help="Log each distinct text once per video; off logs a text each time it comes back into view.")
    detector_size: int = param(960, ge=320, le=4096, step=32, help="Longest side the text detector works at: smaller is faster (a 720p frame at 960 takes about half the time of 1280), larger finds smaller text.")
    device: Literal["auto", "cpu", "cuda", "mps"] = param("auto", help="Where EasyOCR runs: auto picks CUDA, then Apple MPS, then the CPU.")
    source: str = param("", help=SOURCE_HELP)
    of_class: str = param("", help=OF_CLASS_HELP)
    margin: float = param(0.1, ge=0.0, le=1.0, step=0.05, help=MARGIN_HELP)
    vote_window: int = param(9, ge=1, le=300, help="With source: a tracked object's text is the most frequent of its last this many reads, so one misread does not show.")

    @model_validator(mode="after")
    def _source_fits(self) -> "OcrParams":
        check_source(OcrStage.id, self.source, self.roi, self.run)
        return self


class OcrStage(Stage):
    id = "ocr"
    title = "OCR (EasyOCR)"
    category = "Text & codes"
    help = ("Reads printed text with EasyOCR; each line (or paragraph) is an object with its outline, text and confidence, "
            "or, with a source, the text inside each of that stage's objects (licence plates) goes onto the object. "
            "Heavy: seconds per 720p frame on a CPU, so use 'every N frames', a region of interest or a source.")
    Params = OcrParams
    heavy = True
    values = {"ocr_count": "Text regions (the 'text' objects); with source: the objects that have a text."}
    columns = {"polygon": "The region's outline.", "text": "The text read (with source: on the source's object, voted per track).",
               "text_score": "With source: the text's confidence (the mean over its votes)."}

    @classmethod
    def in_frame_order(cls, params: StageParams) -> bool:
        return bool(getattr(params, "source", ""))

    def __init__(self, params: StageParams | None = None) -> None:
        super().__init__(params)
        self._reader: Any = None
        self.reset()

    def setup(self) -> None:
        from vision_desk.stages.text.easyocr_models import load_reader

        self._reader = load_reader(self.params.languages, self.params.device)

    def reset(self) -> None:
        self._tick = 0
        self._carrier = RegionCarrier()
        self._read_on: ResultOrigin | None = None  # the frame the carried regions were read on
        self._logged: set[str] = set()
        self._in_view: set[str] = set()
        self._objects: ObjectReader[str] = ObjectReader(self.params.vote_window, self.params.every)

    def update_params(self, params: StageParams) -> None:
        old = self.params
        super().update_params(params)
        if (old.languages, old.device) != (params.languages, params.device):
            self._reader = None
        self.reset()

    def process(self, frame: Frame) -> None:
        p = self.params
        if self._reader is None:
            self.setup()
        if p.source:
            self._read_objects(frame)
            return
        due = self._tick % p.every == 0
        self._tick += 1
        if due:
            regions = read_text(self._reader, frame.image, confidence=p.confidence, roi=p.roi,
                                paragraph=p.paragraph, allowlist=p.allowlist, detector_size=p.detector_size)
            if p.every > 1:
                self._carrier.start(to_gray(frame.image), regions, frame.detections)
            self._log(frame, [r.text for r in regions])
            self._read_on = frame.mark(self.id)
        else:
            regions = self._carrier.follow(to_gray(frame.image), frame.detections)
            frame.mark(self.id, self._read_on)
        frame.add(Detections.from_boxes(
            [r.box for r in regions], "text", [r.score for r in regions], source=self.id,
            polygon=[np.round(r.polygon, 1).tolist() for r in regions], text=[r.text for r in regions],
        ))
        frame.values["ocr_count"] = len(regions)

    def _read_objects(self, frame: Frame) -> None:
        p = self.params
        det = frame.detections

        def read(crop: np.ndarray) -> tuple[str, float] | None:
            return read_object_text(self._reader, crop, confidence=p.confidence, allowlist=p.allowlist,
                                    detector_size=p.detector_size)

        found = self._objects.read(frame.image, det, det.rows(p.source, p.of_class), p.margin, read)
        set_column(det, "text", {i: text for i, (text, _) in found.items()})
        set_column(det, "text_score", {i: round(score, 4) for i, (_, score) in found.items()})
        self._log(frame, [text for text, _ in found.values()])
        frame.values["ocr_count"] = len(found)

    def _log(self, frame: Frame, texts: list[str]) -> None:
        texts = list(dict.fromkeys(texts))
        for text in texts:
            if (text not in self._logged) if self.params.new_text_only else (text not in self._in_view):
                frame.events.append(f"text: {text}")
            self._logged.add(text)
        self._in_view = set(texts)

    def draw(self, canvas: np.ndarray, frame: Frame) -> None:
        roi_tools.draw(canvas, self.params.roi)
