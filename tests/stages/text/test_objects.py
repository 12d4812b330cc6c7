"""Reading inside the objects of another stage: plates found by contours, tracked, read by ocr and codes per object.

The clip is real (H.264 written with PyAV, decoded by the engine): three white plates, each with its own text
(or QR code), drifting across a darkened photo. The per-track vote itself is tested in tests/stages/test_voting.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.media import write_clip
from tests.stages.text.synth import PLATES, moving_plates_frames, plate_box
from vision_desk.engine.frame import Frame
from vision_desk.engine.pipeline import Pipeline, spec_from_dict
from vision_desk.engine.results import Detections, box_iou
from vision_desk.engine.runner import Engine
from vision_desk.engine.sinks.export import JsonlSink
from vision_desk.errors import PipelineError
from vision_desk.stages.text.generate import make_code

FRAMES = 7
PLATE_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
FIND_PLATES = {"stage": "contours", "params": {"objects": "light", "min_area": 3000}}
TRACK_PLATES = {"stage": "track", "params": {"source": "contours"}}


def qr_tile(text: str) -> np.ndarray:
    return make_code(f"PARCEL-{text}", "qr", scale=3)


@pytest.fixture(scope="module")
def plates_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_clip(tmp_path_factory.mktemp("plates") / "plates.mp4", moving_plates_frames(FRAMES))


@pytest.fixture(scope="module")
def parcels_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_clip(tmp_path_factory.mktemp("parcels") / "parcels.mp4", moving_plates_frames(FRAMES, patch=qr_tile))


def _export(clip: Path, stages: list[dict], out: Path) -> list[dict]:
    """Runs the clip through the stages with a JSONL export and returns its records."""
    Engine(str(clip), Pipeline(spec_from_dict({"stages": stages})), sinks=[JsonlSink(out)], live=False).run()
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def _plate_of(obj: dict, frame: int, size: tuple[int, int]) -> str:
    """The text of the plate whose true box the object's box overlaps most (at least IoU 0.8)."""
    truth = [plate_box(p, frame, size) for p in PLATES]
    iou = box_iou(obj["xyxy"], truth)[0]
    assert iou.max() > 0.8, (obj["xyxy"], truth)
    return PLATES[int(np.argmax(iou))][0]


def test_ocr_puts_each_tracked_plates_own_text_on_it_reading_every_third_frame(ocr_reader, plates_clip, tmp_path) -> None:
    ocr = {"stage": "ocr", "params": {"source": "contours", "every": 3, "allowlist": PLATE_LETTERS}}
    records = _export(plates_clip, [FIND_PLATES, TRACK_PLATES, ocr], tmp_path / "plates.jsonl")
    assert len(records) == FRAMES
    tracks: dict[str, set[int]] = {}
    scores: list[dict[int, float]] = []
    for record in records:
        objects = [o for o in record["objects"] if o["stage"] == "contours"]
        assert len(objects) == 3 and record["values"]["ocr_count"] == 3
        for obj in objects:
            assert obj["text"] == _plate_of(obj, record["frame"], (150, 56)), obj
            tracks.setdefault(obj["text"], set()).add(obj["track_id"])
        scores.append({o["track_id"]: o["text_score"] for o in objects})
    assert all(len(ids) == 1 for ids in tracks.values()) and len(set.union(*tracks.values())) == 3, tracks
    # read on frames 0, 3 and 6; in between each track's voted text is carried as it stands
    for i in range(1, FRAMES):
        if i % 3:
            assert scores[i] == scores[i - 1], i
    events = [e for r in records for e in r.get("events", [])]
    assert sorted(events) == sorted(f"text: {text}" for text, _, _ in PLATES)  # each plate logged once


def test_ocr_reads_untracked_objects_on_every_frame(ocr_reader) -> None:
    pipeline = Pipeline(spec_from_dict({"stages": [
        FIND_PLATES, {"stage": "ocr", "params": {"source": "contours", "every": 5, "allowlist": PLATE_LETTERS}}]}))
    for i, image in enumerate(moving_plates_frames(2)):
        det = pipeline.process(Frame(image, i, i / 30)).detections
        assert list(det.track_id) == [-1, -1, -1]
        assert sorted(det.data["text"]) == sorted(text for text, _, _ in PLATES), i  # no track: nothing to carry


