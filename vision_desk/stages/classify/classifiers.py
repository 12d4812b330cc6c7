"""The classifiers the ``classify`` stage runs, behind one small interface.

* a taught model folder (``vision-desk teach train`` or the Teach panel): OpenVINO on the CPU;
* an Ultralytics classification model (``yolo11n-cls.pt`` or an export of one);
* a torchvision ImageNet classifier by its manifest name (``tv-mobilenet-v3-large``): the 1000 ImageNet classes.

Each gives :meth:`probabilities` for a batch of BGR crops and the :attr:`path`
it was loaded from, which the stage watches for a model retrained in place.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np

from vision_desk.errors import VisionDeskError


class Classifier(Protocol):
    labels: list[str]
    path: Path  # the file or folder it was loaded from (watched for a retrained version)

    def probabilities(self, images: list[np.ndarray]) -> np.ndarray: ...

    def close(self) -> None: ...


class TaughtRunner:
    """A taught model folder."""

    def __init__(self, folder: Path, device: str) -> None:
        from vision_desk.teach.model import TaughtClassifier

        self._classifier = TaughtClassifier(folder, "cpu" if device == "cpu" else device)
        self.labels = self._classifier.labels
        self.path = folder

    def probabilities(self, images: list[np.ndarray]) -> np.ndarray:
        return self._classifier.probabilities(images)

    def torch_module(self) -> tuple[Any, Any]:
        """(network, a function turning a BGR image into its input tensor), for Grad-CAM."""
        return self._classifier.model.module, self._classifier.model.tensor

    def close(self) -> None:
        pass


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

    def torch_module(self) -> tuple[Any, Any]:
        import torch

        module = self._model.yolo.model
        size = self._model.imgsz

        def tensor(image: np.ndarray) -> Any:  # Ultralytics' classify preprocessing: RGB, resized, 0-1
            import cv2

            rgb = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)[:, :, ::-1]
            return torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1))).float().div(255).unsqueeze(0)

        return module, tensor

    def close(self) -> None:
        from vision_desk.stages.detection import model_cache

        if self._model is not None:
            model_cache.release(self._model)
            self._model = None


class ImageNetRunner:
    """A torchvision ImageNet classifier from its pulled weights (manifest name ``tv-<arch>``)."""

    def __init__(self, arch: str, weights: Path, device: str) -> None:
        import torch
        import torchvision

        from vision_desk.teach.backbones import IMAGENET_MEAN, IMAGENET_STD

        model = getattr(torchvision.models, arch)(weights=None)
        try:
            model.load_state_dict(torch.load(str(weights), map_location="cpu", weights_only=True))
        except Exception as err:  # noqa: BLE001
            raise VisionDeskError(f"{weights.name} is not torchvision's {arch} ImageNet weights ({type(err).__name__}); "
                                  "pull them again with 'vision-desk models pull'.") from None
        self._module = model.eval().to(device)
        self._device = device
        self._mean, self._std = IMAGENET_MEAN, IMAGENET_STD
        self.labels = list(torchvision.models.get_model_weights(arch)["IMAGENET1K_V1"].meta["categories"])
        self.path = weights

    def probabilities(self, images: list[np.ndarray]) -> np.ndarray:
        import torch

        from vision_desk.teach.model import prepare

        if not images:
            return np.zeros((0, len(self.labels)), np.float32)
        with torch.no_grad():
            logits = self._module(torch.from_numpy(prepare(images, 224, self._mean, self._std)).to(self._device))
        return torch.softmax(logits.float(), 1).cpu().numpy()

    def torch_module(self) -> tuple[Any, Any]:
        import torch

        from vision_desk.teach.model import prepare

        return self._module, lambda image: torch.from_numpy(prepare([image], 224, self._mean, self._std))

    def close(self) -> None:
        pass


def open_classifier(model: str, device: str) -> Classifier:
    """The classifier a ``model`` parameter names: a taught model folder, an Ultralytics classification model,
    or a torchvision ImageNet classifier's manifest name (``tv-mobilenet-v3-large``).

    Raises:
        ModelMissingError: the file, folder or pulled weights are not there (the message says how to get them).
        VisionDeskError: it is not a classifier (one sentence).
    """
    from vision_desk.models import load_manifest, resolve
    from vision_desk.teach.model import is_taught_model

    path = Path(model).expanduser()
    if is_taught_model(path):
        return TaughtRunner(path, device)
    entry = load_manifest().get(model)
    if entry is not None and entry.task == "teach":
        arch = next(a for a, b in _backbones().items() if b.manifest == entry.name)
        return ImageNetRunner(arch, resolve(model), device)
    if path.is_dir() and not any(path.glob("*.xml")):
        raise VisionDeskError(f"{path} is a folder but not a taught model (no teach.json); pick the folder the "
                              "Teach panel or 'vision-desk teach train' wrote.")
    return UltralyticsRunner(resolve(model), device, model)


def _backbones() -> dict:
    from vision_desk.teach.backbones import BACKBONES

    return BACKBONES
