"""What a model looks at: class activation maps from pytorch-grad-cam, as heatmaps over one BGR frame.

Every function returns a float32 heatmap in [0, 1] (1: where the model looks
most); :func:`blend_heatmap` draws one JET-coloured over a picture.

* :func:`detector_heatmap`: EigenCAM for an Ultralytics detect, segment, pose or
  obb model. EigenCAM needs no class and no gradients: it projects the
  activations of the layers feeding the detection head (YOLO11's P3, P4 and P5
  outputs) on their first principal component. The frame is letterboxed as
  Ultralytics' predictor does (long side at imgsz, the short one padded to a
  multiple of 32) and the map is cut back to the frame.
* :func:`classifier_heatmap` and :func:`classify_and_explain`: Grad-CAM,
  Grad-CAM++ or EigenCAM for any torch classifier (torchvision, an Ultralytics
  classify model's network, a taught model), for the top class or a given one.
* :func:`default_target_layers`: the last convolutional block of the
  classifier families it knows.

EigenCAM here is the library's EigenCAM with the sign of the principal
component fixed the way its Seg-Eigen-CAM does (the larger end of the
projection is the positive one): the sign an SVD returns is arbitrary, and
without the fix the heatmap of the shapes model lit up the background instead
of the shape in 18 of 20 scenes (measured over the Detect head's three inputs).
The projection itself is :func:`principal_projection` (a thin SVD; see there).
"""

from __future__ import annotations

import copy
import threading
from functools import lru_cache
from typing import Any, Literal, Sequence

import cv2
import numpy as np

from vision_desk.errors import VisionDeskError

Method = Literal["gradcam", "gradcam++", "eigencam"]
METHODS: tuple[str, ...] = ("gradcam", "gradcam++", "eigencam")
#: How opaque a heatmap is drawn where nothing else says (detect's explain toggle).
DEFAULT_ALPHA = 0.5
#: The normalisation torchvision's ImageNet classifiers were trained with (RGB).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: Ultralytics pads letterboxed frames with this grey.
PAD_VALUE = 114


@lru_cache(maxsize=None)
def _cam_class(method: str) -> Any:
    """The pytorch-grad-cam class for a method name (imported on first use)."""
    from pytorch_grad_cam import EigenCAM, GradCAM, GradCAMPlusPlus

    class SignedEigenCAM(EigenCAM):
        """EigenCAM whose principal component points at what stands out (see the module docstring)."""

        def get_cam_image(self, input_tensor, target_layer, targets, activations, grads, eigen_smooth):  # noqa: ANN001, ANN202
            return principal_projection(activations)

    classes = {"gradcam": GradCAM, "gradcam++": GradCAMPlusPlus, "eigencam": SignedEigenCAM}
    if method not in classes:
        raise VisionDeskError(f"unknown heatmap method '{method}'; use one of {', '.join(METHODS)}.")
    return classes[method]


def principal_projection(activations: np.ndarray) -> np.ndarray:
    """(B, C, H, W) activations projected on their first principal component, the larger end positive: (B, H, W).

    What the library's ``get_2d_projection_with_sign_correction`` computes, with a thin SVD: the library asks
    numpy for the full left matrix, (H*W)^2 numbers, which for the P3 layer of a 640 model on a 16:9 frame
    (3840 positions) took 1 s per frame on this CPU where the thin one takes 8 ms.
    """
    out = []
    for maps in np.nan_to_num(np.asarray(activations, np.float32)):
        flat = maps.reshape(maps.shape[0], -1).T
        flat = flat - flat.mean(axis=0)
        _, _, vt = np.linalg.svd(flat, full_matrices=False)
        projection = (flat @ vt[0]).reshape(maps.shape[1:])
        out.append(-projection if abs(projection.min()) > abs(projection.max()) else projection)
    return np.asarray(out, np.float32)


def _run_cam(method: str, network: Any, layers: list, tensor: Any, targets: list | None) -> tuple[np.ndarray, Any]:
    """(the CAM of each image, the network's output) with the library's hooks removed afterwards.

    Not the library's ``with`` form: its ``__exit__`` swallows an IndexError (a class index out of range) and
    prints it, which would leave the caller without a result and without a reason.
    """
    cam = _cam_class(method)(network, layers)
    try:
        maps = cam(tensor, targets=targets)
        return maps, cam.outputs
    finally:
        cam.activations_and_grads.release()


# -- detectors -------------------------------------------------------------------------------------

_copies_lock = threading.Lock()


def private_network(loaded: Any) -> tuple[Any, threading.Lock]:
    """A float32 copy of a shared model's network for heatmaps, made once per loaded model, and its lock.

    The library hooks the layers it explains; hooks on the network that
    detect stages share would also see their passes on other threads, so the
    heatmaps run on a copy of their own, one at a time.
    """
    with _copies_lock:
        if loaded.explainer is None:
            loaded.explainer = (copy.deepcopy(loaded.yolo.model).float().eval(), threading.Lock())
        return loaded.explainer


