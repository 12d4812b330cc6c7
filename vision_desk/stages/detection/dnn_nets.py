"""Classic detectors in OpenCV's DNN module: Darknet YOLO, Caffe SSD and TensorFlow SSD (plain functions).

Three families, told apart by the model file's ending:

- **darknet** (``.weights`` + ``.cfg``): YOLOv2/v3/v4 and their -tiny
  variants. OpenCV turns each ``[yolo]`` (or ``[region]``) section into a
  *Region* layer whose output has one row per grid cell and anchor: box centre
  x, y and width, height as fractions of the network input, objectness, then
  one score per class (objectness times class probability). Every output
  layer (one per scale) is read.
- **caffe** (``.caffemodel`` + ``.prototxt``) and **tensorflow** (frozen
  ``.pb``, or the ``.tar.gz`` it is published in, + the ``.pbtxt`` text graph
  OpenCV's ``tf_text_graph_ssd.py`` writes): SSDs ending in a
  *DetectionOutput* layer, whose (1, 1, N, 7) output rows are image id, label,
  confidence, x1, y1, x2, y2 as fractions of the input. Label 0 is the
  background class, so the first real class is 1.

Frames are resized to the network input without letterboxing (as Darknet
itself and OpenCV's samples do), so fractions of the input are fractions of
the frame. Non-maximum suppression is OpenCV's ``NMSBoxesBatched`` (per
class) or ``NMSBoxes`` (class-agnostic).
"""

from __future__ import annotations

import re
import tarfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vision_desk.errors import VisionDeskError

FAMILIES = ("darknet", "caffe", "tensorflow")
FAMILY_TITLES = {"darknet": "Darknet YOLO", "caffe": "Caffe SSD", "tensorflow": "TensorFlow SSD"}
#: How a family's weights file ends (auto tells the family by these).
MODEL_ENDINGS = {"darknet": (".weights",), "caffe": (".caffemodel",), "tensorflow": (".pb", ".tar.gz", ".tgz")}
#: How a family's network layout ends.
CONFIG_ENDING = {"darknet": ".cfg", "caffe": ".prototxt", "tensorflow": ".pbtxt"}
#: First lines of a class-names file that name the SSD background class (label 0) rather than a real class.
BACKGROUND_NAMES = {"background", "__background__"}
REGION, DETECTION_OUTPUT = "Region", "DetectionOutput"


@dataclass(frozen=True)
class Preprocess:
    """How a frame becomes the network input: resized to ``size`` (w, h), mean subtracted, then scaled.

    ``mean`` is in the network's channel order (R, G, B when ``rgb``), as
    ``cv2.dnn.blobFromImage`` takes it.
    """

    size: tuple[int, int]
    scale: float
    mean: tuple[float, float, float]
    rgb: bool

    def blob(self, image: np.ndarray) -> np.ndarray:
        """The (1, 3, h, w) float32 input for one BGR frame."""
        return cv2.dnn.blobFromImage(image, self.scale, self.size, self.mean, swapRB=self.rgb, crop=False)


#: Each family's classic preprocessing, as OpenCV's samples run these models (samples/dnn/models.yml): Darknet
#: scales pixels to 0..1 in RGB; MobileNet-SSD (Caffe) maps them to -1..1 in BGR; the TensorFlow SSD graphs scale
#: RGB 0..255 themselves. The input size is the layout's own where it states one (see :func:`native_size`).
DEFAULTS = {
    "darknet": Preprocess((416, 416), 1 / 255, (0.0, 0.0, 0.0), True),
    "caffe": Preprocess((300, 300), 1 / 127.5, (127.5, 127.5, 127.5), False),
    "tensorflow": Preprocess((300, 300), 1.0, (0.0, 0.0, 0.0), True),
}


def family_of(model: str | Path) -> str | None:
    """darknet, caffe or tensorflow from the weights file's name; None where the ending says nothing."""
    name = Path(model).name.lower()
    return next((f for f, endings in MODEL_ENDINGS.items() if name.endswith(endings)), None)


