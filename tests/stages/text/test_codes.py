"""Codes: generated QR / EAN-13 / Code 128 pasted onto real photos decode to exactly their payloads."""

from __future__ import annotations

import numpy as np
import pytest

from tests.stages.text.synth import degrade, paste_quad, photo, plane_quad
from vision_desk.engine.frame import Frame
from vision_desk.engine.pipeline import Pipeline, spec_from_dict
from vision_desk.errors import PipelineError
from vision_desk.stages.text.codes import decode_codes, gtin_valid, payload_bytes, payload_text, zbar_decode
from vision_desk.stages.text.generate import expected_payload, make_code

QR_PAYLOADS = {
    "ascii": b"WH-7/B shelf 0042",
    "url": b"https://example.org/track?id=9f3a&lang=en",
    "utf8": "Grüße, 東京, Ωμέγα ✓".encode(),
    "binary": bytes([0, 1, 2, 0x80, 0xFF, 0xFE, 10, 13, 0x7F, 0xC3]) + bytes(range(200, 230)),
    "random": np.random.default_rng(7).integers(0, 256, 48, dtype=np.uint8).tobytes(),
    "nul_text": b"a\x00b\x00c",
}


def _read(image: np.ndarray, **kwargs) -> list[bytes]:
    return [c.data for c in decode_codes(image, **kwargs)]


@pytest.mark.parametrize("name", list(QR_PAYLOADS))
def test_payload_text_round_trips_exact_bytes(name: str) -> None:
    data = QR_PAYLOADS[name]
    text, encoding = payload_text(data)
    assert payload_bytes(text, encoding) == data
    assert encoding == ("base64" if name in ("binary", "random") else "utf-8")


@pytest.mark.parametrize(
    ("name", "scene", "yaw", "pitch", "roll", "blur", "noise"),
    [
        ("ascii", "coffee", 25, 10, 15, 0.8, 5),
        ("url", "chelsea", -30, 15, -40, 1.0, 6),
        ("utf8", "astronaut", 35, -10, 70, 0.8, 6),
        ("binary", "rocket", -20, 25, 130, 1.0, 5),
        ("random", "coffee", 40, 0, 200, 0.6, 8),
        ("nul_text", "camera", 0, 35, 300, 1.0, 5),
    ],
)
def test_qr_on_photo_with_perspective_blur_and_noise_decodes_exactly(name, scene, yaw, pitch, roll, blur, noise) -> None:
    data = QR_PAYLOADS[name]
    code = make_code(data, "qr", scale=4)
    modules = code.shape[0] // 4
    quad = plane_quad((320, 200), modules * 4.5, modules * 4.5, yaw, pitch, roll)
    image = degrade(paste_quad(photo(scene), code, quad), blur, noise, seed=len(data))
    assert _read(image) == [data]


@pytest.mark.parametrize(
    ("kind", "text", "scene", "yaw", "roll", "blur", "noise"),
    [
        ("ean13", "590123412345", "coffee", 15, 8, 0.8, 5),
        ("ean13", "4006381333931", "astronaut", -15, -12, 1.0, 6),
        ("code128", "WH7-B/0042", "chelsea", 20, 10, 0.8, 5),
        ("code128", "VD 2024!", "rocket", -25, -6, 0.8, 6),
    ],
)
def test_barcode_on_photo_with_perspective_blur_and_noise_decodes_exactly(kind, text, scene, yaw, roll, blur, noise) -> None:
    code = make_code(text, kind, scale=3, human_text=False)
    h, w = code.shape[:2]
    k = 3.5 / 3  # 3.5 px per module before the perspective
    quad = plane_quad((320, 200), w * k, h * k, yaw, 10, roll)
    image = degrade(paste_quad(photo(scene), code, quad), blur, noise, seed=len(text))
    found = decode_codes(image)
    assert [(c.code_type, c.payload) for c in found] == [(kind, expected_payload(text, kind))]


@pytest.mark.parametrize("roll", [35, 45])
def test_small_rotated_qr_that_zbar_misses_is_read_through_the_opencv_fallback(roll: float) -> None:
    data = QR_PAYLOADS["random"][:20]
    code = make_code(data, "qr", scale=4)
    modules = code.shape[0] // 4
    quad = plane_quad((320, 200), modules * 2.0, modules * 2.0, 15, 10, roll)
    image = degrade(paste_quad(photo("coffee"), code, quad), 0.6, 4)
    gray = image[:, :, 1]
    assert zbar_decode(gray) == []
    assert _read(image, opencv_fallback=False) == []
    assert _read(image) == [data]


@pytest.mark.parametrize(("text", "yaw"), [("590123412345", 25), ("036000291452", 30), ("400638133393", 35)])
def test_steeply_tilted_ean_that_zbar_misses_is_read_through_the_opencv_fallback(text: str, yaw: float) -> None:
    code = make_code(text, "ean13", scale=3, human_text=False)
    h, w = code.shape[:2]
    quad = plane_quad((320, 200), w * 4 / 3, h * 4 / 3, yaw, 10, 8)
    image = degrade(paste_quad(photo("coffee"), code, quad), 0.8, 5)
    assert zbar_decode(image[:, :, 1]) == []
    found = decode_codes(image)
    assert [(c.code_type, c.payload, c.reader) for c in found] == [("ean13", expected_payload(text, "ean13"), "opencv")]


def test_gtin_check_digits() -> None:
    assert gtin_valid("5901234123457") and gtin_valid("96385074") and gtin_valid("036000291452")
    assert not gtin_valid("5901234123458") and not gtin_valid("12345")


