"""OCR: real printed text (scikit-image's page scan), TrueType text rendered onto real photos, the demo scene."""

from __future__ import annotations

import string

import cv2
import numpy as np
import pytest

from tests.stages.text.synth import degrade, paste_quad, photo, render_label
from vision_desk.engine.frame import Frame
from vision_desk.engine.pipeline import Pipeline, spec_from_dict
from vision_desk.engine.results import Detections
from vision_desk.errors import PipelineError
from vision_desk.stages.classical.perspective import order_corners
from vision_desk.stages.text.ocr import RegionCarrier, TextRegion, merge_paragraphs, read_text

# The prose on scikit-image's page(), line by line, as printed.
PAGE_LINES = [
    "Region-based segmentation",
    "Let us first determine markers of the coins and the",
    "background. These markers are pixels that we can label",
    "unambiguously as either object or background. Here,",
    "the markers are found at the two extreme parts of the",
    "histogram of grey values:",
]


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions and substitutions each cost 1)."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def _words(text: str) -> list[str]:
    return [w.strip(string.punctuation) for w in text.split() if w.strip(string.punctuation)]


def test_page_scan_words_are_read_exactly_with_a_low_character_error_rate(ocr_reader) -> None:
    from skimage import data

    regions = read_text(ocr_reader, cv2.cvtColor(data.page(), cv2.COLOR_GRAY2BGR), confidence=0.3)
    read = [w for r in regions for w in _words(r.text)]
    truth = _words(" ".join(PAGE_LINES))
    remaining = list(read)
    exact = []
    for word in truth:
        if word in remaining:
            remaining.remove(word)
            exact.append(word)
    paragraphs = merge_paragraphs(regions)
    prose = max(paragraphs, key=lambda r: len(r.text)).text
    cer = edit_distance(prose, " ".join(PAGE_LINES)) / len(" ".join(PAGE_LINES))
    print(f"\npage(): {len(exact)}/{len(truth)} words exact, character error rate {cer:.3f}")
    assert len(exact) >= 0.9 * len(truth)
    assert {"Region-based", "segmentation", "unambiguously", "histogram", "markers", "background"} <= set(exact)
    assert cer < 0.06


def _rotated_label_quad(label: np.ndarray, centre: tuple[int, int], angle: float) -> np.ndarray:
    h, w = label.shape[:2]
    return order_corners(cv2.boxPoints(((float(centre[0]), float(centre[1])), (float(w), float(h)), angle)))


@pytest.mark.parametrize(
    ("text", "px", "angle", "blur", "scene"),
    [
        ("Parking level 3", 22, 0, 0.0, "coffee"),
        ("Fragile handle with care", 22, 10, 0.0, "astronaut"),
        ("WAREHOUSE 7 GATE B", 22, -10, 1.0, "rocket"),
        ("Invoice 2024 0519", 30, 10, 0.0, "chelsea"),
        ("Parking level 3", 30, -10, 1.0, "coffee"),
        ("Fragile handle with care", 30, 0, 1.0, "astronaut"),
        ("WAREHOUSE 7 GATE B", 42, 10, 0.0, "coffee"),
        ("Invoice 2024 0519", 42, -10, 1.0, "rocket"),
    ],
)
def test_truetype_text_on_a_photo_is_read_exactly(ocr_reader, text: str, px: int, angle: float, blur: float, scene: str) -> None:
    label = render_label(text, px)
    image = degrade(paste_quad(photo(scene, (480, 240)), label, _rotated_label_quad(label, (240, 120), angle)), blur)
    regions = read_text(ocr_reader, image)
    assert [r.text for r in regions] == [text]
    x1, y1, x2, y2 = regions[0].box
    assert x1 < 240 < x2 and y1 < 120 < y2  # the outline is on the label


@pytest.mark.parametrize("scene", ["coffee", "chelsea", "astronaut", "rocket"])
def test_photo_without_text_gives_no_text_objects(ocr_reader, scene: str) -> None:
    assert read_text(ocr_reader, photo(scene, (480, 320)), confidence=0.4) == []


def _ocr_pipeline(**params) -> Pipeline:
    return Pipeline(spec_from_dict({"stages": [{"stage": "ocr", "params": params}]}))


def test_ocr_stage_reads_the_demo_line_and_carries_it_between_passes(ocr_reader, demo_frames) -> None:
    from vision_desk.engine.sources.demo import TEXT_LINE

    pipeline = _ocr_pipeline(every=4)
    boxes, events = [], []
    for i, image in enumerate(demo_frames[:5]):
        frame = pipeline.process(Frame(image.copy(), i, i * 0.5, capture_time=50.0 + i * 0.5))
        events += frame.events
        line = [j for j, t in enumerate(frame.detections.data["text"]) if t == TEXT_LINE]
        assert len(line) == 1, list(frame.detections.data["text"])
        origin = frame.origin("ocr")  # read on frame 0, carried on 1-3, read again on 4
        assert (origin.frame_index, origin.age_ms(frame)) == (i - i % 4, pytest.approx(i % 4 * 500))
        boxes.append(frame.detections.xyxy[line[0]])
    # The band drifts a few pixels; the carried box (frames 1-3) moves with it and lands where a fresh read puts it.
    assert np.abs(boxes[4] - boxes[0]).max() > 1
    assert np.abs(boxes[3] - boxes[4]).max() <= 3
    assert 600 < boxes[0][1] < boxes[0][3] < 715
    assert events.count(f"text: {TEXT_LINE}") == 1  # logged once although read twice


