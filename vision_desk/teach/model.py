"""The taught model folder: writing it (completely or not at all), loading it, and running it.

A taught model is a folder::

    teach.json   labels, architecture, input size, normalisation, metrics and curves
    model.pt     the network's weights (plain tensors: loads with ``weights_only=True``)
    model.onnx   the same network for ONNX Runtime, OpenVINO or any other runtime (input ``images``:
                 N x 3 x S x S, RGB, ImageNet-normalised; output ``logits``: N x classes)
    labels.txt   the class names, one per line, in the output's order

:class:`TaughtClassifier` runs it: on the CPU through OpenVINO on the ONNX
file (the fast path the detect stage uses, and no PyTorch import), on a GPU
through PyTorch. :func:`load_taught` gives the PyTorch network itself, for
Grad-CAM.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from vision_desk.config_files import check, read_json
from vision_desk.errors import MissingModel, ModelMissingError, VisionDeskError
from vision_desk.private import private_dir, private_tree
from vision_desk.teach.backbones import IMAGENET_MEAN, IMAGENET_STD

MANIFEST = "teach.json"
FORMAT = 1
#: What a broken teach.json's sentence ends with.
RETRAIN = "train the model again to rewrite it"

Share = Annotated[float, Field(ge=0, le=1)]


class TrainingMetrics(BaseModel):
    """``teach.json``'s ``metrics``: what the Teach panel shows of the last training (other keys are kept)."""

    model_config = ConfigDict(extra="allow")

    accuracy: Share | None = None
    confusion: list[list[Annotated[int, Field(ge=0)]]] | None = None
    per_class: dict[str, Share] = {}
    history: dict[str, list[float]] = {}
    n_val: Annotated[int, Field(ge=0)] | None = None


class TeachFile(BaseModel):
    """The schema of ``teach.json``. Unknown keys are ignored, so a model a newer Vision Desk wrote still loads."""

    format: Annotated[int, Field(ge=1)] = FORMAT
    labels: Annotated[list[str], Field(min_length=1)]
    arch: Annotated[str, Field(min_length=1)]
    size: Annotated[int, Field(ge=8, le=4096)]
    mean: tuple[float, float, float]
    std: tuple[Annotated[float, Field(gt=0)], Annotated[float, Field(gt=0)], Annotated[float, Field(gt=0)]]
    metrics: TrainingMetrics = TrainingMetrics()

    @field_validator("labels")
    @classmethod
    def _distinct(cls, labels: list[str]) -> list[str]:
        if len(set(labels)) != len(labels):
            raise ValueError("must name each class once")
        return labels

    @field_validator("metrics")
    @classmethod
    def _one_row_per_label(cls, metrics: TrainingMetrics, info: ValidationInfo) -> TrainingMetrics:
        n = len(info.data.get("labels") or [])
        rows = metrics.confusion
        if rows is not None and n and (len(rows) != n or any(len(row) != n for row in rows)):
            raise ValueError(f"must hold a confusion matrix with a row and a column for each of the {n} labels")
        return metrics


