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

import pytest

from tests.media import skimage_bgr, write_clip
from vision_desk.benchmarks.media import handheld_frames

#: The three classes: distinct real photos (scikit-image).
PHOTOS = {"astronaut": "astronaut", "cat": "chelsea", "coffee": "coffee"}
#: A small input keeps training within seconds on two cores; the photos are distinct enough at this size.
SIZE = 96


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


@pytest.fixture(scope="session")
def fully_taught_model(tmp_path_factory: pytest.TempPathFactory, captured_sets: tuple[Path, Path]) -> Path:
    """The same classes in full mode: the whole ResNet-18 trained (from untrained weights, 64 px, 10 epochs)."""
    from vision_desk.teach.train import TrainOptions, train

    out = tmp_path_factory.mktemp("fully-taught") / "model"
    train(captured_sets[0], out, TrainOptions(mode="full", backbone="resnet18", pretrained=False, size=64, epochs=10))
    return out
