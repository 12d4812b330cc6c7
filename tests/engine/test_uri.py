from __future__ import annotations

import pytest

from tests.media import ultralytics_asset
from vision_desk.engine.uri import mask_uri, parse_uri
from vision_desk.errors import SourceError


@pytest.mark.parametrize(
    "uri, kind, target",
    [
        ("0", "webcam", "0"),
        ("cam:2?width=1280&height=720", "webcam", "2"),
        ("rtsp://cam.local:554/stream1", "stream", "rtsp://cam.local:554/stream1"),
        ("https://example.org/live.m3u8", "stream", "https://example.org/live.m3u8"),
        ("screen:", "screen", "1"),
        ("screen:2?fps=5", "screen", "2"),
        ("demo:", "demo", ""),
    ],
)
def test_parse_kinds(uri: str, kind: str, target: str) -> None:
    parsed = parse_uri(uri)
    assert (parsed.kind, parsed.target) == (kind, target)


def test_parse_paths(tmp_path, clip_300) -> None:
    assert parse_uri(str(clip_300)).kind == "file"
    assert parse_uri(str(ultralytics_asset("bus.jpg"))).kind == "image"
    assert parse_uri(str(tmp_path)).kind == "images"
    assert parse_uri(str(ultralytics_asset("bus.jpg").parent / "*.jpg")).kind == "images"
    assert parse_uri("cam:0?fps=15").options == {"fps": "15"}


@pytest.mark.parametrize("uri", ["", "/no/such/file.mp4", "cam:abc", "/no/such/*.jpg"])
def test_parse_errors_are_one_sentence(uri: str) -> None:
    with pytest.raises(SourceError) as err:
        parse_uri(uri)
    assert "\n" not in str(err.value) and str(err.value).endswith(".")


@pytest.mark.parametrize(
    "raw, masked",
    [
        ("rtsp://admin:hunter2@10.0.0.5:554/h264", "rtsp://***:***@10.0.0.5:554/h264"),
        ("rtsp://admin@10.0.0.5/h264", "rtsp://***:***@10.0.0.5/h264"),
        ("http://cam/video?user=bob&password=hunter2", "http://cam/video?user=bob&password=***"),
        ("rtsp://10.0.0.5/h264", "rtsp://10.0.0.5/h264"),
        ("/videos/a.mp4", "/videos/a.mp4"),
    ],
)
def test_mask_uri(raw: str, masked: str) -> None:
    assert mask_uri(raw) == masked
    assert "hunter2" not in mask_uri(raw)
