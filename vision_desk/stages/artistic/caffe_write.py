"""Writes Caffe networks (prototxt + binary caffemodel) with made-up weights, read back by the real Caffe reader.

The tests use a small deterministic colorization network in the same format as
Zhang et al.'s; the benchmark uses a copy of the real network's layout with
random weights when the real weights are not downloaded (same cost per frame,
meaningless colours).

A ``.caffemodel`` is a protobuf ``NetParameter``; only the handful of fields
OpenCV's Caffe importer reads for weights are written here, by hand, so the
tests need neither Caffe nor generated protobuf classes:

    NetParameter   { name = 1; layer = 100 (LayerParameter) }
    LayerParameter { name = 1; type = 2; blobs = 7 (BlobProto) }
    BlobProto      { data = 5 (packed float); shape = 7 (BlobShape) }
    BlobShape      { dim = 1 (packed int64) }
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def pb_varint(value: int) -> bytes:
    """A protobuf base-128 varint."""
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def pb_field(number: int, payload: bytes) -> bytes:
    """A protobuf length-delimited field (wire type 2): a string, bytes, a packed array or a message."""
    return pb_varint(number << 3 | 2) + pb_varint(len(payload)) + payload


def _blob(array: np.ndarray) -> bytes:
    shape = pb_field(1, b"".join(pb_varint(int(d)) for d in array.shape))
    return pb_field(7, shape) + pb_field(5, np.ascontiguousarray(array, dtype="<f4").tobytes())


def caffemodel_bytes(name: str, weights: dict[str, list[np.ndarray]]) -> bytes:
    """A binary NetParameter holding the given blobs per layer name."""
    layers = b""
    for layer, blobs in weights.items():
        body = pb_field(1, layer.encode()) + b"".join(pb_field(7, _blob(b)) for b in blobs)
        layers += pb_field(100, body)
    return pb_field(1, name.encode()) + layers


#: The tail of Zhang et al.'s colorization_deploy_v2.prototxt (conv8_313 onwards, names and types
#: unchanged) behind one small strided convolution standing in for conv1..conv8: 224 -> 56, as in
#: the real network.
TINY_COLORIZATION_PROTOTXT = """name: "TinyLtoAB"
layer { name: "data_l" type: "Input" top: "data_l" input_param { shape { dim: 1 dim: 1 dim: 224 dim: 224 } } }
layer { name: "bw_conv1_1" type: "Convolution" bottom: "data_l" top: "conv1_1"
        convolution_param { num_output: 4 kernel_size: 4 stride: 4 } }
layer { name: "relu1_1" type: "ReLU" bottom: "conv1_1" top: "conv1_1" }
layer { name: "conv8_313" type: "Convolution" bottom: "conv1_1" top: "conv8_313"
        convolution_param { num_output: 313 kernel_size: 1 stride: 1 dilation: 1 } }
layer { name: "conv8_313_rh" type: "Scale" bottom: "conv8_313" top: "conv8_313_rh"
        scale_param { bias_term: False filler { type: 'constant' value: 2.606 } } }
layer { name: "class8_313_rh" type: "Softmax" bottom: "conv8_313_rh" top: "class8_313_rh" }
layer { name: "class8_ab" type: "Convolution" bottom: "class8_313_rh" top: "class8_ab"
        convolution_param { num_output: 2 kernel_size: 1 stride: 1 dilation: 1 } }
