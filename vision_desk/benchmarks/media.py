"""Benchmark media: a real photo panned at the requested size (encoded to H.264 once), and hand-held views of a
photo (for teaching)."""

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


def handheld_frames(photo: np.ndarray, n: int, seed: int, size: tuple[int, int] = (320, 240)) -> list[np.ndarray]:
    """A hand-held camera looking at a photo: each frame a view 55-90% of it wide, drifting, turning and
    changing brightness a little, as a user pointing a webcam at an object would capture it."""
    rng = np.random.default_rng(seed)
    h, w = photo.shape[:2]
    frames = []
    scale, cx, cy, angle, gain = 0.75, w / 2, h / 2, 0.0, 1.0
    for _ in range(n):
        scale = float(np.clip(scale + rng.normal(0, 0.03), 0.55, 0.9))
        cx = float(np.clip(cx + rng.normal(0, w * 0.02), w * scale / 2, w - w * scale / 2))
        cy = float(np.clip(cy + rng.normal(0, h * 0.02), h * scale / 2, h - h * scale / 2))
        angle = float(np.clip(angle + rng.normal(0, 1.5), -10, 10))
        gain = float(np.clip(gain + rng.normal(0, 0.03), 0.8, 1.2))
        view_w = w * scale
        turn = cv2.getRotationMatrix2D((cx, cy), angle, size[0] / view_w)
        turn[:, 2] += (size[0] / 2 - cx, size[1] / 2 - cy)
        frame = cv2.warpAffine(photo, turn, size, borderMode=cv2.BORDER_REFLECT)
        frames.append(np.clip(frame.astype(np.float32) * gain, 0, 255).astype(np.uint8))
    return frames
