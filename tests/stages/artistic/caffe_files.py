"""Writes small Caffe networks (prototxt + binary caffemodel) so tests load them through the real Caffe reader.

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


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _blob(array: np.ndarray) -> bytes:
    shape = _field(1, b"".join(_varint(int(d)) for d in array.shape))
    return _field(7, shape) + _field(5, np.ascontiguousarray(array, dtype="<f4").tobytes())


def caffemodel_bytes(name: str, weights: dict[str, list[np.ndarray]]) -> bytes:
    """A binary NetParameter holding the given blobs per layer name."""
    layers = b""
    for layer, blobs in weights.items():
        body = _field(1, layer.encode()) + b"".join(_field(7, _blob(b)) for b in blobs)
        layers += _field(100, body)
    return _field(1, name.encode()) + layers


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