layer { name: "Silence" type: "Silence" bottom: "class8_ab" }
"""


def write_tiny_colorization(folder: Path, pts_in_hull: np.ndarray, seed: int = 0, gain: float = 1.0) -> dict[str, Path]:
    """A deterministic tiny colorization network and its cluster centres, as the three files the stage reads.

    The weights come from a seeded generator; the ab output is the softmax over
    313 bins times ``pts_in_hull`` (313 x 2), exactly as in the real network, so
    313 equal rows give a constant ab prediction. ``gain`` scales the first
    layer's weights: larger makes the colours react more to small changes of L.
    """
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    weights = {
        "bw_conv1_1": [(gain * rng.normal(0, 0.05, (4, 1, 4, 4))).astype(np.float32), np.zeros(4, np.float32)],
        "conv8_313": [rng.normal(0, 0.5, (313, 4, 1, 1)).astype(np.float32), rng.normal(0, 0.5, 313).astype(np.float32)],
    }
    paths = {
        "prototxt": folder / "tiny_colorization.prototxt",
        "caffemodel": folder / "tiny_colorization.caffemodel",
        "points": folder / "tiny_pts_in_hull.npy",
    }
    paths["prototxt"].write_text(TINY_COLORIZATION_PROTOTXT, encoding="utf-8")
    paths["caffemodel"].write_bytes(caffemodel_bytes("TinyLtoAB", weights))
    np.save(paths["points"], np.asarray(pts_in_hull, dtype=np.float64).reshape(313, 2))
    return paths


def zhang_layout_prototxt() -> str:
    """The layer layout of Zhang et al.'s colorization_deploy_v2.prototxt (BSD-2-Clause, richzhang/colorization)."""
    lines = ['name: "LtoAB"', 'layer { name: "data_l" type: "Input" top: "data_l" input_param { shape { dim: 1 dim: 1 dim: 224 dim: 224 } } }']
    previous = "data_l"
    for name, kind, _cin, cout, k, stride, pad, dilation in _zhang_convs():
        if kind == "BatchNorm":
            lines.append(f'layer {{ name: "{name}" type: "BatchNorm" bottom: "{previous}" top: "{name}" batch_norm_param {{ }} }}')
        else:
            lines.append(f'layer {{ name: "{name}" type: "{kind}" bottom: "{previous}" top: "{name}" convolution_param {{ '
                         f'num_output: {cout} kernel_size: {k} stride: {stride} pad: {pad} dilation: {dilation} }} }}')
            if name != "conv8_313":
                lines.append(f'layer {{ name: "relu_{name}" type: "ReLU" bottom: "{name}" top: "{name}" }}')
        previous = name
    lines += [
        'layer { name: "conv8_313_rh" type: "Scale" bottom: "conv8_313" top: "conv8_313_rh" scale_param { bias_term: false filler { type: "constant" value: 2.606 } } }',
        'layer { name: "class8_313_rh" type: "Softmax" bottom: "conv8_313_rh" top: "class8_313_rh" }',
        'layer { name: "class8_ab" type: "Convolution" bottom: "class8_313_rh" top: "class8_ab" convolution_param { num_output: 2 kernel_size: 1 } }',
        'layer { name: "Silence" type: "Silence" bottom: "class8_ab" }',
    ]
    return "\n".join(lines) + "\n"


def _zhang_convs() -> list[tuple[str, str, int, int, int, int, int, int]]:
    """(name, type, in, out, kernel, stride, pad, dilation) of conv1_1 .. conv8_313, with the BatchNorm layers."""
    rows: list[tuple[str, str, int, int, int, int, int, int]] = []
    blocks = [  # (block, [(in, out, stride)], dilation)
        (1, [(1, 64, 1), (64, 64, 2)], 1), (2, [(64, 128, 1), (128, 128, 2)], 1),
        (3, [(128, 256, 1), (256, 256, 1), (256, 256, 2)], 1), (4, [(256, 512, 1), (512, 512, 1), (512, 512, 1)], 1),
        (5, [(512, 512, 1)] * 3, 2), (6, [(512, 512, 1)] * 3, 2), (7, [(512, 512, 1)] * 3, 1),
    ]
    for block, convs, dilation in blocks:
        for i, (cin, cout, stride) in enumerate(convs, start=1):
            rows.append((f"conv{block}_{i}", "Convolution", cin, cout, 3, stride, dilation, dilation))
        rows.append((f"conv{block}_{len(convs)}norm", "BatchNorm", cout, cout, 0, 0, 0, 0))
    rows += [("conv8_1", "Deconvolution", 512, 256, 4, 2, 1, 1), ("conv8_2", "Convolution", 256, 256, 3, 1, 1, 1),
             ("conv8_3", "Convolution", 256, 256, 3, 1, 1, 1), ("conv8_313", "Convolution", 256, 313, 1, 1, 0, 1)]
    return rows


def write_zhang_layout_random(folder: Path, seed: int = 0) -> dict[str, Path]:
    """Zhang et al.'s full layout with random weights (about 129 MB, like the real file): for timing only."""
    rng = np.random.default_rng(seed)
    weights: dict[str, list[np.ndarray]] = {}
    for name, kind, cin, cout, k, _s, _p, _d in _zhang_convs():
        if kind == "BatchNorm":
            weights[name] = [np.zeros(cout, np.float32), np.ones(cout, np.float32), np.ones(1, np.float32)]
        else:
            shape = (cin, cout, k, k) if kind == "Deconvolution" else (cout, cin, k, k)
            weights[name] = [rng.normal(0, (2.0 / (cin * k * k)) ** 0.5, shape).astype(np.float32), np.zeros(cout, np.float32)]
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"prototxt": folder / "zhang_layout.prototxt", "caffemodel": folder / "zhang_layout_random.caffemodel", "points": folder / "random_pts.npy"}
    paths["prototxt"].write_text(zhang_layout_prototxt(), encoding="utf-8")
    paths["caffemodel"].write_bytes(caffemodel_bytes("LtoAB", weights))
    np.save(paths["points"], rng.normal(0, 30, (313, 2)))
    return paths
