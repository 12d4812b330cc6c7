"""The flattened page read by OCR and the two presets (document reader, scanner counter) on real images.

The page finder itself is tested in tests/stages/classical/test_perspective.py.
"""

from __future__ import annotations

from tests.stages.text.synth import SHEET_SIZE, page_on_table
from vision_desk.engine.frame import Frame
from vision_desk.engine.pipeline import Pipeline, load_spec
from vision_desk.resources import pipelines_dir
from vision_desk.stages.classical.perspective import find_document, warp_quad


def test_flattened_page_reads_like_the_scan(ocr_reader) -> None:
    from vision_desk.stages.text.ocr import read_text

    image, _ = page_on_table()
    flat = warp_quad(image, find_document(image), (SHEET_SIZE[0], 0))
    assert abs(flat.shape[1] / flat.shape[0] - SHEET_SIZE[0] / SHEET_SIZE[1]) < 0.03  # the sheet's own proportions
    texts = [r.text for r in read_text(ocr_reader, flat)]
    assert "Region-based segmentation" in texts
    assert any("unambiguously" in t for t in texts)


def test_document_reader_preset_reads_a_page_photographed_at_an_angle(ocr_reader) -> None:
    pipeline = Pipeline(load_spec(pipelines_dir() / "document_reader.yaml"))
    image, _ = page_on_table(-25, 15, -4)
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
