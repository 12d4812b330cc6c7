"""Generation round-trips through reading: what segno and python-barcode write, zbar reads back exactly."""

from __future__ import annotations

import pytest

from vision_desk.errors import VisionDeskError
from vision_desk.stages.text.codes import decode_codes
from vision_desk.stages.text.generate import ean13_check_digit, ean13_full, expected_payload, make_code


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        ("qr", "https://example.org/a?b=c"),
        ("qr", "Zürich → 東京 ✓"),
        ("qr", bytes(range(256))),
        ("qr", "x" * 1000),
        ("ean13", "400638133393"),
        ("ean13", "9780201379624"),
        ("code128", "ABC-123/xyz"),
        ("code128", "0123456789012345"),
    ],
)
@pytest.mark.parametrize("scale", [2, 5])
def test_generated_codes_read_back_exactly(kind: str, data, scale: int) -> None:
    image = make_code(data, kind, scale=scale)
    assert image.ndim == 3 and image.dtype.name == "uint8"
    found = decode_codes(image, opencv_fallback=False)
    expected = data if isinstance(data, bytes) else expected_payload(data, kind).encode()
    assert [(c.code_type, c.data) for c in found] == [(kind, expected)]


def test_ean13_check_digit() -> None:
    assert ean13_check_digit("400638133393") == "1"
    assert ean13_full("400638133393") == "4006381333931"
    with pytest.raises(VisionDeskError, match="last digit should be 1"):
        ean13_full("4006381333932")


@pytest.mark.parametrize(
    ("data", "kind", "message"),
    [
        ("12345", "ean13", "12 digits"),
        ("ABCDEFGHIJKL", "ean13", "12 digits"),
        ("café", "code128", "ASCII"),
        ("x" * 8000, "qr", "too many"),
        ("x", "datamatrix", "unknown code type"),
    ],
)
def test_invalid_payloads_are_one_line_errors(data: str, kind: str, message: str) -> None:
    with pytest.raises(VisionDeskError, match=message) as err:
        make_code(data, kind)
    assert "\n" not in str(err.value)
