"""The document page finder and the two presets (document reader, scanner counter) on real images."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.stages.text.synth import paste_quad, photo, plane_quad
from vision_desk.engine.frame import Frame
from vision_desk.engine.pipeline import Pipeline, load_spec, spec_from_dict
from vision_desk.errors import PipelineError
from vision_desk.resources import pipelines_dir
from vision_desk.stages.text.document import find_document_quad, order_corners, warp_quad


def _sheet() -> np.ndarray:
    """page() enlarged 1.5x on a sheet of paper with white margins."""
    from skimage import data

    page = cv2.resize(cv2.cvtColor(data.page(), cv2.COLOR_GRAY2BGR), None, fx=1.5, fy=1.5, interpolation=cv2.INTER_CUBIC)
    return cv2.copyMakeBorder(page, 24, 24, 24, 24, cv2.BORDER_CONSTANT, value=(222, 222, 218))


def _page_on_table(yaw: float = 25, pitch: float = -20, roll: float = 8, table: str = "coffee") -> tuple[np.ndarray, np.ndarray]:
    """The sheet photographed at an angle lying on a darkened real photo; returns the image and the sheet's true corners."""
    sheet = _sheet()
    h, w = sheet.shape[:2]
    quad = plane_quad((480, 300), w * 0.9, h * 0.9, yaw, pitch, roll)
    background = cv2.convertScaleAbs(photo(table, (960, 600)), alpha=0.55)
    return paste_quad(background, sheet, quad), quad


def test_order_corners_starts_top_left_and_runs_clockwise() -> None:
    shuffled = np.float32([[90, 85], [10, 12], [12, 80], [95, 8]])
    assert order_corners(shuffled).tolist() == [[10, 12], [95, 8], [90, 85], [12, 80]]


@pytest.mark.parametrize(("yaw", "pitch", "roll", "table"), [(25, -20, 8, "coffee"), (-30, 15, -5, "grass"), (0, 30, 0, "chelsea"), (10, 10, 20, "brick")])
def test_finds_the_page_corners_under_perspective(yaw: float, pitch: float, roll: float, table: str) -> None:
    image, truth = _page_on_table(yaw, pitch, roll, table)
    found = find_document_quad(image)
    assert found is not None
    assert np.abs(found - truth).max() < 3


@pytest.mark.parametrize("scene", ["chelsea", "grass", "brick", "astronaut"])
def test_no_page_on_a_photo_without_one(scene: str) -> None:
    assert find_document_quad(photo(scene, (640, 400)), min_area=0.1) is None


def test_flattened_page_reads_like_the_scan(ocr_reader) -> None:
    from vision_desk.stages.text.ocr import read_text

    image, _ = _page_on_table()
    flat = warp_quad(image, find_document_quad(image), width=624)
    assert abs(flat.shape[1] / flat.shape[0] - 624 / 335) < 0.03  # the sheet's own proportions
    texts = [r.text for r in read_text(ocr_reader, flat)]
    assert "Region-based segmentation" in texts
    assert any("unambiguously" in t for t in texts)


def test_document_stage_warps_the_page_and_passes_other_frames() -> None:
    pipeline = Pipeline(spec_from_dict({"stages": [{"stage": "document", "params": {"width": 800, "hold_frames": 0}}]}))
    image, _ = _page_on_table()
    frame = pipeline.process(Frame(image, 0, 0.0))
    assert frame.values["document_found"] is True
    assert frame.image.shape[1] == 800 and abs(frame.image.shape[0] - 800 * 335 / 624) < 12
    plain = photo("chelsea", (640, 400))
    frame = pipeline.process(Frame(plain, 1, 0.1))
    assert frame.values["document_found"] is False and frame.image is plain


def test_document_pipeline_validates() -> None:
    assert spec_from_dict({"stages": [{"stage": "document", "params": {"min_area": 0.2}}]}).stages[0].stage == "document"
    with pytest.raises(PipelineError, match=r"'document'.*min_area"):
        spec_from_dict({"stages": [{"stage": "document", "params": {"min_area": 2}}]})


def test_document_reader_preset_reads_a_page_photographed_at_an_angle(ocr_reader) -> None:
    pipeline = Pipeline(load_spec(pipelines_dir() / "document_reader.yaml"))
    image, _ = _page_on_table(-25, 15, -4)
    frame = pipeline.process(Frame(image, 0, 0.0))
    texts = list(frame.detections.where(source="ocr").data["text"])
    prose = [t for t in texts if t.startswith("Region-based segmentation")]
    assert len(prose) == 1 and "unambiguously" in prose[0] and "histogram of grey values" in prose[0], texts
    assert any(e.startswith("text: Region-based segmentation") for e in frame.events)


def test_scanner_counter_preset_counts_each_code_once(demo_frames) -> None:
    from vision_desk.engine.sources.demo import QR_PAYLOAD

    pipeline = Pipeline(load_spec(pipelines_dir() / "scanner_counter.yaml"))
    events = []
    for i, image in enumerate(demo_frames):
        frame = pipeline.process(Frame(image, i, i / 30))
        events += frame.events
    assert events == [f"code qr: {QR_PAYLOAD}"]
    assert frame.values["codes_scanned"] == 1


def test_document_stage_runs_over_a_720p_clip(clip_720p) -> None:
    from vision_desk.engine.runner import Engine

    pipeline = Pipeline(spec_from_dict({"stages": [{"stage": "document"}]}))
    assert Engine(str(clip_720p), pipeline, live=False, max_frames=20).run().frames_out == 20
    assert pipeline.stage_rows()[0]["error"] is None