def test_codes_put_each_tracked_parcels_payload_on_it(parcels_clip, tmp_path) -> None:
    codes = {"stage": "codes", "params": {"source": "contours", "of_class": "Square"}}
    records = _export(parcels_clip, [FIND_PLATES, TRACK_PLATES, codes], tmp_path / "parcels.jsonl")
    side = qr_tile("AB12").shape[0]
    tracks: dict[str, set[int]] = {}
    for record in records:
        objects = [o for o in record["objects"] if o["stage"] == "contours"]
        assert len(objects) == 3 and record["values"]["codes_count"] == 3
        for obj in objects:
            assert obj["label"] == "square" and obj["code_type"] == "qr" and obj["payload_encoding"] == "utf-8"
            assert obj["payload"] == f"PARCEL-{_plate_of(obj, record['frame'], (side, side))}", obj
            tracks.setdefault(obj["payload"], set()).add(obj["track_id"])
        assert not [o for o in record["objects"] if o["stage"] == "codes"]  # no rows of its own in object mode
    assert all(len(ids) == 1 for ids in tracks.values()) and len(set.union(*tracks.values())) == 3, tracks
    events = [e for r in records for e in r.get("events", [])]
    assert sorted(events) == sorted(f"code qr: PARCEL-{text}" for text, _, _ in PLATES)
    assert records[-1]["values"]["codes_scanned"] == 3


def test_of_class_and_margin_choose_what_is_read() -> None:
    image = moving_plates_frames(1, patch=qr_tile)[0]
    box = plate_box(PLATES[0], 0, qr_tile("AB12").shape[:2])
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    inner = [cx - 20, cy - 20, cx + 20, cy + 20]  # the middle of the code only, as a loose detector might give
    outside = [900, 500, 990, 560]  # a box carried past the frame's edge: no pixels to read

    def payloads(**params) -> list:
        frame = Frame(image.copy(), 0, 0.0)
        frame.add(Detections.from_boxes([inner, box, outside], ["parcel", "pallet", "parcel"], source="detect"))
        Pipeline(spec_from_dict({"stages": [{"stage": "codes", "params": {"source": "detect", **params}}]})).process(frame)
        return list(frame.detections.data["payload"])

    assert payloads(margin=0.0) == [None, "PARCEL-AB12", None]  # the crop holds too little of the code
    assert payloads(margin=1.0) == ["PARCEL-AB12", "PARCEL-AB12", None]
    assert payloads(margin=1.0, of_class="pallet") == [None, "PARCEL-AB12", None]


@pytest.mark.parametrize("stage", ["ocr", "codes"])
def test_object_parameters_validate(stage: str) -> None:
    extra = {"vote_window": 5, "every": 4} if stage == "ocr" else {}
    spec = spec_from_dict({"stages": [{"stage": stage, "params": {"source": "detect", "of_class": "plate", "margin": 0.2, **extra}}]})
    assert spec.stages[0].params["source"] == "detect"


@pytest.mark.parametrize(("stage", "params", "message"), [
    ("ocr", {"source": "detect", "margin": 1.5}, r"'ocr'.*parameter 'margin'"),
    ("ocr", {"source": "detect", "vote_window": 0}, r"'ocr'.*parameter 'vote_window'"),
    ("ocr", {"source": "ocr"}, r"source 'ocr' is this stage itself; name the stage whose objects to read"),
    ("ocr", {"source": "detect", "roi": [0, 0, 100, 50]}, r"set either roi .* or source .*, not both"),
    ("ocr", {"source": "detect", "run": "async"}, r"writes onto them in frame order, so it cannot run async"),
    ("codes", {"source": "detect", "margin": -0.1}, r"'codes'.*parameter 'margin'"),
    ("codes", {"source": "codes"}, r"source 'codes' is this stage itself"),
    ("codes", {"source": "detect", "run": "async"}, r"cannot run async; set run to auto or sync"),
])
def test_contradicting_object_parameters_are_one_clear_error(stage: str, params: dict, message: str) -> None:
    with pytest.raises(PipelineError, match=message):
        spec_from_dict({"stages": [{"stage": stage, "params": params}]})


def test_reading_objects_keeps_the_stage_in_frame_order_in_live_runs() -> None:
    """A lane hands back only a stage's own rows, so with a source ``run: auto`` stays on the frame loop."""
    stages = [{"stage": "ocr"}, {"stage": "codes"}, {"stage": "ocr", "params": {"source": "detect"}},
              {"stage": "codes", "params": {"source": "detect"}}]
    rows = Pipeline(spec_from_dict({"stages": stages}), live=True).stage_rows()
    assert [r["run"] for r in rows] == ["async", "async", "sync", "sync"]