def prepare(images: list[np.ndarray], size: int, mean: tuple[float, ...] = IMAGENET_MEAN,
            std: tuple[float, ...] = IMAGENET_STD) -> np.ndarray:
    """BGR images as the network's input: each resized to size x size, RGB, normalised, N x 3 x S x S float32."""
    out = np.empty((len(images), 3, size, size), np.float32)
    scale = 1.0 / (255.0 * np.asarray(std, np.float32))
    shift = np.asarray(mean, np.float32) / np.asarray(std, np.float32)
    for n, image in enumerate(images):
        if image.shape[:2] != (size, size):
            image = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
        rgb = image[:, :, ::-1].astype(np.float32)
        out[n] = (rgb * scale - shift).transpose(2, 0, 1)
    return out


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise probabilities from (N, classes) logits (shifted by each row's maximum, so exp never overflows)."""
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def confusion_matrix(true: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """(classes, classes) counts: row = true class, column = predicted class."""
    matrix = np.zeros((classes, classes), np.int64)
    np.add.at(matrix, (np.asarray(true, np.int64), np.asarray(predicted, np.int64)), 1)
    return matrix


def is_taught_model(path: str | Path) -> bool:
    return (Path(path) / MANIFEST).is_file()


def save_model(net: Any, out: Path, *, labels: list[str], size: int, mode: str, pretrained: bool, dataset: Path,
               metrics: dict[str, Any]) -> Path:
    """Writes the model folder ``out`` from a trained :class:`~vision_desk.teach.net.TaughtNet`.

    Everything is written into a hidden folder beside ``out`` first and moved into place only when complete,
    so a crash or a cancel never leaves half a model, and a model being replaced stays usable until then.
    """
    import torch

    out = Path(out)
    private_dir(out.parent, tighten_existing=False)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))  # made 0700
    try:
        net = net.eval().to("cpu")
        torch.save({"arch": net.arch, "classes": len(labels), "state_dict": net.state_dict()}, work / "model.pt")
        _export_onnx(net, size, work / "model.onnx")
        (work / "labels.txt").write_text("".join(f"{name}\n" for name in labels), encoding="utf-8")
        meta = {"format": FORMAT, "labels": labels, "arch": net.arch, "size": size, "mean": list(IMAGENET_MEAN),
                "std": list(IMAGENET_STD), "mode": mode, "pretrained": pretrained, "dataset": str(dataset),
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "metrics": metrics}
        (work / MANIFEST).write_text(json.dumps(meta, indent=1), encoding="utf-8")
        private_tree(work)  # a model learnt from the user's pictures, and teach.json names their folder
        _replace_folder(work, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def _export_onnx(net: Any, size: int, path: Path) -> None:
    import warnings

    import torch

    with warnings.catch_warnings():  # the exporter's notes on its own internals are not the user's concern
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (torch.zeros(1, 3, size, size),), str(path), input_names=["images"],
                          output_names=["logits"], dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}},
                          opset_version=17, dynamo=False)


def _replace_folder(new: Path, out: Path) -> None:
    """Moves the complete folder ``new`` to ``out``, replacing an old one only after the new one is in place."""
    if not out.exists():
        os.replace(new, out)
        return
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    shutil.rmtree(old, ignore_errors=True)
    os.replace(out, old)
    try:
        os.replace(new, out)
    except OSError:
        os.replace(old, out)  # put the old model back: the user keeps a working one
        raise
    shutil.rmtree(old, ignore_errors=True)


@dataclass
class TaughtModel:
    """A taught model folder's description (read from ``teach.json``) and, on demand, its PyTorch network."""

    folder: Path
    labels: list[str]
    arch: str
    size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    metrics: dict[str, Any] = field(default_factory=dict)
    stamp: tuple[int, int] = (0, 0)  # teach.json's (mtime_ns, size): a retrained model has a new one
    _module: Any = None

    @property
    def onnx(self) -> Path:
        return self.folder / "model.onnx"

    @property
    def module(self) -> Any:
        """The PyTorch :class:`~vision_desk.teach.net.TaughtNet`, in eval mode (loaded on first use)."""
        if self._module is None:
            from vision_desk.models import load_torch_weights
            from vision_desk.teach.backbones import make_net

            saved = load_torch_weights(self.folder / "model.pt", what="taught model",
                                       otherwise="train the model again")
            try:
                net = make_net(saved["arch"], int(saved["classes"]), None)
                net.load_state_dict(saved["state_dict"])
            except Exception as err:  # noqa: BLE001
                raise VisionDeskError(f"{self.folder / 'model.pt'} could not be loaded ({type(err).__name__}); "
                                      "train the model again.") from None
            self._module = net.eval()
        return self._module

    def target_layers(self) -> list[Any]:
        """Grad-CAM's target layers: the body's last convolutional block."""
        return self.module.target_layers()

    def tensor(self, image: np.ndarray) -> Any:
        """One BGR image as the network's input tensor (1 x 3 x S x S)."""
        import torch

        return torch.from_numpy(prepare([image], self.size, self.mean, self.std))


def model_stamp(folder: Path) -> tuple[int, int]:
    """(mtime_ns, size) of the model's ``teach.json``: it changes whenever the model is retrained in place."""
    st = (Path(folder) / MANIFEST).stat()
    return st.st_mtime_ns, st.st_size


