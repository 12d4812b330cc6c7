"""The pretrained networks a taught model is built on: torchvision's ImageNet classifiers.

Each backbone is a torchvision architecture whose ImageNet weights are listed
in ``models/manifest/teach.yaml`` and fetched once with ``vision-desk models
pull NAME``; they are never downloaded here. A taught network is the
backbone's convolutional body, global average pooling, and one new linear
layer: :class:`TaughtNet`.

Why torchvision and not Ultralytics' ``yolo11n-cls``: torchvision is already a
required package, its weights load with ``torch.load(weights_only=True)``
(plain tensors, no pickled code), and one small network class serves the quick
mode (frozen body), the full mode (fine-tuned body), the ONNX export and
Grad-CAM alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from vision_desk.errors import VisionDeskError

#: ImageNet's normalisation, which every torchvision classifier was trained with.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Backbone:
    """A torchvision architecture and where its pretrained weights come from.

    Attributes:
        arch: the torchvision builder's name (``mobilenet_v3_large``).
        manifest: the model name ``vision-desk models pull`` fetches its ImageNet weights by.
        features: the length of its pooled feature vector.
        body: builds the convolutional body from a full torchvision model.
        last_block: the body's last convolutional block within the body (Grad-CAM's target).
    """

    arch: str
    manifest: str
    features: int
    body: Callable[[Any], Any]
    last_block: Callable[[Any], Any]
    note: str = ""


def _features_body(model: Any) -> Any:
    return model.features


def _resnet_body(model: Any) -> Any:
    import torch.nn as nn

    return nn.Sequential(model.conv1, model.bn1, model.relu, model.maxpool, model.layer1, model.layer2, model.layer3,
                         model.layer4)


BACKBONES: dict[str, Backbone] = {
    b.arch: b
    for b in (
        Backbone("mobilenet_v3_large", "tv-mobilenet-v3-large", 960, _features_body, lambda body: body[-1],
                 "ImageNet top-1 74.0%, 0.22 GFLOPs, 21 MB: the default, fastest on a CPU for its accuracy"),
        Backbone("efficientnet_b0", "tv-efficientnet-b0", 1280, _features_body, lambda body: body[-1],
                 "ImageNet top-1 77.7%, 0.39 GFLOPs, 20 MB: more accurate, about twice as slow"),
        Backbone("mobilenet_v3_small", "tv-mobilenet-v3-small", 576, _features_body, lambda body: body[-1],
                 "ImageNet top-1 67.7%, 0.06 GFLOPs, 10 MB: for slow machines and many objects per frame"),
        Backbone("resnet18", "tv-resnet18", 512, _resnet_body, lambda body: body[-1],
                 "ImageNet top-1 69.8%, 1.8 GFLOPs, 45 MB: the classic, slowest of the three on a CPU"),
    )
}
DEFAULT_BACKBONE = "mobilenet_v3_large"


def backbone(arch: str) -> Backbone:
    """The backbone of that architecture; one sentence listing the known ones otherwise."""
    try:
        return BACKBONES[arch]
    except KeyError:
        raise VisionDeskError(f"unknown backbone '{arch}'; use one of {', '.join(BACKBONES)}.") from None


def build_body(arch: str, weights: Path | None) -> Any:
    """The convolutional body of ``arch`` with the ImageNet weights in ``weights`` (None: untrained).

    Raises:
        VisionDeskError: the weights file does not fit the architecture (one sentence naming both).
    """
    import torchvision

    from vision_desk.models import load_torch_weights

    spec = backbone(arch)
    model = getattr(torchvision.models, arch)(weights=None)
    if weights is not None:
        state = load_torch_weights(weights, what=f"{arch} ImageNet weights", manifest=spec.manifest)
        try:
            model.load_state_dict(state)
        except Exception as err:  # noqa: BLE001 - another network's state dict fails in many ways
            raise VisionDeskError(
                f"{Path(weights).name} is not torchvision's {arch} ImageNet weights ({type(err).__name__}); "
                f"fetch them again with: vision-desk models pull {spec.manifest}"
            ) from None
    return spec.body(model)


def pretrained_weights(arch: str) -> Path:
    """The pulled ImageNet weights of ``arch``; ModelMissingError naming the pull command where they are missing."""
    from vision_desk.models import resolve

    return resolve(backbone(arch).manifest)


def make_net(arch: str, classes: int, weights: Path | None) -> Any:
    """A :class:`TaughtNet`: the backbone's body (with ``weights``) and a new ``classes``-way linear head."""
    import torch.nn as nn

    from vision_desk.teach.net import TaughtNet

    spec = backbone(arch)
    return TaughtNet(build_body(arch, weights), nn.Linear(spec.features, classes), arch)
