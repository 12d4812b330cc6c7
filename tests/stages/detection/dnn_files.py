"""Small real networks in the three formats dnn_detect reads, written by the tests without Darknet, Caffe or TensorFlow:
Darknet YOLO (.cfg + .weights), Caffe SSD (.prototxt + .caffemodel) and TensorFlow SSD (frozen .pb + .pbtxt).

Each sees its 32x32 input as a 4x4 grid of cells: the first layer averages each cell's colour (an 8x8 convolution
with stride 8), so a cell filled with one colour gives exactly that colour, and 1x1 convolutions then score each
cell by its colour, with constant box offsets. Which cells fire, and so which boxes come out, is therefore known;
the tests compute the boxes from the formats' own formulas and compare.

- YOLO: objectness from red, class 0 ("lemon") from green, class 1 ("plum") from blue. A second head on a 2x2 grid
  fires only where a whole 2x2 block of cells is red. Yellow cells are lemons, magenta cells plums, white both.
- SSD: one prior box per cell (a cell's size); class 1 ("leaf") from green, class 2 ("cherry") from red, label 0 the
  background; softmax (Caffe) or sigmoid (TensorFlow) scores.
"""

from __future__ import annotations

import struct
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vision_desk.stages.artistic.caffe_write import caffemodel_bytes, pb_field, pb_varint

NET = 32  # network input side (pixels)
GRID = 4  # cells per side
YOLO_NAMES = ["lemon", "plum"]
SSD_NAMES = ["leaf", "cherry"]
#: The constant SSD box offsets (dx, dy, dw, dh); equal pairs, so TensorFlow's (y, x) order reads the same.
SSD_LOC = (0.5, 0.5, 0.25, 0.25)
SSD_VARIANCE = (0.1, 0.1, 0.2, 0.2)


def cell_averaging(channels_last: bool = False) -> np.ndarray:
    """Weights of an 8x8 convolution that averages each input channel into the same output channel."""
    w = np.zeros((3, 3, 8, 8), np.float32)
    for c in range(3):
        w[c, c] = 1 / 64
    return w.transpose(2, 3, 1, 0).copy() if channels_last else w  # OIHW (Darknet, Caffe) or HWIO (TensorFlow)


