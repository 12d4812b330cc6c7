"""Helpers shared by the face tests."""

from __future__ import annotations

import numpy as np

#: The astronaut's face in scikit-image's astronaut() (x1, y1, x2, y2), measured once by eye on a
#: pixel grid: bangs line to chin, cheek to cheek at eye level. MTCNN finds (181, 62, 268, 172): IoU 0.79.
ASTRONAUT_FACE = (184, 74, 271, 178)
#: The name the session gallery enrols the astronaut (Eileen Collins) under.
ASTRONAUT = "Eileen Collins"


def run_stages(stages: list[dict], image: np.ndarray, frames: int = 1):
    """Runs a pipeline over the same image a few times; returns the last Frame."""
    from vision_desk.engine.frame import Frame
    from vision_desk.engine.pipeline import Pipeline, spec_from_dict

    pipeline = Pipeline(spec_from_dict({"stages": stages}))
    pipeline.setup()
    frame = None
    for i in range(frames):
        frame = pipeline.process(Frame(image.copy(), i, i / 30))
    pipeline.close()
    return frame


def grown(box, frac: float, shape) -> tuple[int, int, int, int]:
    """A box grown by frac of its size on each side, clipped to an image of shape (h, w, ...)."""
    x1, y1, x2, y2 = box
    dx, dy = frac * (x2 - x1), frac * (y2 - y1)
    return (int(max(0, x1 - dx)), int(max(0, y1 - dy)), int(min(shape[1], x2 + dx + 1)), int(min(shape[0], y2 + dy + 1)))


def outside_mask(shape, boxes, frac: float = 0.0) -> np.ndarray:
    """True where a pixel lies outside every (grown) box."""
    mask = np.ones(shape[:2], bool)
    for box in boxes:
        x1, y1, x2, y2 = grown(box, frac, shape)
        mask[y1:y2, x1:x2] = False
    return mask
