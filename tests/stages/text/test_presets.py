"""The flattened page read by OCR and the presets (document reader, scanner counter, plate reader) on real images.

The page finder itself is tested in tests/stages/classical/test_perspective.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.stages.text.synth import SHEET_SIZE, page_on_table
from vision_desk.engine.frame import Frame
from vision_desk.engine.pipeline import Pipeline, apply_overrides, load_spec
from vision_desk.errors import ModelMissingError
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


def test_plate_reader_preset_without_the_users_plate_model_is_one_clear_sentence(models_dir: Path) -> None:
    pipeline = Pipeline(load_spec(pipelines_dir() / "plate-reader.yaml"))  # loads and validates without the model
    with pytest.raises(ModelMissingError) as err:
        pipeline.setup()
    assert str(err.value) == (f"stage 'detect' could not start: model file 'plates.pt' is not in the models folder "
                              f"{models_dir}; put your model there under that name, or set the stage's model to its path.")
    assert [m.as_dict() for m in err.value.missing] == [{"model": "plates.pt", "pull": None, "folder": str(models_dir)}]


def _tagged_squares(i: int) -> np.ndarray:
    """Blue squares the shapes test model knows, each with a white tag printed under it, moving right."""
    from vision_desk.benchmarks.shapes import Shape, background, draw_shape

    image = background("gravel", (640, 360))
    for text, cx, cy in (("AB12", 150, 110), ("XY98", 450, 190)):
        cx += 6 * i
        draw_shape(image, Shape("square", cx, cy, 40))
        cv2.rectangle(image, (cx - 60, cy + 45), (cx + 60, cy + 85), (235, 235, 235), -1)
        cv2.putText(image, text, (cx - 50, cy + 78), cv2.FONT_HERSHEY_SIMPLEX, 1.1, (20, 20, 20), 3, cv2.LINE_AA)
    return image


def test_plate_reader_preset_reads_the_tag_of_each_tracked_object(ocr_reader, models_dir: Path) -> None:
    """The preset as shipped, with a model the user put in the models folder as plates.pt: here the shapes test
    model (no plate detector ships), whose squares carry their text on a tag below, inside a wider margin."""
    models_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(Path(__file__).parents[2] / "fixtures" / "shapes-yolo11n.pt", models_dir / "plates.pt")
    spec = apply_overrides(load_spec(pipelines_dir() / "plate-reader.yaml"),
                           ["detect.imgsz=128", "detect.backend=pytorch", "ocr.margin=0.6", "ocr.every=2"])
    pipeline = Pipeline(spec)
    pipeline.setup()
    try:
        seen: dict[str, set[int]] = {}
        for i in range(3):
            det = pipeline.process(Frame(_tagged_squares(i), i, i / 30)).detections
            assert len(det) == 2 and set(det.source) == {"detect"}
            for x1, text, track in zip(det.xyxy[:, 0], det.data["text"], det.track_id):
                assert text == ("AB12" if x1 < 320 else "XY98"), (i, list(det.data["text"]))
                seen.setdefault(text, set()).add(int(track))
        assert all(len(ids) == 1 for ids in seen.values()) and len(set.union(*seen.values())) == 2, seen
    finally:
        pipeline.close()
