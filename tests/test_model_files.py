"""Model files are loaded as weights only: a tampered file's code never runs, and the user gets one sentence.

The tampered files are real PyTorch checkpoints with a pickled object whose
``__reduce__`` calls ``print`` with a marker (harmless, and visible on the
captured output if it ever ran). Every loader that reads ``.pt``/``.pth`` files
is tried: the FaceNet weights, the teach backbones, taught models, fast style
models, and Ultralytics YOLO checkpoints (through Ultralytics' own safe load).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import pytest
import torch

from vision_desk.errors import VisionDeskError
from vision_desk.models import entry

MARKER = "TAMPERED-FILE-CODE-RAN"


class _Payload:
    """Pickles as a call to print(MARKER): what a tampered checkpoint would do with something worse."""

    def __reduce__(self):  # noqa: ANN204 - pickle's protocol
        return print, (MARKER,)


def tampered(path: Path) -> Path:
    """A checkpoint with real tensors and the payload beside them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": {"weight": torch.zeros(3)}, "model": _Payload(), "arch": "resnet18", "classes": 2}, path)
    return path


def test_the_tampered_file_would_run_its_code_if_loaded_unsafely(tmp_path, capfd) -> None:
    """The control: an unrestricted unpickler runs the payload, so the tests below can see it if it runs."""
    torch.load(tampered(tmp_path / "x.pt"), map_location="cpu", weights_only=False)
    assert MARKER in capfd.readouterr().out


def _facenet(models_dir: Path, tmp_path: Path) -> tuple[Path, Callable[[], object]]:
    from vision_desk.stages.faces.backends import load_facenet

    return tampered(models_dir / entry("facenet-vggface2").file), load_facenet


def _backbone(models_dir: Path, tmp_path: Path) -> tuple[Path, Callable[[], object]]:
    from vision_desk.teach.backbones import build_body

    path = tampered(models_dir / entry("tv-resnet18").file)
    return path, lambda: build_body("resnet18", path)


def _taught(models_dir: Path, tmp_path: Path) -> tuple[Path, Callable[[], object]]:
    from vision_desk.teach.model import load_taught

    folder = tmp_path / "taught"
    path = tampered(folder / "model.pt")
    (folder / "teach.json").write_text(json.dumps({"labels": ["a", "b"], "arch": "resnet18", "size": 96,
                                                   "mean": [0.5] * 3, "std": [0.25] * 3}))
    return path, lambda: load_taught(folder).module


def _style(models_dir: Path, tmp_path: Path) -> tuple[Path, Callable[[], object]]:
    from vision_desk.stages.artistic.style_models import JohnsonPyTorch

    path = tampered(tmp_path / "mine.pth")
    return path, lambda: JohnsonPyTorch(path, "cpu")


def _yolo(models_dir: Path, tmp_path: Path) -> tuple[Path, Callable[[], object]]:
    from vision_desk.stages.detection.detect import DetectStage

    path = tampered(models_dir / entry("yolo11n").file)
    return path, lambda: DetectStage(DetectStage.Params(model="yolo11n")).setup()


@pytest.mark.parametrize("loader, fix", [
    (_facenet, "vision-desk models pull facenet-vggface2"),
    (_backbone, "vision-desk models pull tv-resnet18"),
    (_taught, "train the model again"),
    (_style, "pick a fast_neural_style .pth file"),
    (_yolo, "vision-desk models pull yolo11n"),
], ids=["facenet", "teach-backbone", "taught-model", "style", "yolo"])
def test_a_tampered_model_file_is_refused_before_its_code_runs(loader, fix: str, models_dir: Path, tmp_path: Path,
                                                               capfd) -> None:
    path, load = loader(models_dir, tmp_path)
    with pytest.raises(VisionDeskError) as err:
        load()
    message = str(err.value)
    assert MARKER not in capfd.readouterr().out  # the payload did not run
    assert str(path) in message and fix in message and "none of it ran" in message, message
    assert "\n" not in message and "Traceback" not in message
    if "models pull" in fix:
        assert "vision-desk models verify" in message


def test_a_file_that_is_not_weights_at_all_names_the_file_and_the_fix(models_dir: Path) -> None:
    from vision_desk.stages.faces.backends import load_facenet

    path = models_dir / entry("facenet-vggface2").file
    path.parent.mkdir(parents=True)
    path.write_bytes(b"<html>a login page saved in place of the weights</html>")
    with pytest.raises(VisionDeskError) as err:
        load_facenet()
    message = str(err.value)
    assert str(path) in message and "could not be read" in message and "models pull facenet-vggface2" in message
    assert "none of it ran" not in message and "\n" not in message
