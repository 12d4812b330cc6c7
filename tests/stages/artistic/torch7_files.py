"""Writes small Lua Torch7 (``.t7``) networks so tests load them through OpenCV's real Torch importer.

Torch7's binary serialisation, as ``cv2.dnn.readNetFromTorch`` reads it:
every value starts with an int type tag (nil 0, number 1, string 2, table 3,
torch object 4, boolean 5); tables and torch objects then carry an int
reference index; a string is an int length and its bytes; a number is a
double; a torch object is a version string ("V 1"), its class name and then
its fields: a table for ``nn.*`` modules, dims/sizes/strides/offset and a
storage for tensors, a long size and raw values for storages. Longs are 8 bytes.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

NIL, NUMBER, STRING, TABLE, TORCH = 0, 1, 2, 3, 4


class Torch7Writer:
    def __init__(self) -> None:
        self.out = bytearray()
        self.index = 0

    def _next(self) -> int:
        self.index += 1
        return self.index

    def int(self, v: int) -> None:
        self.out += struct.pack("<i", v)

    def long(self, v: int) -> None:
        self.out += struct.pack("<q", v)

    def raw_string(self, s: str) -> None:
        data = s.encode()
        self.int(len(data))
        self.out += data

    def value(self, v: object) -> None:
        if v is None:
            self.int(NIL)
        elif isinstance(v, (int, float)):
            self.int(NUMBER)
            self.out += struct.pack("<d", float(v))
        elif isinstance(v, str):
            self.int(STRING)
            self.raw_string(v)
        elif isinstance(v, np.ndarray):
            self.tensor(v)
        elif isinstance(v, Module):
            self.module(v)
        elif isinstance(v, (dict, list)):
            self.table(dict(enumerate(v, start=1)) if isinstance(v, list) else v)
        else:
            raise TypeError(type(v))

    def table(self, fields: dict) -> None:
        self.int(TABLE)
        self.int(self._next())
        self.int(len(fields))
        for key, val in fields.items():
            self.value(key)
            self.value(val)

    def _torch_header(self, class_name: str) -> None:
        self.int(TORCH)
        self.int(self._next())
        self.raw_string("V 1")
        self.raw_string(class_name)

    def tensor(self, array: np.ndarray) -> None:
        array = np.ascontiguousarray(array, np.float32)
        self._torch_header("torch.FloatTensor")
        self.int(array.ndim)
        for n in array.shape:
            self.long(n)
        for s in array.strides:
            self.long(s // array.itemsize)
        self.long(1)  # storage offset, 1-based
        self._torch_header("torch.FloatStorage")
        self.long(array.size)
        self.out += array.astype("<f4").tobytes()

    def module(self, m: "Module") -> None:
        self._torch_header(f"nn.{m.name}")
        self.table(m.fields)


class Module:
    def __init__(self, name: str, **fields: object) -> None:
        self.name = name
        self.fields = fields


def tiny_fast_style_modules(seed: int = 0) -> tuple[list[Module], dict[str, np.ndarray]]:
    """A small network in the shape of Johnson's instance-norm models: pad, conv 3x3, instance norm, ReLU, conv 1x1, TotalVariation."""
    rng = np.random.default_rng(seed)
    w1 = rng.normal(0, 0.1, (8, 3, 3, 3)).astype(np.float32)
    b1 = rng.normal(0, 0.1, 8).astype(np.float32)
    g = rng.uniform(0.5, 1.5, 8).astype(np.float32)
    beta = rng.normal(0, 0.2, 8).astype(np.float32)
    w2 = rng.normal(0, 30, (3, 8, 1, 1)).astype(np.float32)
    b2 = rng.normal(0, 5, 3).astype(np.float32)
    modules = [
        Module("SpatialReflectionPadding", pad_l=1, pad_r=1, pad_t=1, pad_b=1),
        Module("SpatialConvolution", weight=w1, bias=b1, nInputPlane=3, nOutputPlane=8, kW=3, kH=3, dW=1, dH=1, padW=0, padH=0),
        Module("InstanceNormalization", weight=g, bias=beta, eps=1e-5, nOutput=8),
        Module("ReLU", inplace=False),
        Module("SpatialConvolution", weight=w2, bias=b2, nInputPlane=8, nOutputPlane=3, kW=1, kH=1, dW=1, dH=1, padW=0, padH=0),
        Module("TotalVariation", strength=1e-6),
    ]
    return modules, {"w1": w1, "b1": b1, "gamma": g, "beta": beta, "w2": w2, "b2": b2}


def write_tiny_fast_style(path: Path, seed: int = 0) -> dict[str, np.ndarray]:
    """Writes the tiny network as an ``nn.Sequential`` .t7 file; returns its weights for a reference computation."""
    modules, weights = tiny_fast_style_modules(seed)
    writer = Torch7Writer()
    writer.module(Module("Sequential", modules=modules))
    path.write_bytes(bytes(writer.out))
    return weights
