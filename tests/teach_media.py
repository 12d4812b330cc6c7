"""Teach sets captured through the engine from clips of real photos, and a model taught on them.

Tests cannot download ImageNet weights, so the models here start from untrained
torchvision weights (``pretrained=False``). Quick mode then fits its head to
random convolutional features, which still separate three distinct photos
(measured: 1.0 held-out accuracy, and the standardised head makes that hold
for every backbone); the pretrained path differs only in where the body's
weights come from.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.media import skimage_bgr, write_clip

#: The three classes: distinct real photos (scikit-image).
PHOTOS = {"astronaut": "astronaut", "cat": "chelsea", "coffee": "coffee"}
CLIP_SIZE = (320, 240)
#: A small input keeps training within seconds on two cores; the photos are distinct enough at this size.
SIZE = 96


def handheld_frames(photo: np.ndarray, n: int, seed: int, size: tuple[int, int] = CLIP_SIZE) -> list[np.ndarray]:
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


@pytest.fixture(scope="session")
def teach_clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """Per class: a clip to capture training samples from, and a held-out clip (another hand-held take)."""
    folder = tmp_path_factory.mktemp("teach-clips")
    clips = {}
    for k, (name, photo) in enumerate(PHOTOS.items()):
        image = skimage_bgr(photo)
        clips[name] = (write_clip(folder / f"{name}-train.mp4", handheld_frames(image, 60, seed=k)),
                       write_clip(folder / f"{name}-held.mp4", handheld_frames(image, 30, seed=100 + k)))
    return clips


@pytest.fixture(scope="session")
def captured_sets(tmp_path_factory: pytest.TempPathFactory, teach_clips: dict[str, tuple[Path, Path]]) -> tuple[Path, Path]:
    """(training set, held-out set) captured through the engine's sources: every 2nd frame of each clip."""
    from vision_desk.teach.capture import capture

    root = tmp_path_factory.mktemp("teach-sets")
    for name, (train_clip, held_clip) in teach_clips.items():
        capture(str(train_clip), root / "train", name, every=2)
        capture(str(held_clip), root / "held", name, every=2)
    return root / "train", root / "held"


@pytest.fixture(scope="session")
def taught_model(tmp_path_factory: pytest.TempPathFactory, captured_sets: tuple[Path, Path]) -> Path:
    """A quick-mode model of astronaut, cat and coffee (ResNet-18 body, untrained weights, 96 px)."""
    from vision_desk.teach.train import TrainOptions, train

    out = tmp_path_factory.mktemp("taught") / "model"
    train(captured_sets[0], out, TrainOptions(mode="quick", backbone="resnet18", pretrained=False, size=SIZE))
    return out
