"""Fixtures for the artistic stages: a small colorization network the tests build, real photos, a static clip."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.media import skimage_bgr, write_clip
from vision_desk.benchmarks.media import read_frames
from vision_desk.stages.artistic.caffe_write import write_tiny_colorization

#: The constant colour the "constant" network predicts everywhere (Lab a, b).
CONSTANT_AB = (40.0, -30.0)


@pytest.fixture(scope="session")
def tiny_colorization(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Seeded random weights and 313 random cluster centres: varied, deterministic colours."""
    pts = np.random.default_rng(1).normal(0, 30, (313, 2))
    return write_tiny_colorization(tmp_path_factory.mktemp("tiny_colorization"), pts, gain=20.0)


@pytest.fixture(scope="session")
def constant_colorization(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """313 identical cluster centres: the softmax-weighted mean is CONSTANT_AB whatever the input."""
    pts = np.tile(np.array([CONSTANT_AB]), (313, 1))
    return write_tiny_colorization(tmp_path_factory.mktemp("constant_colorization"), pts)


def colorize_params(files: dict[str, Path], **extra: object) -> dict[str, object]:
    return {"model": str(files["caffemodel"]), "prototxt": str(files["prototxt"]), "points": str(files["points"]), **extra}


@pytest.fixture(scope="session")
def painting_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A painting-like picture: scikit-image's rocket photo through OpenCV's edge-preserving stylization."""
    path = tmp_path_factory.mktemp("style") / "painting.png"
    cv2.imwrite(str(path), cv2.stylization(skimage_bgr("rocket"), sigma_s=60, sigma_r=0.45))
    return path


@pytest.fixture(scope="session")
def static_clip(media_dir: Path) -> Path:
    """20 frames of one real photo (coffee, 320x240) with fresh sensor-like noise each frame, H.264 encoded."""
    rng = np.random.default_rng(0)
    base = cv2.resize(skimage_bgr("coffee"), (320, 240), interpolation=cv2.INTER_AREA)
    frames = [np.clip(base + rng.normal(0, 4, base.shape), 0, 255).astype(np.uint8) for _ in range(20)]
    return write_clip(media_dir / "static_coffee.mp4", frames)


def run_frames(stage_id: str, params: dict, frames: list[np.ndarray]) -> list[np.ndarray]:
    """One stage instance (set up once) over the frames in order; the processed images."""
    from vision_desk.engine.frame import Frame
    from vision_desk.engine.stage import stage_class

    cls = stage_class(stage_id)
    stage = cls(cls.Params(**params))
    stage.setup()
    out = []
    for i, image in enumerate(frames):
        frame = Frame(image.copy(), i, i / 30)
        stage.process(frame)
        out.append(frame.image)
    return out


def engine_outputs(clip: Path, stage_id: str, params: dict, frames: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(decoded original, processed image) pairs from a real engine run of one stage over the clip."""
    from vision_desk.engine.pipeline import Pipeline, spec_from_dict
    from vision_desk.engine.runner import Engine

    spec = spec_from_dict({"stages": [{"stage": stage_id, "params": params}]})
    done: dict[int, np.ndarray] = {}
    engine = Engine(str(clip), Pipeline(spec), live=False, annotate=False, max_frames=frames,
                    on_frame=lambda f: done.__setitem__(f.index, f.image.copy()))
    stats = engine.run()
    assert engine.error is None and stats.frames_out == frames
    originals = read_frames(clip)
    return [(originals[i], image) for i, image in sorted(done.items())]