def stem_of(model: str | Path) -> str:
    """The model file's name without its family ending (``yolov3.weights`` -> ``yolov3``, ``x.tar.gz`` -> ``x``)."""
    name = Path(model).name
    for endings in MODEL_ENDINGS.values():
        for ending in endings:
            if name.lower().endswith(ending):
                return name[: -len(ending)]
    return Path(model).stem


def read_names(path: Path) -> list[str]:
    """Class names, one a line (coco.names style); line i names class i. Trailing blank lines are ignored."""
    try:
        lines = [line.strip() for line in path.read_text(encoding="utf-8-sig").splitlines()]
    except (OSError, UnicodeDecodeError) as err:
        raise VisionDeskError(f"could not read the class names file {path} ({err}); give a text file with one class name a line.") from None
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _sections(cfg: str) -> list[tuple[str, list[str]]]:
    """A Darknet .cfg as (section name, its lines) in order."""
    sections: list[tuple[str, list[str]]] = []
    for line in cfg.splitlines():
        header = re.match(r"\s*\[(\w+)\]", line)
        if header:
            sections.append((header.group(1).lower(), []))
        elif sections:
            sections[-1][1].append(line)
    return sections


def _option(lines: list[str], key: str) -> str | None:
    for line in lines:
        m = re.match(rf"\s*{key}\s*=\s*([^#;]+)", line)
        if m:
            return m.group(1).strip()
    return None


def native_size(family: str, config_text: str) -> tuple[int, int] | None:
    """The input (w, h) a layout states: Darknet's [net] width/height, a Caffe input's last two dims; else None."""
    if family == "darknet":
        for name, lines in _sections(config_text):
            if name in ("net", "network"):
                w, h = _option(lines, "width"), _option(lines, "height")
                return (int(w), int(h)) if w and h else None
        return None
    if family == "caffe":
        dims = [int(d) for d in re.findall(r"\b(?:input_)?dim\s*:\s*(\d+)", config_text)[:4]]
        return (dims[3], dims[2]) if len(dims) == 4 and dims[2] and dims[3] else None
    return None


def darknet_cfg_for_opencv(cfg: str) -> str:
    """The .cfg with ``thresh=0`` in every [yolo] and [region] section.

    OpenCV's Region layer zeroes class scores at or below the section's
    ``thresh`` (0.2 when the .cfg says nothing); with 0 every score reaches
    the stage, whose ``confidence`` then means what it says below 0.2 too.
    """
    out: list[str] = []
    section = ""
    for line in cfg.splitlines():
        header = re.match(r"\s*\[(\w+)\]", line)
        if header:
            section = header.group(1).lower()
            out.append(line)
            if section in ("yolo", "region"):
                out.append("thresh=0")
            continue
        if section in ("yolo", "region") and re.match(r"\s*thresh\s*=", line):
            continue
        out.append(line)
    return "\n".join(out) + "\n"


def read_frozen_graph(path: Path) -> bytes:
    """A TensorFlow frozen graph's bytes, from a .pb or from the .tar.gz it is published in (read in memory)."""
    if not tarfile.is_tarfile(path):
        return path.read_bytes()
    with tarfile.open(path) as archive:
        graphs = [m for m in archive.getmembers() if m.isfile() and m.name.endswith(".pb")]
        frozen = [m for m in graphs if m.name.endswith("frozen_inference_graph.pb")] or graphs
        if len(frozen) != 1:
            raise VisionDeskError(f"{path} holds {len(frozen) or 'no'} .pb files, not one frozen graph; extract the frozen_inference_graph.pb and give that as the model.")
        data = archive.extractfile(frozen[0])
        assert data is not None, "a file member always reads"
        return data.read()