def paint(image: np.ndarray, row: int, col: int, bgr: tuple[int, int, int]) -> np.ndarray:
    """Fills one grid cell of the frame with a colour (cells are frame width / GRID by frame height / GRID)."""
    h, w = image.shape[:2]
    image[row * h // GRID:(row + 1) * h // GRID, col * w // GRID:(col + 1) * w // GRID] = bgr
    return image


# -- Darknet YOLO ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class YoloHead:
    """One [yolo] head: its anchor (w, h in network pixels), the constant tx, ty, tw, th, its scale_x_y, and its
    objectness as bias + weight * red (red averaged over the head's cell)."""

    anchor: tuple[int, int]
    box: tuple[float, float, float, float]
    scale_x_y: float
    objectness: tuple[float, float]
    grid: int

    def rows(self) -> tuple[np.ndarray, np.ndarray]:
        """(bias, weights) of its 1x1 convolution: 7 outputs (tx, ty, tw, th, obj, lemon, plum) from (R, G, B)."""
        bias = np.array([*self.box, self.objectness[0], -10.0, -10.0], np.float32)
        weights = np.zeros((7, 3, 1, 1), np.float32)
        weights[4, 0] = self.objectness[1]  # red: objectness
        weights[5, 1] = 20.0  # green: lemon
        weights[6, 2] = 18.0  # blue: plum, a little weaker, so a white cell is a lemon first
        return bias, weights


#: The 4x4 head, YOLOv4-style (scale_x_y 1.05), and the 2x2 head, YOLOv3-style, that needs a whole block red.
SMALL = YoloHead((8, 8), (1.0, -1.0, 0.5, -0.25), 1.05, (-10.0, 20.0), 4)
LARGE = YoloHead((16, 16), (0.0, 0.0, 0.0, 0.0), 1.0, (-30.0, 40.0), 2)


def _conv(filters: int, size: int, stride: int) -> str:
    return f"[convolutional]\nfilters={filters}\nsize={size}\nstride={stride}\npad=0\nactivation=linear\n\n"


def _yolo(heads: tuple[YoloHead, ...], index: int) -> str:
    anchors = ", ".join(f"{w},{h}" for w, h in (head.anchor for head in heads))
    return (f"[yolo]\nmask={index}\nanchors={anchors}\nclasses=2\nnum={len(heads)}\nscale_x_y={heads[index].scale_x_y}\n"
            "jitter=.3\nignore_thresh=.7\ntruth_thresh=1\n\n")


def write_yolo(folder: Path, heads: tuple[YoloHead, YoloHead] = (SMALL, LARGE), version: tuple[int, int, int] = (0, 2, 0),
               stem: str = "tiny-yolo") -> dict[str, Path]:
    """<stem>.cfg, <stem>.weights and <stem>.names; version is the weights header's (major, minor, revision), whose
    'seen' counter is 64-bit from 0.2 on and 32-bit before."""
    folder.mkdir(parents=True, exist_ok=True)
    cfg = (f"[net]\nwidth={NET}\nheight={NET}\nchannels=3\n\n" + _conv(3, 8, 8) + _conv(7, 1, 1) + _yolo(heads, 0)
           + "[route]\nlayers=0\n\n" + _conv(3, 2, 2) + _conv(7, 1, 1) + _yolo(heads, 1))
    block = np.zeros((3, 3, 2, 2), np.float32)  # the 2x2 head's cells: the average of four 4x4 cells
    for c in range(3):
        block[c, c] = 1 / 4
    major, minor, _ = version
    blobs = [np.zeros(3, np.float32), cell_averaging(), *heads[0].rows(), np.zeros(3, np.float32), block, *heads[1].rows()]
    header = struct.pack("<iii", *version) + struct.pack("<q" if major * 10 + minor >= 2 else "<i", 0)
    paths = {"cfg": folder / f"{stem}.cfg", "weights": folder / f"{stem}.weights", "names": folder / f"{stem}.names"}
    paths["cfg"].write_text(cfg, encoding="utf-8")
    paths["weights"].write_bytes(header + b"".join(np.ascontiguousarray(b, "<f4").tobytes() for b in blobs))
    paths["names"].write_text("\n".join(YOLO_NAMES) + "\n", encoding="utf-8")
    return paths


# -- Caffe SSD -------------------------------------------------------------------------------------------------

def _caffe_prototxt() -> str:
    def conv(name: str, bottom: str, out: int, k: int, stride: int = 1) -> str:
        return (f'layer {{ name: "{name}" type: "Convolution" bottom: "{bottom}" top: "{name}" '
                f'convolution_param {{ num_output: {out} kernel_size: {k} stride: {stride} }} }}\n')

    def flat(name: str, bottom: str) -> str:
        return (f'layer {{ name: "{name}_perm" type: "Permute" bottom: "{bottom}" top: "{name}_perm" permute_param {{ order: 0 order: 2 order: 3 order: 1 }} }}\n'
                f'layer {{ name: "{name}" type: "Flatten" bottom: "{name}_perm" top: "{name}" flatten_param {{ axis: 1 }} }}\n')

    var = " ".join(f"variance: {v}" for v in SSD_VARIANCE)
    return ('name: "TinySSD"\ninput: "data"\ninput_shape { dim: 1 dim: 3 dim: 32 dim: 32 }\n'
            + conv("cells", "data", 3, 8, 8) + conv("loc", "cells", 4, 1) + flat("loc_flat", "loc") + conv("conf", "cells", 3, 1) + flat("conf_flat", "conf")
            + f'layer {{ name: "priors" type: "PriorBox" bottom: "cells" bottom: "data" top: "priors" prior_box_param {{ min_size: 8.0 clip: false {var} offset: 0.5 }} }}\n'
            'layer { name: "conf_3d" type: "Reshape" bottom: "conf_flat" top: "conf_3d" reshape_param { shape { dim: 0 dim: -1 dim: 3 } } }\n'
            'layer { name: "conf_softmax" type: "Softmax" bottom: "conf_3d" top: "conf_softmax" softmax_param { axis: 2 } }\n'
            'layer { name: "conf_out" type: "Flatten" bottom: "conf_softmax" top: "conf_out" flatten_param { axis: 1 } }\n'
            'layer { name: "detection_out" type: "DetectionOutput" bottom: "loc_flat" bottom: "conf_out" bottom: "priors" top: "detection_out"\n'
            '  detection_output_param { num_classes: 3 share_location: true background_label_id: 0 nms_param { nms_threshold: 0.45 top_k: 100 }\n'
            '    code_type: CENTER_SIZE keep_top_k: 100 confidence_threshold: 0.01 } }\n')


def write_caffe_ssd(folder: Path, background_line: bool = False, stem: str = "tiny-ssd") -> dict[str, Path]:
    """<stem>.prototxt, <stem>.caffemodel and <stem>.txt (names; with a first 'background' line if asked).

    Made for the Caffe family's default input, (pixel - 127.5) / 127.5 in BGR order: a channel at 255 is +1, at 0 -1.
    Class scores are softmax([0, 10 * green, 10 * red]).
    """
    folder.mkdir(parents=True, exist_ok=True)
    conf = np.zeros((3, 3, 1, 1), np.float32)
    conf[1, 1] = 10.0  # leaf from green (BGR channel 1)
    conf[2, 2] = 10.0  # cherry from red (BGR channel 2)
    weights = {"cells": [cell_averaging(), np.zeros(3, np.float32)],
               "loc": [np.zeros((4, 3, 1, 1), np.float32), np.array(SSD_LOC, np.float32)],
               "conf": [conf, np.zeros(3, np.float32)]}
    paths = {"prototxt": folder / f"{stem}.prototxt", "caffemodel": folder / f"{stem}.caffemodel", "names": folder / f"{stem}.txt"}
    paths["prototxt"].write_text(_caffe_prototxt(), encoding="utf-8")
    paths["caffemodel"].write_bytes(caffemodel_bytes("TinySSD", weights))
    paths["names"].write_text("\n".join((["background"] if background_line else []) + SSD_NAMES) + "\n", encoding="utf-8")
    return paths


# -- TensorFlow SSD --------------------------------------------------------------------------------------------
# A frozen graph is a protobuf GraphDef; only its Const nodes (the weights, read by name) are written here, and the
# text graph (.pbtxt) says how they connect, in the layout OpenCV's tf_text_graph_ssd.py writes for SSDs:
#   GraphDef { node = 1 (NodeDef) }   NodeDef { name = 1; op = 2; attr = 5 (map: key = 1, value = 2 AttrValue) }
#   AttrValue { type = 6; tensor = 8 }   TensorProto { dtype = 1; tensor_shape = 2; tensor_content = 4 }
#   TensorShapeProto { dim = 2 (Dim { size = 1 }) }

def _varint_field(number: int, value: int) -> bytes:
    return pb_varint(number << 3) + pb_varint(value)


def _const_node(name: str, array: np.ndarray) -> bytes:
    shape = b"".join(pb_field(2, _varint_field(1, d)) for d in array.shape)
    tensor = _varint_field(1, 1) + pb_field(2, shape) + pb_field(4, np.ascontiguousarray(array, "<f4").tobytes())  # dtype 1: DT_FLOAT
    attrs = pb_field(5, pb_field(1, b"dtype") + pb_field(2, _varint_field(6, 1))) + pb_field(5, pb_field(1, b"value") + pb_field(2, pb_field(8, tensor)))
    return pb_field(1, pb_field(1, name.encode()) + pb_field(2, b"Const") + attrs)


def _tf_pbtxt() -> str:
    def conv(name: str, inp: str, stride: int) -> str:
        return (f'node {{ name: "{name}/Conv2D" op: "Conv2D" input: "{inp}" input: "{name}/weights"\n'
                f'  attr {{ key: "data_format" value {{ s: "NHWC" }} }} attr {{ key: "padding" value {{ s: "VALID" }} }}\n'
                f'  attr {{ key: "strides" value {{ list {{ i: 1 i: {stride} i: {stride} i: 1 }} }} }} }}\n'
                f'node {{ name: "{name}/BiasAdd" op: "BiasAdd" input: "{name}/Conv2D" input: "{name}/biases" '
                'attr { key: "data_format" value { s: "NHWC" } } }\n')

    def floats(values: tuple[float, ...]) -> str:
        return ("tensor { dtype: DT_FLOAT " + " ".join(f"float_val: {v}" for v in values)
                + f" tensor_shape {{ dim {{ size: {len(values)} }} }} }}")

    def attr(key: str, value: str) -> str:
        return f'attr {{ key: "{key}" value {{ {value} }} }} '

    return ('node { name: "image_tensor" op: "Placeholder" attr { key: "dtype" value { type: DT_UINT8 } }\n'
            '  attr { key: "shape" value { shape { dim { size: -1 } dim { size: -1 } dim { size: -1 } dim { size: 3 } } } } }\n'
            + conv("cells", "image_tensor", 8) + conv("loc", "cells/BiasAdd", 1) + conv("conf", "cells/BiasAdd", 1)
            + 'node { name: "loc/Flatten" op: "Flatten" input: "loc/BiasAdd" }\n'
            'node { name: "conf/Flatten" op: "Flatten" input: "conf/BiasAdd" }\n'
            'node { name: "PriorBox_0" op: "PriorBox" input: "loc/BiasAdd" input: "image_tensor" '
            + attr("clip", "b: false") + attr("flip", "b: false") + attr("width", floats((8.0,))) + attr("height", floats((8.0,)))
            + attr("variance", floats(SSD_VARIANCE)) + '}\n'
            'node { name: "conf/shape" op: "Const" attr { key: "value" value { tensor { dtype: DT_INT32 int_val: 0 int_val: -1 int_val: 3 '
            'tensor_shape { dim { size: 3 } } } } } }\n'
            'node { name: "conf/reshape" op: "Reshape" input: "conf/Flatten" input: "conf/shape" }\n'
            'node { name: "conf/sigmoid" op: "Sigmoid" input: "conf/reshape" }\n'
            'node { name: "conf/sigmoid/Flatten" op: "Flatten" input: "conf/sigmoid" }\n'
            'node { name: "detection_out" op: "DetectionOutput" input: "loc/Flatten" input: "conf/sigmoid/Flatten" input: "PriorBox_0" '
            + attr("background_label_id", "i: 0") + attr("code_type", 's: "CENTER_SIZE"') + attr("confidence_threshold", "f: 0.01")
            + attr("keep_top_k", "i: 100") + attr("nms_threshold", "f: 0.6") + attr("num_classes", "i: 3")
            + attr("share_location", "b: true") + attr("top_k", "i: 100") + '}\n')


def write_tf_ssd(folder: Path, archive: bool = False, stem: str = "tiny-ssd-tf") -> dict[str, Path]:
    """<stem>.pb (or the <stem>.tar.gz it is published in, holding <stem>/frozen_inference_graph.pb), <stem>.pbtxt
    and <stem>.txt (names, no background line).

    Made for the TensorFlow family's default input, RGB 0..255 unscaled. Class scores are sigmoid(-10 + 20 * green
    / 255) (leaf) and sigmoid(-10 + 20 * red / 255) (cherry).
    """
    folder.mkdir(parents=True, exist_ok=True)
    conf = np.zeros((1, 1, 3, 3), np.float32)  # HWIO, input channels R, G, B
    conf[0, 0, 1, 1] = 20 / 255  # leaf from green
    conf[0, 0, 0, 2] = 20 / 255  # cherry from red
    consts = {"cells/weights": cell_averaging(channels_last=True), "cells/biases": np.zeros(3, np.float32),
              "loc/weights": np.zeros((1, 1, 3, 4), np.float32), "loc/biases": np.array(SSD_LOC, np.float32),
              "conf/weights": conf, "conf/biases": np.full(3, -10.0, np.float32)}
    graph = b"".join(_const_node(name, array) for name, array in consts.items())
    paths = {"pbtxt": folder / f"{stem}.pbtxt", "names": folder / f"{stem}.txt"}
    if archive:
        paths["pb"] = folder / f"{stem}.tar.gz"
        member = folder / "frozen_inference_graph.pb"
        member.write_bytes(graph)
        with tarfile.open(paths["pb"], "w:gz") as tar:
            tar.add(member, arcname=f"{stem}/frozen_inference_graph.pb")
        member.unlink()
    else:
        paths["pb"] = folder / f"{stem}.pb"
        paths["pb"].write_bytes(graph)
    paths["pbtxt"].write_text(_tf_pbtxt(), encoding="utf-8")
    paths["names"].write_text("\n".join(SSD_NAMES) + "\n", encoding="utf-8")
    return paths


# -- the published Darknet layouts (layer types and sizes only), to check the weights-size arithmetic -------------

def _cfg_conv(filters: int, size: int, stride: int = 1, norm: bool = True) -> str:
    return f"[convolutional]\n{'batch_normalize=1' if norm else ''}\nfilters={filters}\nsize={size}\nstride={stride}\npad=1\n\n"


def _cfg_route(layers: str, groups: int = 0) -> str:
    return f"[route]\nlayers={layers}\n" + (f"groups={groups}\ngroup_id=1\n" if groups else "") + "\n"


def yolov3_layout() -> str:
    """pjreddie's yolov3.cfg, layers and sizes only: Darknet-53 (residual blocks) and three heads of 255 filters."""
    shortcut = "[shortcut]\nfrom=-3\n\n"
    cfg = "[net]\nwidth=416\nheight=416\nchannels=3\n\n" + _cfg_conv(32, 3)
    for filters, blocks in ((64, 1), (128, 2), (256, 8), (512, 8), (1024, 4)):
        cfg += _cfg_conv(filters, 3, 2) + (_cfg_conv(filters // 2, 1) + _cfg_conv(filters, 3) + shortcut) * blocks

    def head(filters: int) -> str:
        return (_cfg_conv(filters, 1) + _cfg_conv(2 * filters, 3)) * 3 + _cfg_conv(255, 1, norm=False) + "[yolo]\nmask=0,1,2\n\n"

    for filters, skip in ((256, 61), (128, 36)):
        cfg += head(filters * 2) + _cfg_route("-4") + _cfg_conv(filters, 1) + "[upsample]\nstride=2\n\n" + _cfg_route(f"-1, {skip}")
    return cfg + head(128)


def yolov4_tiny_layout() -> str:
    """AlexeyAB's yolov4-tiny.cfg, layers and sizes only: CSP blocks (grouped routes) and two heads of 255 filters."""
    pool = "[maxpool]\nsize=2\nstride=2\n\n"
    cfg = "[net]\nwidth=416\nheight=416\nchannels=3\n\n" + _cfg_conv(32, 3, 2) + _cfg_conv(64, 3, 2)
    for filters in (64, 128, 256):
        cfg += (_cfg_conv(filters, 3) + _cfg_route("-1", 2) + _cfg_conv(filters // 2, 3) + _cfg_conv(filters // 2, 3)
                + _cfg_route("-1,-2") + _cfg_conv(filters, 1) + _cfg_route("-6,-1") + pool)
    cfg += _cfg_conv(512, 3) + _cfg_conv(256, 1) + _cfg_conv(512, 3) + _cfg_conv(255, 1, norm=False) + "[yolo]\nmask=3,4,5\n\n"
    cfg += _cfg_route("-4") + _cfg_conv(128, 1) + "[upsample]\nstride=2\n\n" + _cfg_route("-1, 23") + _cfg_conv(256, 3)
    return cfg + _cfg_conv(255, 1, norm=False) + "[yolo]\nmask=1,2,3\n\n"
