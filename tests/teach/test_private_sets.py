"""Teach sets, projects and taught models are the user's alone: folders 0700, files 0600, whatever the umask.

Real captures from real clips and a real (quick) training; modes are read from
the files on disk with a umask of 0, so only the code's own chmod makes them private.
"""

from __future__ import annotations

import stat
from pathlib import Path

import cv2

from tests.media import skimage_bgr
from tests.teach_media import SIZE
from vision_desk.teach.capture import capture
from vision_desk.teach.dataset import teach_root
from vision_desk.teach.project import create_project, open_project
from vision_desk.teach.train import TrainOptions, train


def modes(root: Path) -> dict[str, int]:
    """Every folder and file under ``root`` (itself included) with its permission bits."""
    return {p.relative_to(root.parent).as_posix(): stat.S_IMODE(p.stat().st_mode) for p in (root, *root.rglob("*"))}


def loose(root: Path) -> list[str]:
    """What under ``root`` others may read, or that is not the user's folder (0700) or file (0600)."""
    return [name for name, mode in modes(root).items() if mode != (0o700 if (root.parent / name).is_dir() else 0o600)]


def test_captured_samples_and_the_taught_model_are_private(tmp_path, teach_clips, permissive_umask):
    dataset = tmp_path / "set"
    old = dataset / "astronaut" / "old.jpg"  # a set made before sets were private, readable by everyone
    old.parent.mkdir(parents=True)
    cv2.imwrite(str(old), skimage_bgr("astronaut"))
    for path in (dataset, old.parent, old):
        path.chmod(0o777 if path.is_dir() else 0o666)

    for name in ("astronaut", "cat"):
        assert capture(str(teach_clips[name][0]), dataset, name, every=10) == 6
    assert len(list(dataset.rglob("*.jpg"))) == 13
    assert loose(dataset) == []

    model = tmp_path / "models" / "mine"
    train(dataset, model, TrainOptions(mode="quick", backbone="resnet18", pretrained=False, size=SIZE, epochs=3))
    assert {p.name for p in model.iterdir()} >= {"model.pt", "model.onnx", "teach.json", "labels.txt"}
    assert loose(model) == [] and loose(tmp_path / "models") == []


def test_projects_are_made_private_and_old_ones_are_tightened_when_opened(tmp_path, permissive_umask):
    root = teach_root()
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    project = create_project(root, "Mugs")
    assert loose(project.folder) == []

    project.samples.add_class("blue")
    (project.samples.root / "blue" / "a.jpg").write_bytes(b"an image")  # written by hand, as another tool would
    for path in (project.folder, project.samples.root, project.samples.root / "blue"):
        path.chmod(0o755)
    assert len(loose(project.folder)) == 4
    root.chmod(0o755)
    assert open_project(teach_root(), "Mugs").folder == project.folder
    assert loose(project.folder) == [] and stat.S_IMODE(root.stat().st_mode) == 0o700