def load_taught(folder: str | Path) -> TaughtModel:
    """Reads a taught model folder's ``teach.json``.

    Raises:
        ModelMissingError: no such folder.
        VisionDeskError: the folder is not a taught model, or a newer Vision Desk wrote it.
        ConfigError: its ``teach.json`` is malformed (one sentence naming the field).
    """
    folder = Path(folder).expanduser()
    if not folder.exists():
        raise ModelMissingError(f"taught model {folder} not found; check the path, or train one with "
                                "'vision-desk teach train' or the Teach panel.",
                                [MissingModel(str(folder), None, str(folder.parent))])
    if not (folder / MANIFEST).is_file():
        raise VisionDeskError(f"{folder} is not a taught model (it has no {MANIFEST}); pick the folder that "
                              "'vision-desk teach train' or the Teach panel wrote.")
    where = folder / MANIFEST
    meta = check(TeachFile, read_json(where, "taught model description"), str(where), RETRAIN)
    if meta.format > FORMAT:
        raise VisionDeskError(f"{where} was written by a newer Vision Desk (format {meta.format}); update Vision Desk "
                              "to use this model.")
    return TaughtModel(folder, meta.labels, meta.arch, meta.size, meta.mean, meta.std,
                       meta.metrics.model_dump(exclude_none=True), model_stamp(folder))


class TaughtClassifier:
    """Class probabilities for batches of BGR crops from a taught model.

    On the CPU it runs the ONNX file through OpenVINO (no PyTorch import); on
    ``cuda``/``mps`` it runs the PyTorch network there.
    """

    def __init__(self, folder: str | Path, device: str = "cpu") -> None:
        self.model = load_taught(folder)
        self.labels = self.model.labels
        self.device = device
        self._compiled: Any = None
        if device == "cpu":
            import openvino as ov

            if not self.model.onnx.is_file():
                raise VisionDeskError(f"{self.model.folder} has no model.onnx; train the model again.")
            core = ov.Core()
            self._compiled = core.compile_model(core.read_model(str(self.model.onnx)), "CPU",
                                                {"PERFORMANCE_HINT": "LATENCY"})
        else:
            self.model.module.to(device)

    def probabilities(self, images: list[np.ndarray]) -> np.ndarray:
        """(N, classes) softmax probabilities for N BGR images of any size."""
        if not images:
            return np.zeros((0, len(self.labels)), np.float32)
        x = prepare(images, self.model.size, self.model.mean, self.model.std)
        if self._compiled is not None:
            logits = np.asarray(self._compiled(x)[0], np.float32)
        else:
            import torch

            with torch.no_grad():
                logits = self.model.module(torch.from_numpy(x).to(self.device)).float().cpu().numpy()
        return softmax(logits)


@dataclass
class Evaluation:
    """A taught model measured on a teach set."""

    labels: list[str]
    accuracy: float
    confusion: np.ndarray
    per_class: dict[str, float]
    n: int
    skipped: list[str]

    def report(self) -> str:
        """Accuracy, per-class accuracy and the confusion matrix as text."""
        width = max(8, *(len(name) for name in self.labels)) + 1
        lines = [f"accuracy {self.accuracy:.3f} on {self.n} images", "", "per class:"]
        lines += [f"  {name:<{width}} {acc:.3f}" for name, acc in self.per_class.items()]
        lines += ["", "confusion (rows: true class, columns: predicted):",
                  " " * (width + 2) + "".join(f"{name[:width - 1]:>{width}}" for name in self.labels)]
        for name, row in zip(self.labels, self.confusion):
            lines.append(f"  {name:<{width}}" + "".join(f"{int(v):>{width}}" for v in row))
        return "\n".join(lines)


def evaluate(model: str | Path, dataset: str | Path, batch: int = 32) -> Evaluation:
    """Accuracy and confusion matrix of a taught model on every image of a teach set.

    The set's classes must be among the model's; classes the model knows but the set lacks simply have no rows.
    """
    from vision_desk.teach.dataset import TeachSet, load_samples

    classifier = TaughtClassifier(model)
    unknown = [name for name in TeachSet(Path(dataset)).classes() if name not in classifier.labels]
    if unknown:
        raise VisionDeskError(f"the model does not know the class(es) {', '.join(unknown)} of {dataset}; "
                              f"it was taught {', '.join(classifier.labels)}.")
    samples = load_samples(Path(dataset), labels=classifier.labels)
    if not samples.images:
        raise VisionDeskError(f"{dataset} has no readable images of the model's classes; nothing to evaluate.")
    predicted = np.concatenate([classifier.probabilities(samples.images[s:s + batch]).argmax(1)
                                for s in range(0, len(samples.images), batch)])
    true = np.asarray(samples.targets)
    matrix = confusion_matrix(true, predicted, len(classifier.labels))
    per_class = {name: float(matrix[c, c] / matrix[c].sum()) for c, name in enumerate(classifier.labels) if matrix[c].sum()}
    return Evaluation(classifier.labels, float((predicted == true).mean()), matrix, per_class, len(true), samples.skipped)
