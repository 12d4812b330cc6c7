from __future__ import annotations

import pytest

from tests.media import ultralytics_asset
from vision_desk.engine.uri import mask_uri, parse_uri, web_uri
from vision_desk.errors import SourceError


@pytest.mark.parametrize(
    "uri, kind, target",
    [
        ("0", "webcam", "0"),
        ("cam:2?width=1280&height=720", "webcam", "2"),
        ("rtsp://cam.local:554/stream1", "stream", "rtsp://cam.local:554/stream1"),
        ("https://example.org/live.m3u8", "web", "https://example.org/live.m3u8"),
        ("http://cam.local/axis-cgi/mjpg/video.cgi", "stream", "http://cam.local/axis-cgi/mjpg/video.cgi"),
        ("http://u:p@cam.local/video.mjpg", "stream", "http://u:p@cam.local/video.mjpg"),
        ("https://example.org/media/clip.mp4", "stream", "https://example.org/media/clip.mp4"),
        ("https://www.youtube.com/watch?v=aqz-KE-bpKQ", "web", "https://www.youtube.com/watch?v=aqz-KE-bpKQ"),
        ("web:https://example.org/media/clip.mp4", "web", "https://example.org/media/clip.mp4"),
        ("web:youtu.be/aqz-KE-bpKQ", "web", "https://youtu.be/aqz-KE-bpKQ"),
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


def test_web_options_leave_the_sites_own_query_as_it_was() -> None:
    parsed = parse_uri("https://www.youtube.com/watch?v=aqz-KE-bpKQ&t=30&height=720")
    assert (parsed.kind, parsed.options) == ("web", {"height": "720"})
    assert parsed.target == "https://www.youtube.com/watch?v=aqz-KE-bpKQ&t=30"
    signed = parse_uri("https://cdn.example.org/v/index.m3u8?height=480&Signature=a%2Fb~c&Key-Pair-Id=K")
    assert signed.target == "https://cdn.example.org/v/index.m3u8?Signature=a%2Fb~c&Key-Pair-Id=K"
    assert web_uri("https://www.youtube.com/watch?v=x", 720) == "web:https://www.youtube.com/watch?v=x&height=720"
    assert web_uri("web:https://example.org/live.m3u8", 0) == "web:https://example.org/live.m3u8"
    assert parse_uri(web_uri("https://example.org/page", 360)).options == {"height": "360"}


def test_stream_timeouts_are_taken_out_of_the_url_and_the_rest_of_its_query_stays() -> None:
    parsed = parse_uri("rtsp://u:p@cam.local:554/stream1?open_timeout=2&read_timeout=0.5")
    assert (parsed.kind, parsed.target) == ("stream", "rtsp://u:p@cam.local:554/stream1")
    assert parsed.options == {"open_timeout": "2", "read_timeout": "0.5"}
    cgi = parse_uri("http://cam.local/video.cgi?resolution=640x480&open_timeout=3&sig=a%2Fb~c")
    assert (cgi.target, cgi.options) == ("http://cam.local/video.cgi?resolution=640x480&sig=a%2Fb~c", {"open_timeout": "3"})
    plain = "rtsp://cam.local/live?channel=1&subtype=0"
    assert (parse_uri(plain).target, parse_uri(plain).options) == (plain, {})
    web = parse_uri("https://www.youtube.com/watch?v=x&read_timeout=20&height=720")
    assert (web.target, web.options) == ("https://www.youtube.com/watch?v=x", {"read_timeout": "20", "height": "720"})
    with pytest.raises(SourceError) as err:
        parse_uri("rtsp://admin:hunter2@cam/x?open_timeout=soon")
    assert str(err.value) == "rtsp://***:***@cam/x?open_timeout=soon: open_timeout must be a number of seconds, e.g. ?open_timeout=5."


@pytest.mark.parametrize("uri", ["", "/no/such/file.mp4", "cam:abc", "/no/such/*.jpg", "web:ftp://example.org/x",
                                 "https://example.org/watch?v=x&height=hd", "rtsp://cam/x?open_timeout=soon",
                                 "rtsp://cam/x?read_timeout=0", "web:https://example.org/v?open_timeout=-1"])
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
        ("web:https://bob:hunter2@example.org/v?token=hunter2", "web:https://***:***@example.org/v?token=***"),
        ("rtsp://10.0.0.5/h264", "rtsp://10.0.0.5/h264"),
        ("/videos/a.mp4", "/videos/a.mp4"),
    ],
)
def test_mask_uri(raw: str, masked: str) -> None:
    assert mask_uri(raw) == masked
    assert "hunter2" not in mask_uri(raw)


@pytest.mark.parametrize(
    "uri, stem",
    [
        ("/videos/yard.mp4", "yard"),
        ("/photos/", "photos"),
        ("/photos/*.png?fps=5", "photos"),
        ("cam:0?width=1280", "cam-0-width-1280"),
        ("demo:", "demo"),
        ("rtsp://admin:hunter2@10.0.0.5:554/h264", "10-0-0-5-554-h264"),
        ("http://cam/video?user=bob&password=hunter2", "cam-video-user-bob-password"),
        ("web:https://www.youtube.com/watch?v=abc", "www-youtube-com-watch-v-abc"),
    ],
)
def test_source_stem_names_files_after_a_source_without_its_credentials(uri: str, stem: str) -> None:
    from vision_desk.engine.uri import source_stem

    assert source_stem(uri) == stem
    assert "hunter2" not in source_stem(uri) and "admin" not in source_stem(uri)
