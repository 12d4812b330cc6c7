"""Web video sources against a real web site on 127.0.0.1: pages, HLS VOD and live playlists, expiring links, errors.

yt-dlp resolves every page here for real (its generic extractor: ``<video>``,
Open Graph tags, HLS playlists) and FFmpeg reads what it found; nothing leaves
this machine.
"""

from __future__ import annotations

import time
from pathlib import Path

import av
import numpy as np
import pytest

from vision_desk.benchmarks.servers.rtsp import free_port
from tests.servers.web_video import WebVideoHandler
from vision_desk.engine.pipeline import Pipeline
from vision_desk.engine.runner import Engine
from vision_desk.engine.sources import SourceState, open_source
from vision_desk.engine.sources.web import WebSource
from vision_desk.errors import SourceError


@pytest.fixture
def site(web_site):  # noqa: ANN001, ANN201 - tests/engine/conftest.py's site: (base URL, folder, frame counts)
    return web_site


@pytest.fixture
def base(web_base: str) -> str:
    return web_base


def run_all(uri: str) -> tuple[list, Engine]:
    frames: list = []
    engine = Engine(uri, Pipeline(), on_frame=frames.append, annotate=False)
    engine.run()
    return frames, engine


def decoded(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]


def wait_for(condition, timeout: float = 30.0) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


@pytest.mark.parametrize("page", ["video.html", "og.html"])
def test_a_page_with_a_video_gives_every_frame_of_it_lossless(site, base: str, page: str) -> None:
    frames, engine = run_all(f"{base}/{page}")
    clip = decoded(site[1] / "clip.mp4")
    assert len(frames) == len(clip) == site[2]["clip"]
    assert engine.source.live is False and engine.capture.live is False and engine.stats().dropped == 0
    assert [f.index for f in frames] == list(range(len(clip)))
    assert np.array_equal(frames[0].image, clip[0]) and np.array_equal(frames[-1].image, clip[-1])
    assert frames[-1].timestamp == pytest.approx((len(clip) - 1) / 10, abs=1e-3)  # the clip's own times
    assert engine.source.status.state is SourceState.ENDED


def test_an_hls_vod_playlist_gives_every_frame_lossless(site, base: str) -> None:
    frames, engine = run_all(f"{base}/hls/v180/index.m3u8")
    assert len(frames) == site[2]["hls"]
    assert engine.capture.live is False and engine.source.frame_count == site[2]["hls"]
    assert frames[0].image.shape == (180, 320, 3)


@pytest.mark.parametrize("height, lines", [(None, 360), (400, 360), (360, 360), (200, 180), (100, 180)])
def test_height_picks_the_rendition_of_a_master_playlist(base: str, height: int | None, lines: int) -> None:
    """The highest rendition up to ?height=, the smallest when none is that small, the highest without it."""
    source = open_source(f"{base}/hls/master.m3u8" + (f"?height={height}" if height else ""))
    assert isinstance(source, WebSource) and source.uri.target == f"{base}/hls/master.m3u8"
    source.open()
    try:
        image, _ = source.read()
        assert image.shape[0] == lines and source.resolved.height == lines and source.size[1] == lines
    finally:
        source.close()


def test_a_live_hls_playlist_is_read_live(base: str) -> None:
    frames: list = []
    engine = Engine(f"{base}/live/index.m3u8", Pipeline(), on_frame=frames.append, annotate=False).start()
    try:
        assert wait_for(lambda: len(frames) >= 20), f"only {len(frames)} frames from the live playlist"
        assert engine.source.resolved.is_live is True and engine.source.live is True
        assert engine.capture.live is True and engine.pipeline.live is True  # newest frame only, stages async
        assert engine.source.status.state is SourceState.RUNNING
    finally:
        engine.stop()
        assert engine.join(15)
    assert engine.error is None


def test_an_expired_live_link_is_resolved_again_on_reconnect(base: str) -> None:
    frames: list = []
    engine = Engine(f"{base}/expiring/live/index.m3u8", Pipeline(), on_frame=frames.append, annotate=False).start()
    try:
        assert wait_for(lambda: len(frames) >= 5)
        assert engine.source.resolutions == 1
        WebVideoHandler.expire()  # the stream URL the page gave stops working, as YouTube's do after hours
        assert wait_for(lambda: engine.source.status.reconnects >= 1)
        assert wait_for(lambda: engine.source.status.state is SourceState.RUNNING and engine.source.resolutions >= 2)
        after = len(frames)
        assert wait_for(lambda: len(frames) >= after + 10), "no frames after resolving the page again"
        assert any(r.startswith(f"/t{WebVideoHandler.valid_from}/live/") for r in WebVideoHandler.requests)
    finally:
        engine.stop()
        assert engine.join(15)
    assert engine.error is None


def test_a_lossless_video_cut_short_goes_on_after_its_last_frame(site, base: str) -> None:
    """FFmpeg skips HLS segments it cannot fetch; the source notices, resolves again and loses no frame."""
    source = open_source(f"{base}/expiring/hls/v180/index.m3u8")
    source.open()
    times = []
    try:
        while (got := source.read()) is not None:
            times.append(got[1])
            if len(times) == 8:
                WebVideoHandler.expire()  # segments from the third on can no longer be fetched with this link
    finally:
        source.close()
    assert len(times) == site[2]["hls"]
    assert np.allclose(np.diff(times), 0.1, atol=1e-3)  # every frame once, in order
    assert source.status.reconnects == 1 and source.resolutions == 2 and source.status.state is SourceState.ENDED


def assert_one_sentence(message: str, url_shown: str) -> None:
    assert url_shown in message
    assert "\n" not in message and message.endswith(".")
    for noise in ("Traceback", "ERROR", "yt_dlp", "Errno", "HTTPConnection", "caused by"):
        assert noise not in message
    assert len(message) < 240


@pytest.mark.parametrize("path, words", [
    ("novideo.html", "no video found at"),
    ("missing.html", "answered HTTP 404"),
    ("dash/manifest.mpd", "only as DASH"),
])
def test_a_page_without_a_video_fails_with_one_sentence(base: str, path: str, words: str) -> None:
    url = base.replace("http://", "http://viewer:s3cret@") + f"/{path}?token=abc"
    with pytest.raises(SourceError) as err:
        run_all(f"web:{url}")
    message = str(err.value)
    assert_one_sentence(message, f"{base.replace('http://', 'http://***:***@')}/{path}?token=***")
    assert words in message and "s3cret" not in message and "abc" not in message


def test_a_dead_host_fails_with_one_sentence() -> None:
    url = f"http://127.0.0.1:{free_port()}/watch?v=abc"
    engine = Engine(url, Pipeline())
    with pytest.raises(SourceError) as err:
        engine.run()
    assert_one_sentence(str(err.value), url)
    assert str(err.value).startswith(f"cannot reach {url}")
    assert engine.source.status.state is SourceState.FAILED and engine.source.status.reconnects == 0


def test_resolving_prints_nothing_and_writes_no_file(base: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capfd: pytest.CaptureFixture) -> None:
    """No console output (yt-dlp's or FFmpeg's), no cache, cookie or download file anywhere it could write one."""
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir(), work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.chdir(work)
    capfd.readouterr()
    for page in ("video.html", "hls/master.m3u8?height=200", "live/index.m3u8"):
        source = open_source(f"{base}/{page}")
        source.open()
        for _ in range(5):
            assert source.read() is not None
        source.close()
    with pytest.raises(SourceError):
        open_source(f"{base}/novideo.html").open()
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")
    assert list(home.rglob("*")) == [] and list(work.rglob("*")) == []