def detector_target_layers(network: Any) -> list:
    """The layers whose outputs an Ultralytics head reads (YOLO11 detect: the P3, P4 and P5 neck outputs).

    The pytorch-grad-cam YOLO tutorial explains the layer before the Detect head (P5, stride 32); all three of
    the head's inputs are taken here, so objects small at the model's input size show too (P3 has stride 8).
    """
    layers = getattr(network, "model", None)
    head = layers[-1] if layers is not None and len(layers) else None
    if head is None or not hasattr(head, "f"):
        raise VisionDeskError(f"a {type(network).__name__} is not an Ultralytics model with a head to explain; "
                              "give stage 'gradcam' a YOLO .pt model.")
    sources = head.f if isinstance(head.f, (list, tuple)) else [head.f]
    # Ultralytics counts a negative source from the head itself: -1 is the layer just before it.
    return [layers[i] if i >= 0 else layers[len(layers) - 1 + i] for i in sources]


def letterbox(image: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The image scaled to fit shape (h, w), aspect kept, centred on Ultralytics' grey; and where it lies in it
    as (top, left, height, width)."""
    h, w = image.shape[:2]
    r = min(shape[0] / h, shape[1] / w)
    nh, nw = max(1, int(round(h * r))), max(1, int(round(w * r)))
    top, left = (shape[0] - nh) // 2, (shape[1] - nw) // 2
    canvas = np.full((shape[0], shape[1], 3), PAD_VALUE, np.uint8)
    canvas[top : top + nh, left : left + nw] = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR)
    return canvas, (top, left, nh, nw)


def detector_heatmap(loaded: Any, image: np.ndarray, imgsz: int | None = None) -> np.ndarray:
    """EigenCAM of an Ultralytics detect, segment, pose or obb model on one frame.

    Args:
        loaded: a :class:`~vision_desk.stages.detection.model_cache.LoadedModel` of a ``.pt`` file.
        image: HxWx3 uint8 BGR.
        imgsz: the network input's long side; default the model's own (what Ultralytics runs it at).

    Returns:
        HxW float32 in [0, 1], the frame's size.
    """
    import torch

    from vision_desk.stages.detection.convert import letterbox_shape

    if loaded.format != "pt":
        raise VisionDeskError(f"a heatmap needs the PyTorch model; {loaded.path.name} is a {loaded.format} file.")
    network, lock = private_network(loaded)
    padded, (top, left, h, w) = letterbox(image, letterbox_shape(image.shape[:2], imgsz or loaded.imgsz))
    device = next(network.parameters()).device
    x = torch.from_numpy(np.ascontiguousarray(padded[..., ::-1].transpose(2, 0, 1))).unsqueeze(0)
    x = x.to(device, torch.float32) / 255.0
    with lock, torch.no_grad():
        maps, _ = _run_cam("eigencam", network, detector_target_layers(network), x, [])  # [] targets: none needed
    return fit_heatmap(maps[0][top : top + h, left : left + w], image.shape[:2])


# -- classifiers -----------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def _logits_wrapper() -> type:
    import torch

    class Logits(torch.nn.Module):
        """A classifier whose output is its logits: Ultralytics' classify head returns (probabilities, logits)
        outside training, and the library scores one tensor."""

        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = self.inner(x)
            return out[-1] if isinstance(out, (tuple, list)) else out

    return Logits


def _unwrap(module: Any) -> Any:
    return module.inner if isinstance(module, _logits_wrapper()) else module


def default_target_layers(module: Any) -> list:
    """The layer Grad-CAM explains for a classifier: its last convolutional block.

    ResNet: ``layer4[-1]``; MobileNet V2/V3, EfficientNet, ConvNeXt, VGG, DenseNet, SqueezeNet, AlexNet:
    ``features[-1]``; RegNet: ``trunk_output[-1]``; ShuffleNetV2: ``conv5``; MNASNet: ``layers[-1]``;
    GoogLeNet: ``inception5b``; Inception3: ``Mixed_7c``; an Ultralytics ClassificationModel: the layer before
    its Classify head.

    Raises:
        VisionDeskError: a network it does not know (one sentence saying what to pass instead).
    """
    import torchvision.models as tvm

    net = _unwrap(module)
    if isinstance(net, tvm.ResNet):
        return [net.layer4[-1]]
    if isinstance(net, (tvm.MobileNetV2, tvm.MobileNetV3, tvm.EfficientNet, tvm.ConvNeXt, tvm.VGG, tvm.DenseNet,
                        tvm.SqueezeNet, tvm.AlexNet)):
        return [net.features[-1]]
    if isinstance(net, tvm.RegNet):
        return [net.trunk_output[-1]]
    if isinstance(net, tvm.ShuffleNetV2):
        return [net.conv5]
    if isinstance(net, tvm.MNASNet):
        return [net.layers[-1]]
    if isinstance(net, tvm.GoogLeNet):
        return [net.inception5b]
    if isinstance(net, tvm.Inception3):
        return [net.Mixed_7c]
    # Compared by name, so that ultralytics is not imported to recognise a network that is not one of its own.
    if any(c.__name__ == "ClassificationModel" and c.__module__.startswith("ultralytics") for c in type(net).__mro__):
        return [net.model[-2]]
    raise VisionDeskError(
        f"stage 'gradcam' does not know which layer of a {type(net).__name__} to explain; pass its last "
        "convolutional block as target_layers (as for ResNet's layer4[-1] or MobileNet's features[-1])."
    )


def frame_tensor(image: np.ndarray, size: int, mean: Sequence[float] | None = IMAGENET_MEAN,
                 std: Sequence[float] | None = IMAGENET_STD) -> Any:
    """A BGR frame as a classifier's 1x3xSxS float tensor: the whole frame squeezed to size x size (no crop, so
    the heatmap covers all of it), RGB, scaled to [0, 1], then normalised by mean and std where given."""
    import torch

    rgb = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)[..., ::-1].astype(np.float32) / 255.0
    if mean is not None and std is not None:
        rgb = (rgb - np.float32(mean)) / np.float32(std)
    return torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1))).unsqueeze(0)


def classify_and_explain(module: Any, tensor: Any, target_layers: Sequence[Any], class_index: int | None = None,
                         method: Method = "gradcam", size: tuple[int, int] | None = None) -> tuple[np.ndarray, int, float]:
    """A classifier's heatmap for one image, the class it explains and that class's probability.

    Args:
        module: a torch classifier returning logits (or Ultralytics' (probabilities, logits) pair).
        tensor: its 1x3xHxW input, prepared as it expects (e.g. :func:`frame_tensor`).
        target_layers: the layers to explain, e.g. :func:`default_target_layers` of module.
        class_index: the class to explain; None: the top class.
        method: ``gradcam``, ``gradcam++`` or ``eigencam`` (class-agnostic, no gradients).
        size: (h, w) to stretch the map to (the frame's, when the tensor is the whole frame squeezed, as
            :func:`frame_tensor` makes it); None: the tensor's own size.

    Returns:
        (float32 heatmap in [0, 1], class index, softmax probability of that class).
    """
    import torch
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    network = _logits_wrapper()(module)
    gradients = method != "eigencam"
    x = tensor.detach().to(next(module.parameters()).device, torch.float32).clone()
    # The input asks for gradients, so the explained layer's output has them even where the network's own
    # weights are frozen (Ultralytics freezes a model it has predicted with).
    x.requires_grad_(gradients)
    targets = None if class_index is None else [ClassifierOutputTarget(int(class_index))]
    try:
        with torch.enable_grad() if gradients else torch.no_grad():
            maps, logits = _run_cam(method, network, list(target_layers), x, targets)
    except IndexError:
        raise VisionDeskError(f"class index {class_index} is out of range for this classifier.") from None
    probabilities = torch.softmax(logits.detach()[0].float(), 0)
    index = int(probabilities.argmax()) if class_index is None else int(class_index)
    if not 0 <= index < len(probabilities):
        raise VisionDeskError(f"class index {index} is out of range for a classifier of {len(probabilities)} classes.")
    heat = maps[0] if size is None else fit_heatmap(maps[0], size)
    return heat.astype(np.float32), index, float(probabilities[index])


def classifier_heatmap(module: Any, tensor: Any, target_layers: Sequence[Any], class_index: int | None = None,
                       method: Method = "gradcam", size: tuple[int, int] | None = None) -> np.ndarray:
    """Grad-CAM (or Grad-CAM++, EigenCAM) of a torch classifier for one image: float32 HxW in [0, 1].

    See :func:`classify_and_explain` for the arguments; ``class_index=None`` explains the top class.
    """
    return classify_and_explain(module, tensor, target_layers, class_index, method, size)[0]


# -- heatmaps --------------------------------------------------------------------------------------

def fit_heatmap(heat: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A map stretched to size (h, w) and rescaled to span [0, 1] (a flat map stays all 0)."""
    h, w = size
    out = cv2.resize(np.asarray(heat, np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    low, high = float(out.min()), float(out.max())
    if high - low < 1e-12:
        return np.zeros((h, w), np.float32)
    return ((out - low) / (high - low)).astype(np.float32)


def heatmap_peak(heat: np.ndarray) -> tuple[int, int]:
    """(x, y) of the hottest pixel."""
    y, x = np.unravel_index(int(np.argmax(heat)), heat.shape)
    return int(x), int(y)


def blend_heatmap(canvas: np.ndarray, heat: np.ndarray, alpha: float = DEFAULT_ALPHA) -> None:
    """Blends the JET-coloured heatmap (blue: cold, red: hot) over a BGR canvas at opacity alpha, in place."""
    h, w = canvas.shape[:2]
    if heat.shape[:2] != (h, w):  # a later stage resized the picture
        heat = cv2.resize(heat, (w, h), interpolation=cv2.INTER_LINEAR)
    colours = cv2.applyColorMap(np.round(np.clip(heat, 0.0, 1.0) * 255).astype(np.uint8), cv2.COLORMAP_JET)
    cv2.addWeighted(colours, float(alpha), canvas, 1.0 - float(alpha), 0.0, dst=canvas)