def _damaged_qr() -> np.ndarray:
    code = make_code(b"this payload must not come back wrong", "qr", scale=5, error="l").copy()
    n = code.shape[0]
    code[int(n * 0.35):int(n * 0.75), int(n * 0.3):int(n * 0.8)] = 0  # far beyond level L's 7 % error correction
    return paste_quad(photo("coffee"), code, plane_quad((320, 200), 220, 220, 10, 0, 5))


def _blurred_ean() -> np.ndarray:
    code = make_code("590123412345", "ean13", scale=3, human_text=False)
    image = paste_quad(photo("chelsea"), code, plane_quad((320, 200), 420, 180))
    return degrade(image, 4.0, 8)


def _cut_code128() -> np.ndarray:
    code = make_code("CUT-IN-HALF-42", "code128", scale=3, human_text=False).copy()
    code[:, code.shape[1] // 2:] = 255  # the right half of the bars is gone
    return paste_quad(photo("astronaut"), code, plane_quad((320, 200), 560, 180))


@pytest.mark.parametrize("scene", [_damaged_qr, _blurred_ean, _cut_code128], ids=["qr_blocked", "ean_blurred", "code128_cut"])
def test_codes_too_damaged_to_read_give_nothing_rather_than_a_wrong_payload(scene) -> None:
    assert decode_codes(scene()) == []


@pytest.mark.parametrize("scene", ["astronaut", "coffee", "chelsea", "rocket", "camera", "coins", "page", "brick", "grass"])
def test_photos_without_codes_give_nothing(scene: str) -> None:
    assert decode_codes(photo(scene)) == []


def _codes_pipeline(**params) -> Pipeline:
    return Pipeline(spec_from_dict({"stages": [{"stage": "codes", "params": params}]}))


def test_codes_stage_reads_the_demo_qr_once_per_sighting(demo_frames) -> None:
    from vision_desk.engine.sources.demo import QR_PAYLOAD

    pipeline = _codes_pipeline()
    events, counts = [], []
    for i, image in enumerate(demo_frames):
        frame = pipeline.process(Frame(image.copy(), i, i / 30))
        events += frame.events
        counts.append(frame.values["codes_count"])
        codes = frame.detections.where(source="codes")
        assert list(codes.data["payload"]) == [QR_PAYLOAD]
        assert list(codes.data["code_type"]) == ["qr"]
        x1, y1, x2, y2 = codes.xyxy[0]
        assert 1050 < x1 < x2 < 1280 and 380 < y1 < y2 < 620  # the QR tile's place in the demo scene
    assert events == [f"code qr: {QR_PAYLOAD}"]
    assert frame.values["codes_scanned"] == 1 and frame.values["codes_distinct"] == 1


def test_a_code_that_leaves_and_comes_back_is_a_new_sighting() -> None:
    code = make_code("PALLET-0007", "code128", scale=3, human_text=False)
    with_code = paste_quad(photo("coffee"), code, plane_quad((320, 200), 560, 180))
    without = photo("coffee")
    pipeline = _codes_pipeline(forget_after=3, types=["code128"])
    sequence = [with_code] * 3 + [without] * 2 + [with_code] + [without] * 4 + [with_code]
    events, ids = [], []
    for i, image in enumerate(sequence):
        frame = pipeline.process(Frame(image, i, i / 30))
        events += frame.events
        ids += [int(t) for t in frame.detections.track_id]
    # gone for 2 frames (< forget_after): the same sighting; gone for 4: a new one
    assert events == ["code code128: PALLET-0007", "code code128: PALLET-0007"]
    assert ids == [1, 1, 1, 1, 2]
    assert frame.values["codes_scanned"] == 2 and frame.values["codes_distinct"] == 1


def test_roi_limits_where_codes_are_read() -> None:
    code = make_code("LEFT", "qr", scale=4)
    image = paste_quad(photo("coffee"), code, plane_quad((150, 200), 140, 140))
    inside = _codes_pipeline(roi=[50, 80, 220, 240]).process(Frame(image, 0, 0.0))
    outside = _codes_pipeline(roi=[350, 0, 290, 400]).process(Frame(image, 0, 0.0))
    assert list(inside.detections.data["payload"]) == ["LEFT"]
    x1, y1, x2, y2 = inside.detections.xyxy[0]
    assert 70 < x1 < x2 < 230 and 120 < y1 < y2 < 280  # reported in frame coordinates
    assert outside.detections.empty


def test_codes_pipeline_validates_and_names_the_bad_parameter() -> None:
    spec = spec_from_dict({"stages": [{"stage": "codes", "params": {"types": ["qr", "ean13"], "forget_after": 10, "roi": [0, 0, 320, 240]}}]})
    assert spec.stages[0].params["types"] == ["qr", "ean13"]
    with pytest.raises(PipelineError, match=r"'codes'.*types"):
        spec_from_dict({"stages": [{"stage": "codes", "params": {"types": ["qr", "datamatrix"]}}]})
    with pytest.raises(PipelineError, match=r"'codes'.*forget_after"):
        spec_from_dict({"stages": [{"stage": "codes", "params": {"forget_after": 0}}]})


def test_codes_stage_runs_over_a_720p_clip(clip_720p) -> None:
    from vision_desk.engine.runner import Engine

    pipeline = _codes_pipeline()
    stats = Engine(str(clip_720p), pipeline, live=False, max_frames=20).run()
    assert stats.frames_out == 20
    assert pipeline.stage_rows()[0]["error"] is None
