"""A small video web site on 127.0.0.1 for the web-video tests: pages, HLS playlists, live HLS, expiring links.

:func:`build_site` writes the files (from real clips encoded by the test) and
:class:`WebVideoHandler` adds to the plain file routes of
:class:`~tests.servers.http_files.FileHandler`:

- ``/live/index.m3u8``: a live HLS playlist, a window of three segments that
  slides on one segment per segment length since the server started, with no
  ``#EXT-X-ENDLIST`` (more segments are "broadcast" as time goes on).
- ``/expiring/PATH``: a redirect to ``/tN/PATH`` with a fresh token N, as sites
  hand out stream URLs that expire; ``/tN/PATH`` serves PATH while N is at
  least ``WebVideoHandler.valid_from`` and answers 403 once it is older.
- ``/slow/PATH``: PATH, once ``WebVideoHandler.gate`` is set (a site that
  takes its time, however fast the machine).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np

from tests.media import encode_frames, panning_frames, write_clip, write_hls
from tests.servers.http_files import FileHandler

LIVE_WINDOW = 3
SEGMENT_S = 0.5
FPS = 10


class WebVideoHandler(FileHandler):
    started = time.monotonic()
    live_segments = 0  # how many segments the live folder holds
    tokens = 0  # the newest token handed out
    valid_from = 0  # tokens older than this are expired
    gate = threading.Event()
    lock = threading.Lock()

    @classmethod
    def reset(cls, live_segments: int) -> None:
        cls.started, cls.live_segments, cls.tokens, cls.valid_from = time.monotonic(), live_segments, 0, 0
        cls.gate = threading.Event()

    @classmethod
    def expire(cls) -> None:
        """Every token handed out so far stops working (the next redirect hands out a good one)."""
        with cls.lock:
            cls.valid_from = cls.tokens + 1

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        path = self.path.split("?", 1)[0]
        head, _, rest = path.lstrip("/").partition("/")
        if head == "expiring":
            type(self).requests.append(self.path)
            with type(self).lock:
                type(self).tokens += 1
                token = type(self).tokens
            self.send_response(302)
            self.send_header("Location", f"/t{token}/{rest}")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path.endswith("/live/index.m3u8"):
            if not self._token_ok(head):
                return
            type(self).requests.append(self.path)
            self._send(live_playlist(time.monotonic() - type(self).started, type(self).live_segments).encode(),
                       "application/vnd.apple.mpegurl")
        elif head == "slow":
            type(self).requests.append(self.path)
            type(self).gate.wait(60)
            self.path = "/" + rest
            super().do_GET()
        elif head.startswith("t") and head[1:].isdigit():
            if self._token_ok(head):
                self.path = "/" + rest
                super().do_GET()
        else:
            super().do_GET()

    def _token_ok(self, head: str) -> bool:
        if not (head.startswith("t") and head[1:].isdigit()) or int(head[1:]) >= type(self).valid_from:
            return True
        type(self).requests.append(self.path)
        self.send_error(403, "link expired")
        return False

    def _send(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def live_playlist(elapsed: float, segments: int) -> str:
    """The live window at ``elapsed`` seconds: the newest LIVE_WINDOW segments broadcast so far, no end."""
    newest = min(segments - 1, LIVE_WINDOW - 1 + int(elapsed / SEGMENT_S))
    first = max(0, newest - LIVE_WINDOW + 1)
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{int(np.ceil(SEGMENT_S))}", f"#EXT-X-MEDIA-SEQUENCE:{first}"]
    for n in range(first, newest + 1):
        lines += [f"#EXTINF:{SEGMENT_S:.3f},", f"seg{n:03d}.ts"]
    return "\n".join(lines) + "\n"


def build_site(folder: Path) -> dict[str, int]:
    """Writes the site's files under folder; returns the frame counts of what it serves.

    - ``clip.mp4`` (20 frames, 320x180) and three pages: ``video.html`` (a ``<video>`` element),
      ``og.html`` (Open Graph ``og:video`` tags) and ``novideo.html`` (text only);
    - ``hls/master.m3u8``: a VOD master playlist with two renditions of the same 30 frames,
      ``hls/v180`` (320x180) and ``hls/v360`` (640x360), in 0.5 s segments;
    - ``live/``: 40 segments (200 frames, 320x180) for the live playlist;
    - ``dash/manifest.mpd``: the clip as DASH (FFmpeg's DASH muxer).
    """
    frames = panning_frames(30, (320, 180))
    write_clip(folder / "clip.mp4", frames[:20], fps=FPS)
    (folder / "video.html").write_text(
        "<!DOCTYPE html><html><head><title>A clip</title></head><body><h1>A clip</h1>"
        '<video controls width="320" height="180"><source src="clip.mp4" type="video/mp4"></video></body></html>')
    (folder / "og.html").write_text(
        '<!DOCTYPE html><html><head><title>A clip</title><meta property="og:video:type" content="video/mp4">'
        '<meta property="og:video" content="clip.mp4"></head><body><p>A clip.</p></body></html>')
    (folder / "novideo.html").write_text(
        "<!DOCTYPE html><html><head><title>News</title></head><body><p>Nothing to watch here.</p></body></html>")
    write_hls(folder / "hls" / "v180", frames, fps=FPS, segment_s=SEGMENT_S)
    write_hls(folder / "hls" / "v360", [cv2.resize(f, (640, 360)) for f in frames], fps=FPS, segment_s=SEGMENT_S)
    (folder / "hls" / "master.m3u8").write_text(
        "#EXTM3U\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=300000,RESOLUTION=320x180\nv180/index.m3u8\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=900000,RESOLUTION=640x360\nv360/index.m3u8\n")
    live = panning_frames(200, (320, 180))
    write_hls(folder / "live", live, fps=FPS, segment_s=SEGMENT_S, playlist="vod.m3u8")
    encode_frames(folder / "dash" / "manifest.mpd", frames[:10], FPS, format="dash", options={"seg_duration": "1"})
    return {"clip": 20, "hls": len(frames), "live_segments": len(list((folder / "live").glob("seg*.ts")))}
