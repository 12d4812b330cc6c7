"""Runs a chain-shaped Caffe network (as the colorization network is) on a CUDA GPU with PyTorch.

OpenCV's pip wheels have no CUDA backend, so for the GPU the network OpenCV
has already read is rebuilt layer by layer in PyTorch: the layer list and the
convolution settings come from the prototxt, the weights from OpenCV's own
loaded layers (so both paths always run the same weights, including the
cluster centres and annealing scale the colorize stage installs). Only what
such chains use is supported: Convolution, Deconvolution, ReLU, BatchNorm,
Scale, Softmax, plus Input and Silence.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from vision_desk.errors import VisionDeskError

_TOKEN = re.compile(r'\s*(?:(#[^\n]*)|([{}])|("[^"]*"|\'[^\']*\')|([^\s{}:"\']+)\s*:?)')


def parse_prototxt(text: str) -> dict[str, list[Any]]:
    """Protobuf text format as nested dicts of lists (every field may repeat): enough for Caffe prototxts."""
    tokens: list[str] = []
    for comment, brace, quoted, word in _TOKEN.findall(text):
        if comment:
            continue
        tokens.append(brace or quoted or word)

    def block(i: int) -> tuple[dict[str, list[Any]], int]:
        out: dict[str, list[Any]] = {}
        while i < len(tokens) and tokens[i] != "}":
            key = tokens[i]
            if tokens[i + 1] == "{":
                value, i = block(i + 2)
                i += 1  # the closing brace
            else:
                value, i = tokens[i + 1].strip("\"'"), i + 2
            out.setdefault(key, []).append(value)
        return out, i

    return block(0)[0]


def _first(fields: dict[str, list[Any]], key: str, default: Any) -> Any:
    values = fields.get(key)
    return type(default)(values[0]) if values else default


class CaffeChain:
    """The torch modules of a Caffe chain, built from the prototxt and the weights in an OpenCV net."""

    def __init__(self, prototxt: Path, cv_net: Any, device: str) -> None:
        import torch
        from torch import nn

        self.torch = torch
        self.device = device
        net_def = parse_prototxt(Path(prototxt).read_text(encoding="utf-8"))
        steps: list[Any] = []
        previous: str | None = None
        for layer in net_def.get("layer", []):
            kind, name = _first(layer, "type", ""), _first(layer, "name", "")
            bottoms, tops = layer.get("bottom", []), layer.get("top", [])
            if kind in ("Input", "Silence"):
                previous = tops[0] if tops else previous
                continue
            if previous is not None and bottoms != [previous]:
                raise VisionDeskError(f"{prototxt}: layer '{name}' does not follow the previous one; only chain-shaped networks run on the GPU (use device: cpu).")
            blobs = self._blobs(cv_net, name, tops)
            steps.append(self._module(nn, kind, name, layer, blobs, prototxt))
            previous = tops[0]
        self.model = nn.Sequential(*steps).eval().to(device)

    @staticmethod
    def _blobs(cv_net: Any, name: str, tops: list[str]) -> list[np.ndarray]:
        for candidate in (name, *tops):  # OpenCV names some layers after their output
            index = cv_net.getLayerId(candidate)
            if index >= 0:
                return [np.asarray(b, np.float32) for b in cv_net.getLayer(index).blobs]
        return []

    def _module(self, nn: Any, kind: str, name: str, layer: dict, blobs: list[np.ndarray], prototxt: Path) -> Any:
        torch = self.torch
        if kind in ("Convolution", "Deconvolution"):
            p = layer.get("convolution_param", [{}])[0]
            k, s, pad, d = (_first(p, "kernel_size", 1), _first(p, "stride", 1), _first(p, "pad", 0), _first(p, "dilation", 1))
            weight = torch.from_numpy(blobs[0])
            cls = nn.Conv2d if kind == "Convolution" else nn.ConvTranspose2d
            cin = weight.shape[1] if kind == "Convolution" else weight.shape[0]
            cout = weight.shape[0] if kind == "Convolution" else weight.shape[1]
            module = cls(cin, cout, k, stride=s, padding=pad, dilation=d, bias=len(blobs) > 1)
            module.weight.data.copy_(weight)
            if len(blobs) > 1:
                module.bias.data.copy_(torch.from_numpy(blobs[1].reshape(-1)))
            return module
        if kind == "ReLU":
            return nn.ReLU()
        if kind == "BatchNorm":
            eps = _first(layer.get("batch_norm_param", [{}])[0], "eps", 1e-5)
            factor = float(blobs[2].reshape(-1)[0]) if len(blobs) > 2 else 1.0
            factor = 1.0 / factor if factor else 0.0  # Caffe stores sums scaled by a moving-average factor
            module = nn.BatchNorm2d(blobs[0].size, eps=eps, affine=False)
            module.running_mean.copy_(torch.from_numpy(blobs[0].reshape(-1) * factor))
            module.running_var.copy_(torch.from_numpy(blobs[1].reshape(-1) * factor))
            return module
        if kind == "Scale":
            return _ChannelScale(torch.from_numpy(blobs[0].reshape(-1)))
        if kind == "Softmax":
            return nn.Softmax(dim=1)
        raise VisionDeskError(f"{prototxt}: layer '{name}' of type {kind} has no GPU version here; use device: cpu.")

    def forward(self, blob: np.ndarray) -> np.ndarray:
        torch = self.torch
        with torch.inference_mode():
            return self.model(torch.from_numpy(blob).to(self.device)).float().cpu().numpy()


def _ChannelScale(scale: Any) -> Any:  # noqa: N802 - a module factory (torch is imported lazily)
    from torch import nn

    class ChannelScale(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("scale", scale.view(1, -1, 1, 1).clone())

        def forward(self, x: Any) -> Any:
            return x * self.scale

    return ChannelScale()
