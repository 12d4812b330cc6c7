"""Real test media: clips encoded with FFmpeg (PyAV) from real photos, and the photos themselves."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np


def ultralytics_asset(name: str) -> Path:
    """Path of bus.jpg or zidane.jpg as shipped inside the ultralytics package."""
    import ultralytics

    return Path(ultralytics.__file__).parent / "assets" / name


def skimage_bgr(name: str) -> np.ndarray:
    """A scikit-image sample image as BGR uint8."""
    from skimage import data

    image = getattr(data, name)()
    return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR if image.ndim == 2 else cv2.COLOR_RGB2BGR)


def write_clip(path: Path, frames: list[np.ndarray] | np.ndarray, fps: float = 30.0, codec: str = "libx264",
               gop: int | None = None) -> Path:
    """Encodes BGR frames to an H.264 MP4 (moov at the end, as most cameras write it); ``gop``: a keyframe every N."""
    keyframes = {"g": str(gop), "keyint_min": str(gop), "sc_threshold": "0"} if gop else None
    return encode_frames(path, frames, fps, codec=codec, stream_options=keyframes)


def encode_frames(path: Path, frames: list[np.ndarray] | np.ndarray, fps: float, *, codec: str = "libx264",
                  format: str | None = None, options: dict[str, str] | None = None,
                  stream_options: dict[str, str] | None = None) -> Path:
    """Encodes BGR frames with FFmpeg (PyAV) into ``path`` in ``format`` (by default the one its name says)."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w", format=format, options=options or {}) as container:
        stream = container.add_stream(codec, rate=Fraction(fps).limit_denominator(1001), options=stream_options or {})
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        for image in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="bgr24")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def moving_object_frames(n: int, size: tuple[int, int] = (640, 360), background: np.ndarray | None = None,
                         radius: int = 30, speed: int = 6, start: int = 60) -> tuple[list[np.ndarray], list[tuple[int, int]]]:
    """A real photo as a static background with one red disc moving left to right; returns frames and centres."""
    w, h = size
    bg = cv2.resize(background if background is not None else skimage_bgr("coffee"), (w, h))
    frames, centres = [], []
    for i in range(n):
        cx, cy = start + i * speed, h // 2
        img = bg.copy()
        if 0 <= cx < w:
            cv2.circle(img, (cx, cy), radius, (30, 30, 220), -1, cv2.LINE_AA)
        frames.append(img)
        centres.append((cx, cy))
    return frames, centres


def panning_frames(n: int, size: tuple[int, int] = (1280, 720), image: np.ndarray | None = None) -> list[np.ndarray]:
    """A real photo panned slowly: natural texture and motion in every frame (for stage smoke runs)."""
    w, h = size
    src = cv2.resize(image if image is not None else skimage_bgr("astronaut"), (w + n * 2 + 2, h + n + 1))
    return [np.ascontiguousarray(src[i // 2 : i // 2 + h, i * 2 : i * 2 + w]) for i in range(n)]


def write_hls(folder: Path, frames: list[np.ndarray], fps: float = 10.0, segment_s: float = 0.5,
              playlist: str = "index.m3u8") -> Path:
    """Encodes BGR frames to an HLS VOD (FFmpeg's HLS muxer: MPEG-TS segments, one key frame per segment)."""
    gop = str(max(1, round(fps * segment_s)))
    options = {"hls_time": str(segment_s), "hls_playlist_type": "vod", "hls_segment_filename": str(folder / "seg%03d.ts")}
    folder.mkdir(parents=True, exist_ok=True)
    return encode_frames(folder / playlist, frames, fps, format="hls", options=options,
                         stream_options={"g": gop, "keyint_min": gop, "sc_threshold": "0"})