def darknet_weight_count(cfg: str) -> int | None:
    """How many float32 numbers a .weights file holds after its header for this .cfg; None where a layer is unknown.

    Convolutions hold their biases (or, with batch_normalize, biases, scales, means and variances) and kernels;
    routes, shortcuts, pooling, upsampling and the YOLO heads hold none but change the channel counts that later
    kernels depend on. (Checked against yolov3.cfg and yolov4-tiny.cfg with the published files' sizes.)
    """
    sections = _sections(cfg)
    if not sections or sections[0][0] not in ("net", "network"):
        return None
    channels = int(_option(sections[0][1], "channels") or 3)
    outputs: list[int] = []
    total = 0
    for name, lines in sections[1:]:
        if name == "convolutional":
            filters, size = int(_option(lines, "filters") or 1), int(_option(lines, "size") or 1)
            groups, norm = int(_option(lines, "groups") or 1), int(_option(lines, "batch_normalize") or 0)
            total += filters * (channels // groups) * size * size + filters * (4 if norm else 1)
            channels = filters
        elif name == "route":
            layers = [int(v) for v in (_option(lines, "layers") or "-1").split(",")]
            channels = sum(outputs[i if i >= 0 else len(outputs) + i] for i in layers) // int(_option(lines, "groups") or 1)
        elif name == "reorg":
            channels *= int(_option(lines, "stride") or 2) ** 2
        elif name not in ("maxpool", "avgpool", "upsample", "shortcut", "dropout", "yolo", "region"):
            return None
        outputs.append(channels)
    return total


def _check_darknet_size(model: Path, cfg: str) -> None:
    """Refuses a .weights file shorter than its .cfg needs (OpenCV would load it and run on whatever it read)."""
    count = darknet_weight_count(cfg)
    major, minor = np.fromfile(model, "<i4", count=2) if model.stat().st_size >= 8 else (0, 0)
    needed = 12 + (8 if major * 10 + minor >= 2 else 4) + 4 * (count or 0)
    if model.stat().st_size < needed:
        raise VisionDeskError(f"{model.name} holds {model.stat().st_size} bytes, but its .cfg needs {needed}: it is "
                              "truncated or made for another .cfg; download it again or give the .cfg it was trained with.")


def _reason(err: Exception) -> str:
    """OpenCV's own words from a cv2.error (without its source location), as a clause."""
    text = str(err)
    m = re.search(r"error: \([^)]*\) (.*?)(?: in function '[^']*')?\s*$", text, re.S)
    return (m.group(1) if m else text).strip().rstrip(".").replace(". ", "; ").replace("\n", " ")


def load_net(family: str, model: Path, config: Path) -> cv2.dnn.Net:
    """The network from its two files; a VisionDeskError naming both where OpenCV cannot read them."""
    try:
        if family == "darknet":
            cfg = config.read_text(encoding="utf-8", errors="replace")
            _check_darknet_size(model, cfg)
            return cv2.dnn.readNetFromDarknet(np.frombuffer(darknet_cfg_for_opencv(cfg).encode(), np.uint8), np.fromfile(model, np.uint8))
        if family == "caffe":
            return cv2.dnn.readNetFromCaffe(str(config), str(model))
        graph = np.frombuffer(read_frozen_graph(model), np.uint8)
        return cv2.dnn.readNetFromTensorflow(graph, np.fromfile(config, np.uint8))
    except (cv2.error, OSError, tarfile.TarError) as err:
        raise VisionDeskError(
            f"could not read the {FAMILY_TITLES[family]} network {model.name} with {config.name} ({_reason(err)}); "
            "check that both files are complete and belong together.") from None


def cuda_available() -> bool:
    """Whether this OpenCV build has the CUDA DNN backend and sees a GPU (the pip wheels have neither)."""
    try:
        return bool(cv2.dnn.getAvailableTargets(cv2.dnn.DNN_BACKEND_CUDA)) and cv2.cuda.getCudaEnabledDeviceCount() > 0
    except (cv2.error, AttributeError):
        return False


class DnnDetector:
    """A loaded network with its preprocessing: frames in, boxes, scores and class ids out.

    Args:
        net: the network, as :func:`load_net` reads it.
        preprocess: how frames become its input.
        cuda: run on OpenCV's CUDA backend (check :func:`cuda_available` first) rather than its own CPU code.
    """

    def __init__(self, net: cv2.dnn.Net, preprocess: Preprocess, cuda: bool = False) -> None:
        if cuda:
            net.setPreferableBackend(cv2.dnn.DNN_BACKEND_CUDA)
            net.setPreferableTarget(cv2.dnn.DNN_TARGET_CUDA)
        else:
            net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
            net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
        self.net = net
        self.preprocess = preprocess
        self.outputs = list(net.getUnconnectedOutLayersNames())
        kinds = {net.getLayer(int(i)).type for i in np.ravel(net.getUnconnectedOutLayers())}
        if kinds == {REGION} or kinds == {DETECTION_OUTPUT}:
            self.kind = kinds.pop()
        else:
            raise VisionDeskError(
                f"the network ends in {', '.join(sorted(kinds))} layers, not YOLO region layers or an SSD DetectionOutput "
                "layer; dnn_detect reads only those (for Ultralytics models use the detect stage).")

    def detect(self, image: np.ndarray, confidence: float, iou: float, agnostic: bool = False, max_det: int = 300,
               classes: set[int] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Objects in one BGR frame: (N, 4) float32 xyxy boxes in frame pixels, (N,) scores and (N,) int class ids.

        Args:
            image: the frame.
            confidence: boxes scored below this are dropped (YOLO: objectness times class probability; a box
                above it in several classes counts once per class, as in Darknet).
            iou: boxes overlapping a better one by more than this are suppressed.
            agnostic: suppress across classes too (otherwise only within a class).
            max_det: at most this many, best first.
            classes: keep only these class ids (None: all), chosen before suppression.
        """
        self.net.setInput(self.preprocess.blob(image))
        outs = self.net.forward(self.outputs)
        h, w = image.shape[:2]
        decode = decode_region if self.kind == REGION else decode_detection_output
        xyxy, score, class_id = decode(outs, (w, h), confidence)
        if classes is not None:
            wanted = np.isin(class_id, list(classes))
            xyxy, score, class_id = xyxy[wanted], score[wanted], class_id[wanted]
        np.clip(xyxy, 0, [w, h, w, h], out=xyxy)
        keep = suppress(xyxy, score, class_id, iou, agnostic, max_det)
        return xyxy[keep], score[keep], class_id[keep]


def decode_region(outputs: list[np.ndarray], frame_wh: tuple[int, int], confidence: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes from YOLO region layers' rows (cx, cy, w, h, objectness, class scores...), over every output layer."""
    rows = np.concatenate([o.reshape(-1, o.shape[-1]) for o in outputs]).astype(np.float32, copy=False)
    scores = rows[:, 5:]
    r, c = np.nonzero((scores >= confidence) & (scores > 0))
    w, h = frame_wh
    cx, cy, bw, bh = (rows[r, :4] * np.float32([w, h, w, h])).T
    xyxy = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1).reshape(-1, 4)
    return xyxy, scores[r, c], c.astype(np.int32)


def decode_detection_output(outputs: list[np.ndarray], frame_wh: tuple[int, int], confidence: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes from an SSD DetectionOutput's rows (image id, label, confidence, x1, y1, x2, y2 as fractions)."""
    rows = np.concatenate([o.reshape(-1, 7) for o in outputs]).astype(np.float32, copy=False)
    # (rows past the detections found are zeros: confidence 0)
    rows = rows[(rows[:, 2] >= confidence) & (rows[:, 2] > 0) & (rows[:, 0] >= 0)]
    w, h = frame_wh
    return rows[:, 3:7] * np.float32([w, h, w, h]), rows[:, 2].copy(), rows[:, 1].astype(np.int32)


def suppress(xyxy: np.ndarray, score: np.ndarray, class_id: np.ndarray, iou: float, agnostic: bool, max_det: int) -> np.ndarray:
    """Indices of the boxes non-maximum suppression keeps, best first, at most max_det."""
    if not len(score):
        return np.zeros(0, np.int64)
    xywh = np.column_stack([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]]).astype(np.float64)
    scores = score.astype(np.float32)
    if agnostic:
        keep = cv2.dnn.NMSBoxes(xywh, scores, 0.0, iou)
    else:
        keep = cv2.dnn.NMSBoxesBatched(xywh, scores, class_id.astype(np.int32), 0.0, iou)
    keep = np.asarray(keep, np.int64).reshape(-1)
    return keep[np.argsort(-score[keep], kind="stable")][:max_det]


def labels_for(class_ids: np.ndarray, names: list[str], first_id: int) -> list[str]:
    """The name of each class id (line ``id - first_id`` of the names file), or the id itself where there is none."""
    return [names[i - first_id] if 0 <= i - first_id < len(names) and names[i - first_id] else str(i) for i in map(int, class_ids)]
