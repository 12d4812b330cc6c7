"""The classifiers the ``classify`` stage runs, behind one small interface.

* a taught model folder (``vision-desk teach train`` or the Teach panel): OpenVINO on the CPU;
* an Ultralytics classification model (``yolo11n-cls.pt`` or an export of one);
* a torchvision ImageNet classifier by its manifest name (``tv-mobilenet-v3-large``): the 1000 ImageNet classes.

Each gives :meth:`probabilities` for a batch of BGR crops, the :attr:`path` it
was loaded from (watched for a model retrained in place) and, for "show what
the model looks at", :meth:`explainer`: the network the ``gradcam`` stage's
functions explain.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from vision_desk.errors import VisionDeskError


class Classifier(Protocol):
    labels: list[str]
    path: Path  # the file or folder it was loaded from

    def probabilities(self, images: list[np.ndarray]) -> np.ndarray: ...

    def explainer(self) -> Any: ...

    def close(self) -> None: ...


def imagenet_arch(model: str) -> str | None:
    """The torchvision architecture a manifest name of an ImageNet backbone stands for (``tv-resnet18`` ->
    ``resnet18``), or None for any other name."""
    from vision_desk.teach.backbones import BACKBONES

    return next((arch for arch, b in BACKBONES.items() if b.manifest == model), None)


def _shared(kind: str, path: Path, device: str, load: Any) -> Any:
    """The network for (kind, file, its stamp, device) from the process's model pool, loaded on first use: the
    classify stages of several streams (or of one pipeline) share one copy. The stamp makes a model retrained in
    place a new entry."""
    from vision_desk.engine import model_pool
    from vision_desk.engine.watch import file_stamp

    return model_pool.share((kind, str(Path(path).resolve()), file_stamp(path), device), load)


def _batched(model: Any, run: Any, images: list[np.ndarray], classes: int) -> np.ndarray:
    """Probabilities of crops, run with the crops other streams submit to the same shared network meanwhile
    (``run``: the shared network's own batch function, never a runner's, which may close first)."""
    from vision_desk.engine import model_pool

    if not images:
        return np.zeros((0, classes), np.float32)
    return np.stack(model_pool.batched(model, lambda crops: list(run(crops)), list(images)))


class TaughtRunner:
    """A taught model folder."""

    def __init__(self, folder: Path, device: str) -> None:
        from vision_desk.teach.model import TaughtClassifier

        self._classifier = _shared("taught", folder, device, lambda: TaughtClassifier(folder, device))
        self.labels = self._classifier.labels
        self.path = folder

    def probabilities(self, images: list[np.ndarray]) -> np.ndarray:
        return _batched(self._classifier, self._classifier.probabilities, images, len(self.labels))

    def explainer(self) -> Any:
        from vision_desk.stages.classify.gradcam import taught_classifier

        return taught_classifier(self.path)

    def close(self) -> None:
        from vision_desk.engine import model_pool

        if self._classifier is not None:
            model_pool.release(self._classifier)
            self._classifier = None


class UltralyticsRunner:
    """An Ultralytics classification model, shared through the detection stages' model cache."""

    def __init__(self, path: Path, device: str, label: str) -> None:
        from vision_desk.stages.detection import model_cache

        self._model = model_cache.acquire(path, device, False, label=label)
        if self._model.task != "classify":
            task = self._model.task
            model_cache.release(self._model)
            raise VisionDeskError(f"model {label} is a {task} model, not a classifier; use stage 'detect' for it, "
                                  "or give classify a taught model or a classification model (e.g. yolo11n-cls).")
        self.labels = [self._model.names[i] for i in sorted(self._model.names)]
        self.path = path

    def probabilities(self, images: list[np.ndarray]) -> np.ndarray:
        if not images:
            return np.zeros((0, len(self.labels)), np.float32)
        results = self._model.predict(list(images), imgsz=self._model.imgsz)
        return np.stack([r.probs.data.float().cpu().numpy() for r in results])

    def explainer(self) -> Any:
        from vision_desk.stages.classify.gradcam import ultralytics_classifier

        return ultralytics_classifier(self._model)

    def close(self) -> None:
        from vision_desk.stages.detection import model_cache

        if self._model is not None:
            model_cache.release(self._model)
            self._model = None


class ImageNetRunner:
    """A torchvision ImageNet classifier from its pulled weights (the manifest's ``tv-<arch>`` entries)."""

    def __init__(self, arch: str, weights: Path, device: str, manifest: str) -> None:
        from vision_desk.stages.classify.gradcam import torchvision_classifier

        self._build = lambda: torchvision_classifier(arch, weights, device, manifest)
        self._net = _shared(f"imagenet-{arch}", weights, device, self._build)
        self._device = device
        self.labels = self._net.labels
        self.path = weights

    def probabilities(self, images: list[np.ndarray]) -> np.ndarray:
        # the batch function depends on the shared network alone: the front keeps it after this runner closes
        return _batched(self._net, partial(_imagenet_probabilities, self._net, self._device), images, len(self.labels))

    def explainer(self) -> Any:
        """A network of its own: Grad-CAM hooks its layers, and hooks on the shared one would also fire for the
        passes other streams run on it."""
        return self._build()

    def close(self) -> None:
        from vision_desk.engine import model_pool

        if self._net is not None:
            model_pool.release(self._net)
            self._net = None


def _imagenet_probabilities(net: Any, device: str, images: list[np.ndarray]) -> np.ndarray:
    import torch

    from vision_desk.teach.model import softmax

    with torch.no_grad():
        batch = torch.cat([net.tensor(image) for image in images]).to(device)
        return softmax(net.module(batch).float().cpu().numpy())


def open_classifier(model: str, device: str) -> Classifier:
    """The classifier a ``model`` parameter names: a taught model folder, an Ultralytics classification model,
    or a torchvision ImageNet classifier's manifest name (``tv-mobilenet-v3-large``).

    Raises:
        ModelMissingError: the file, folder or pulled weights are not there (the message says how to get them).
        VisionDeskError: it is not a classifier (one sentence).
    """
    from vision_desk.models import resolve
    from vision_desk.teach.model import is_taught_model

    path = Path(model).expanduser()
    if is_taught_model(path):
        return TaughtRunner(path, device)
    arch = imagenet_arch(model) if not path.exists() else None
    if arch is not None:
        return ImageNetRunner(arch, resolve(model), device, model)
    if path.is_dir() and not any(path.glob("*.xml")):
        raise VisionDeskError(f"{path} is a folder but not a taught model (no teach.json); pick the folder the "
                              "Teach panel or 'vision-desk teach train' wrote.")
    return UltralyticsRunner(resolve(model), device, model)