def test_roi_and_allowlist(ocr_reader, demo_frames) -> None:
    from vision_desk.engine.sources.demo import TEXT_LINE

    band = _ocr_pipeline(roi=[0, 600, 1280, 120]).process(Frame(demo_frames[0].copy(), 0, 0.0))
    assert list(band.detections.data["text"]) == [TEXT_LINE]  # none of the page tile above it
    label = render_label("Lot 42", 30)
    image = paste_quad(photo("coffee", (320, 160)), label, _rotated_label_quad(label, (160, 80), 0))
    regions = read_text(ocr_reader, image, allowlist="0123456789")
    assert regions and all(set(r.text) <= set("0123456789 ") for r in regions)
    assert "42" in " ".join(r.text for r in regions)


@pytest.mark.parametrize(("new_text_only", "expected"), [(True, ["text: Gate 4"]), (False, ["text: Gate 4", "text: Gate 4"])])
def test_new_text_only_logs_each_text_once(ocr_reader, new_text_only: bool, expected: list[str]) -> None:
    label = render_label("Gate 4", 30)
    empty = photo("coffee", (320, 160))
    shown = paste_quad(empty, label, _rotated_label_quad(label, (160, 80), 0))
    pipeline = _ocr_pipeline(new_text_only=new_text_only)
    events = []
    for i, image in enumerate([shown, shown, empty, shown]):
        events += pipeline.process(Frame(image, i, i / 30)).events
    assert events == expected


def test_carried_regions_follow_optical_flow_and_tracked_objects() -> None:
    base = photo("coffee", (480, 240))
    label = render_label("moving text", 30)
    h, w = label.shape[:2]
    shifted = []
    for dx in (0, 6, 12):
        quad = np.float32([[100 + dx, 90], [100 + dx + w, 90], [100 + dx + w, 90 + h], [100 + dx, 90 + h]])
        shifted.append(cv2.cvtColor(paste_quad(base, label, quad), cv2.COLOR_BGR2GRAY))
    region = TextRegion(np.float32([[100, 90], [100 + w, 90], [100 + w, 90 + h], [100, 90 + h]]), "moving text", 0.9)
    flow = RegionCarrier()
    flow.start(shifted[0], [region])
    flow.follow(shifted[1])
    moved = flow.follow(shifted[2])[0]
    assert np.allclose(moved.polygon - region.polygon, [12, 0], atol=1.0)
    # A tracker earlier in the pipeline wins over flow: the region rides on its tracked object.
    tracked = lambda x: Detections.from_boxes([[x, 80, x + 300, 200]], "sign", track_id=[7])  # noqa: E731
    ride = RegionCarrier()
    ride.start(shifted[0], [region], tracked(90))
    assert np.allclose(ride.follow(shifted[0], tracked(130))[0].polygon - region.polygon, [40, 0])


def test_ocr_pipeline_validates_and_names_the_bad_parameter() -> None:
    spec = spec_from_dict({"stages": [{"stage": "ocr", "params": {"languages": ["en"], "every": 5, "roi": [0, 0, 640, 360], "allowlist": "0123456789"}}]})
    assert spec.stages[0].params["every"] == 5
    with pytest.raises(PipelineError, match=r"'ocr'.*'confidence'"):
        spec_from_dict({"stages": [{"stage": "ocr", "params": {"confidence": 1.5}}]})
    with pytest.raises(PipelineError, match=r"'ocr'.*'every'"):
        spec_from_dict({"stages": [{"stage": "ocr", "params": {"every": 0}}]})
    # a bad value under an old name: the error names the parameter as it is called now and as the file wrote it
    with pytest.raises(PipelineError, match=r"'ocr'.*parameter 'every' \(old name 'every_n_frames'\)"):
        spec_from_dict({"stages": [{"stage": "ocr", "params": {"every_n_frames": 0}}]})


def test_ocr_stage_runs_over_a_720p_clip(ocr_reader, clip_720p) -> None:
    from vision_desk.engine.runner import Engine

    pipeline = _ocr_pipeline(every=5, detector_size=640)
    stats = Engine(str(clip_720p), pipeline, live=False, max_frames=6).run()
    assert stats.frames_out == 6
    assert pipeline.stage_rows()[0]["error"] is None


@pytest.mark.gpu
def test_easyocr_on_cuda_reads_the_same_words_as_on_the_cpu() -> None:
    """scikit-image's page scan read on the GPU and on the CPU: the same words in the same order."""
    from skimage import data

    from vision_desk.stages.text.easyocr_models import load_reader

    page = cv2.cvtColor(data.page(), cv2.COLOR_GRAY2BGR)
    words = {}
    for device in ("cpu", "cuda"):
        regions = read_text(load_reader(["en"], device=device), page, confidence=0.3)
        words[device] = _words(" ".join(r.text for r in regions))
    assert len(words["cpu"]) > 40
    # float differences may change a character in a low-confidence word; the words themselves must agree
    same = sum(a == b for a, b in zip(words["cpu"], words["cuda"]))
    assert len(words["cuda"]) == len(words["cpu"]) and same >= 0.95 * len(words["cpu"]), words
