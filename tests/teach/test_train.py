"""Training on teach sets captured from clips of real photos: accuracy, the model folder, cancel, bad sets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.teach_media import SIZE
from vision_desk.errors import ModelMissingError, VisionDeskError
from vision_desk.teach.dataset import MIN_PER_CLASS, DatasetError, TeachSet
from vision_desk.teach.model import TaughtClassifier, evaluate, load_taught
from vision_desk.teach.train import TrainingCancelled, TrainOptions, train

#: Three distinct photos: a classifier worth the name tells held-out views of them apart almost always.
HELD_OUT_BAR = 0.9


def test_quick_mode_tells_three_real_objects_apart_on_held_out_takes(taught_model: Path, captured_sets) -> None:
    model = load_taught(taught_model)
    assert model.labels == ["astronaut", "cat", "coffee"]
    assert model.metrics["n_val"] >= 3 and len(model.metrics["history"]["val_acc"]) == 30
    evaluation = evaluate(taught_model, captured_sets[1])
    assert evaluation.n == 45
    assert evaluation.accuracy >= HELD_OUT_BAR, evaluation.report()
    assert evaluation.confusion.sum() == 45 and np.trace(evaluation.confusion) >= HELD_OUT_BAR * 45
    assert set(evaluation.per_class) == {"astronaut", "cat", "coffee"}


@pytest.mark.slow
def test_full_mode_fine_tunes_the_whole_network(fully_taught_model: Path, captured_sets) -> None:
    history = load_taught(fully_taught_model).metrics["history"]
    assert len(history["epoch"]) == 10
    assert history["train_loss"][-1] < history["train_loss"][0]  # it learned something
    assert evaluate(fully_taught_model, captured_sets[1]).accuracy >= HELD_OUT_BAR


def test_the_onnx_export_agrees_with_the_pytorch_network(taught_model: Path, captured_sets) -> None:
    import torch

    model = load_taught(taught_model)
    images = [TeachSet(captured_sets[1]).samples(name)[0] for name in model.labels]
    from vision_desk.teach.dataset import read_image

    crops = [read_image(path) for path in images]
    fast = TaughtClassifier(taught_model).probabilities(crops)  # OpenVINO on model.onnx
    with torch.no_grad():
        reference = torch.softmax(model.module(torch.cat([model.tensor(c) for c in crops])), 1).numpy()
    assert np.allclose(fast, reference, atol=2e-3)  # float32 kernels differ between runtimes and CPUs
    assert (taught_model / "labels.txt").read_text().split("\n")[:3] == model.labels


def test_cancel_leaves_no_model_and_keeps_the_old_one(tmp_path: Path, captured_sets, taught_model: Path) -> None:
    import shutil

    out = tmp_path / "model"
    with pytest.raises(TrainingCancelled):
        calls = []
        train(captured_sets[0], out, TrainOptions(backbone="resnet18", pretrained=False, size=SIZE),
              progress=calls.append, should_stop=lambda: len(calls) >= 3)
    assert not out.exists() and list(tmp_path.iterdir()) == []  # not even a hidden half-written folder

    shutil.copytree(taught_model, out)
    before = (out / "teach.json").read_bytes()
    calls = []
    with pytest.raises(TrainingCancelled):
        train(captured_sets[0], out, TrainOptions(backbone="resnet18", pretrained=False, size=SIZE),
              progress=calls.append, should_stop=lambda: bool(calls) and calls[-1].phase == "saving")
    assert (out / "teach.json").read_bytes() == before  # the model in use stays whole
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_progress_reports_every_phase_and_the_curves(tmp_path: Path, captured_sets) -> None:
    seen = []
    train(captured_sets[0], tmp_path / "m", TrainOptions(backbone="resnet18", pretrained=False, size=SIZE, epochs=5),
          progress=seen.append)
    phases = [p.phase for p in seen]
    assert phases[0] == "reading" and phases[-1] == "saving"
    assert {"features", "training"} <= set(phases)
    last_training = [p for p in seen if p.phase == "training"][-1]
    assert last_training.done == last_training.total == 5 and len(last_training.history.val_loss) == 5


@pytest.mark.parametrize("counts, words", [
    ({}, "has no images yet"),
    ({"cat": 8}, "has one class ('cat'); add at least one more class"),
    ({"cat": 8, "dog": 2}, f"too few images in 'dog' (2); capture at least {MIN_PER_CLASS} of each class"),
])
def test_a_set_not_ready_to_train_says_what_to_add(tmp_path: Path, counts: dict[str, int], words: str) -> None:
    from tests.media import skimage_bgr

    teach_set = TeachSet(tmp_path / "set")
    teach_set.root.mkdir()
    for name, n in counts.items():
        for _ in range(n):
            teach_set.add(name, skimage_bgr("coffee"))
    with pytest.raises(DatasetError, match=r"^[^\n]+$") as err:  # one sentence
        train(teach_set.root, tmp_path / "m", TrainOptions(backbone="resnet18", pretrained=False, size=SIZE))
    assert words in str(err.value)
    assert not (tmp_path / "m").exists()


def test_a_corrupt_image_is_reported_and_skipped(tmp_path: Path, captured_sets) -> None:
    import shutil

    work = tmp_path / "set"
    shutil.copytree(captured_sets[0], work)
    (work / "cat" / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    result = train(work, tmp_path / "m", TrainOptions(backbone="resnet18", pretrained=False, size=SIZE, epochs=3))
    assert result.skipped == ["cat/broken.jpg: not a readable image"]
    assert result.n_train + result.n_val == 90


def test_missing_backbone_weights_name_the_pull_command(tmp_path: Path, captured_sets, monkeypatch) -> None:
    monkeypatch.setenv("VISION_DESK_MODELS", str(tmp_path / "models"))
    with pytest.raises(ModelMissingError, match="vision-desk models pull tv-mobilenet-v3-large"):
        train(captured_sets[0], tmp_path / "m", TrainOptions())  # the default: pretrained MobileNetV3-Large
    with pytest.raises(VisionDeskError, match="unknown backbone 'vgg99'; use one of"):
        train(captured_sets[0], tmp_path / "m", TrainOptions(backbone="vgg99"))


def test_import_folder_copies_images_and_names_what_it_skipped(tmp_path: Path) -> None:
    from tests.media import skimage_bgr
    import cv2

    source = tmp_path / "photos"
    source.mkdir()
    cv2.imwrite(str(source / "a.png"), skimage_bgr("chelsea"))
    cv2.imwrite(str(source / "b.jpg"), skimage_bgr("coffee"))
    (source / "c.jpg").write_bytes(b"junk")
    (source / "notes.txt").write_text("not an image")
    teach_set = TeachSet(tmp_path / "set")
    added, skipped = teach_set.import_folder("things", source)
    assert (added, skipped) == (2, ["c.jpg: not a readable image"])
    assert teach_set.counts() == {"things": 2}
    with pytest.raises(VisionDeskError, match="cannot name a class"):
        teach_set.add_class("../escape")
