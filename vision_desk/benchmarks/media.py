"""Benchmark clips: a real photo panned at the requested size, encoded to H.264 once."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np


def make_clip(path: Path, width: int, height: int, frames: int, fps: int = 30) -> Path:
    if path.exists():
        return path
    import av
    from skimage import data

    photo = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    src = cv2.resize(photo, (width + frames + 1, height + frames // 2 + 1))
    part = path.with_name(path.stem + ".part.mp4")
    with av.open(str(part), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "23"}
        for i in range(frames):
            img = np.ascontiguousarray(src[i // 2 : i // 2 + height, i : i + width])
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    part.replace(path)
    return path


def read_frames(path: Path) -> list[np.ndarray]:
    """Every frame of a video file, decoded with OpenCV (BGR)."""
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    frames = []
    while True:
        ok, image = cap.read()
        if not ok:
            break
        frames.append(image)
    cap.release()
    return frames
