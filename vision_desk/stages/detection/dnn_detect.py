"""The ``dnn_detect`` stage: classic detectors in OpenCV's DNN module (YOLOv3/v4 and -tiny, Caffe and TensorFlow SSD).

The networks, their preprocessing and the decoding of their outputs are in
:mod:`.dnn_nets`. This module finds the files (a manifest name or a path for
the weights; the layout and the class names beside them, or listed with them
in the manifest's ``needs``), and turns each frame's boxes into the same
:class:`Detections` the ``detect`` stage makes, so ``track``, ``count`` and
``privacy`` work after it unchanged (give them ``source: dnn_detect`` where
they filter by stage). Nothing is downloaded here: a model that is not on disk
stops the stage with the pull commands that fetch its files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from vision_desk.engine.frame import Frame, ResultOrigin
from vision_desk.engine.params import AUTO, StageParams, int_or_auto, param
from vision_desk.engine.results import Detections
from vision_desk.engine.stage import AnalysisParams, Stage
from vision_desk.errors import VisionDeskError
from vision_desk.stages.detection.dnn_nets import (
    BACKGROUND_NAMES, CONFIG_ENDING, DEFAULTS, FAMILY_TITLES, REGION, DnnDetector, Preprocess, cuda_available, family_of,
    labels_for, load_net, native_size, read_names, stem_of,
)

#: How a class-names file ends.
NAMES_ENDINGS = (".names", ".txt")


class DnnDetectParams(AnalysisParams):
    model: str = param("yolov4-tiny", widget="path", file_filter="Models (*.weights *.caffemodel *.pb *.tar.gz)",
                       help="Weights: a model name from 'vision-desk models list' (yolov4-tiny, yolov3, mobilenet-ssd, ssd-mobilenet-v2-coco ...) or a Darknet .weights, Caffe .caffemodel or TensorFlow frozen .pb (or the .tar.gz it comes in).")
    config: str = param("auto", widget="path", file_filter="Network layouts (*.cfg *.prototxt *.pbtxt)",
                        help="Network layout (.cfg, .prototxt or .pbtxt): a model name or a path. auto: the layout the manifest lists with the model, or the file beside the model with its name and the family's ending (yolov3.weights -> yolov3.cfg).")
    names: str = param("auto", widget="path", file_filter="Class names (*.names *.txt)",
                       help="Class names, one a line (coco.names style): a model name or a path. auto: the manifest's, or <model>.names / <model>.txt beside the model; empty: the labels are class numbers.")
    family: Literal["auto", "darknet", "caffe", "tensorflow"] = param(
        "auto", help="darknet (YOLO: .weights + .cfg), caffe (SSD: .caffemodel + .prototxt) or tensorflow (SSD: frozen .pb + .pbtxt); auto: by the model file's ending.")
    confidence: float = param(0.25, ge=0.0, le=1.0, step=0.05, widget="slider", help="Objects scored below this are dropped (YOLO: objectness times class probability).")
    iou: float = param(0.45, ge=0.05, le=1.0, step=0.05, help="Non-maximum suppression: a box overlapping a better one by more than this (intersection over union) is dropped.")
    agnostic: bool = param(False, help="Suppress overlapping boxes of different classes too (class-agnostic NMS); off: only boxes of one class suppress each other.")
    classes: list[str] = param([], help="Keep only these class names (or class numbers), e.g. [person, car]; empty: all.")
    first_class_id: int_or_auto(0, 1) = param(  # type: ignore[valid-type]
        AUTO, help="The class id the first line of the names file names. auto: 0 for YOLO; for SSDs, whose label 0 is the background class, 0 when the first line is 'background', else 1.")
    max_det: int = param(300, ge=1, le=3000, help="At most this many objects per frame, best first.")
    width: int_or_auto(16, 4096) = param(  # type: ignore[valid-type]
        AUTO, step=32, help="Network input width in pixels (YOLO: a multiple of 32). auto: the layout's own (the .cfg's [net] width, a Caffe input shape), else 300.")
    height: int_or_auto(16, 4096) = param(  # type: ignore[valid-type]
        AUTO, step=32, help="Network input height in pixels, as width.")
    scale: float | None = param(None, ge=1e-6, le=1000.0, help="Multiplies each pixel after the mean is subtracted; empty: the family's (YOLO 1/255, Caffe MobileNet-SSD 1/127.5, TensorFlow SSD 1).")
    mean: tuple[float, float, float] | None = param(None, help="Subtracted from each channel, in the network's channel order; empty: the family's (Caffe MobileNet-SSD 127.5, else 0).")
    channels: Literal["auto", "rgb", "bgr"] = param("auto", help="The channel order the network was trained on; auto: the family's (YOLO and TensorFlow RGB, Caffe BGR).")
    device: Literal["auto", "cpu", "cuda"] = param("auto", help="auto: OpenCV's CUDA backend where this OpenCV build has one and sees a GPU (the pip wheels have none), else the CPU; cuda insists on CUDA.")
    every: int = param(1, ge=1, le=100, help="Run the network on every N-th frame and reuse its objects in between (a following track stage keeps them moving).")


@dataclass(frozen=True)
class ModelFiles:
    """The files of one network: its family, weights, layout and (optional) class names."""

    family: str
    model: Path
    config: Path
    names: Path | None


def find_files(model: str, config: str = AUTO, names: str = AUTO, family: str = AUTO) -> ModelFiles:
    """The network's files from the stage's parameters; one ModelMissingError naming every manifest file to pull.

    Raises:
        ModelMissingError: a file is not on disk (with the pull commands for manifest models).
        VisionDeskError: the family cannot be told, or a path model has no layout beside it.
    """
    from vision_desk.models import load_manifest, resolve_all

    manifest = load_manifest()
    entry = manifest.get(model)
    family = family if family != AUTO else family_of(entry.file if entry else model) or ""
    if not family:
        raise VisionDeskError(f"stage 'dnn_detect' cannot tell the network family of {Path(model).name} from its name; "
                              "set family to darknet, caffe or tensorflow.")

    def companion(endings: tuple[str, ...]) -> str:
        """The manifest entry listed with the model, or the file beside a model path, that ends so; '' if none."""
        if entry is not None:
            return next((n for n in entry.needs if n in manifest and manifest[n].file.lower().endswith(endings)), "")
        beside = [Path(model).expanduser().with_name(stem_of(model) + e) for e in endings]
        return next((str(b) for b in beside if b.is_file()), "")

    config = config if config != AUTO else companion((CONFIG_ENDING[family],))
    if not config:
        where = f"the manifest lists none with {model}" if entry else f"there is no {stem_of(model)}{CONFIG_ENDING[family]} beside it"
        if entry or Path(model).expanduser().is_file():
            raise VisionDeskError(f"stage 'dnn_detect' has no network layout for {Path(model).name}: {where}; set config to its {CONFIG_ENDING[family]} file.")
        config = str(Path(model).with_suffix(CONFIG_ENDING[family]))  # the model itself is missing: reported first below
    names = names if names != AUTO else companion(NAMES_ENDINGS)
    found = resolve_all([model, config] + ([names] if names else []), "dnn_detect", f"{FAMILY_TITLES[family]} files")
    return ModelFiles(family, found[0], found[1], found[2] if names else None)


class DnnDetectStage(Stage):
    id = "dnn_detect"
    title = "Classic DNN detect (YOLOv3/v4, SSD)"
    category = "Detection"
    help = ("Darknet YOLOv3/v4 (and -tiny), Caffe SSD and TensorFlow SSD models through OpenCV's DNN module, with "
            "their own pre- and post-processing; gives the same objects as detect, for track, count and privacy. "
            "Heavy: at 416x416 on a 2-core CPU YOLOv3 takes about 1.1 s per frame, yolov4-tiny about 80 ms.")
    Params = DnnDetectParams
    heavy = True
    values = {"dnn_detect_count": "Objects found on this frame."}

    def __init__(self, params: StageParams | None = None) -> None:
        super().__init__(params)
        self._detector: DnnDetector | None = None
        self.files: ModelFiles | None = None
        self.names: list[str] = []
        self.first_id = 0
        self.device = "cpu"
        self._native: tuple[int, int] | None = None  # the input size the layout states
        self._class_ids: set[int] | None = None
        self._last: Detections | None = None
        self._origin: ResultOrigin | None = None  # the frame self._last was found on
        self._count = 0
        self._announced = False

    # -- lifecycle -----------------------------------------------------------
    def setup(self) -> None:
        p = self.params
        files = find_files(p.model, p.config, p.names, p.family)
        cuda = self._use_cuda()
        net = load_net(files.family, files.model, files.config)
        self._native = native_size(files.family, files.config.read_text(encoding="utf-8", errors="replace"))
        self.files, self.device = files, "cuda" if cuda else "cpu"
        self.names = read_names(files.names) if files.names else []
        self._detector = DnnDetector(net, self._preprocess(), cuda)
        self._configure()
        self._detector.detect(np.zeros((64, 64, 3), np.uint8), 1.0, 0.5)  # warm-up: allocations before the first frame

    def _use_cuda(self) -> bool:
        wanted = self.params.device
        if wanted == "cpu":
            return False
        available = cuda_available()
        if wanted == "cuda" and not available:
            raise VisionDeskError("stage 'dnn_detect' was asked to run on CUDA, but this OpenCV build has no CUDA backend or "
                                  "sees no GPU (the opencv-python-headless wheels have none); set device to auto or cpu.")
        return available

    def _preprocess(self) -> Preprocess:
        p = self.params
        assert self.files is not None
        base = DEFAULTS[self.files.family]
        native = self._native or base.size
        size = (native[0] if p.width == AUTO else int(p.width), native[1] if p.height == AUTO else int(p.height))
        return Preprocess(size, base.scale if p.scale is None else float(p.scale),
                          base.mean if p.mean is None else tuple(map(float, p.mean)),
                          base.rgb if p.channels == AUTO else p.channels == "rgb")

    def _configure(self) -> None:
        """What follows from the light parameters: the input, the names' first id and the classes kept."""
        assert self._detector is not None
        p = self.params
        self._detector.preprocess = self._preprocess()
        if p.first_class_id != AUTO:
            self.first_id = int(p.first_class_id)
        elif self._detector.kind == REGION:
            self.first_id = 0
        else:  # SSD label 0 is the background: the names start at 1 unless their first line names it
            self.first_id = 0 if self.names and self.names[0].lower() in BACKGROUND_NAMES else 1
        self._class_ids = self._resolve_classes()

    def _resolve_classes(self) -> set[int] | None:
        wanted = list(self.params.classes)
        if not wanted:
            return None
        by_name = {n.lower(): i + self.first_id for i, n in enumerate(self.names) if n}
        unknown = [c for c in wanted if c.lower() not in by_name and not c.isdigit()]
        if unknown and not self.names:
            raise VisionDeskError(f"stage 'dnn_detect': {self.params.model} has no class names file, so its classes are "
                                  f"numbers and {unknown} matches none; give class numbers in 'classes', or set 'names'.")
        if unknown:
            known = ", ".join([n for n in self.names if n][:12]) + (" ..." if len(self.names) > 12 else "")
            raise VisionDeskError(f"stage 'dnn_detect': class(es) {unknown} are not in {self.files.names.name if self.files and self.files.names else 'the names'} "
                                  f"(it has {known}); fix the 'classes' parameter.")
        return {by_name[c.lower()] if c.lower() in by_name else int(c) for c in wanted}

    def reset(self) -> None:
        self._last = None
        self._origin = None
        self._count = 0
        self._announced = False

    def update_params(self, params: StageParams) -> None:
        old = self.params
        super().update_params(params)
        if any(getattr(old, k) != getattr(params, k) for k in ("model", "config", "names", "family", "device")):
            self._detector = None  # loaded again before the next frame, where a failure is reported like any stage error
        elif self._detector is not None:
            self._configure()
        self.reset()

    # -- per frame -----------------------------------------------------------
    def detect(self, image: np.ndarray) -> Detections:
        """The objects in one BGR frame, as Detections from this stage."""
        assert self._detector is not None, "setup() loads the network"
        p = self.params
        xyxy, score, class_id = self._detector.detect(image, p.confidence, p.iou, p.agnostic, p.max_det, self._class_ids)
        return Detections.from_boxes(xyxy, labels_for(class_id, self.names, self.first_id), score, class_id=class_id, source=self.id)

    def process(self, frame: Frame) -> None:
        if self._detector is None:
            self.setup()
        if self._last is None or self._count % self.params.every == 0:
            self._last = self.detect(frame.image)
            self._origin = frame.mark(self.id)
        else:
            frame.mark(self.id, self._origin)
        self._count += 1
        frame.add(self._last[np.arange(len(self._last))])  # a copy: later stages may change their rows
        frame.values["dnn_detect_count"] = len(self._last)
        if not self._announced:
            frame.events.append(self.describe())
            self._announced = True

    def describe(self) -> str:
        """One line naming the model, family, input and device (the first event of each video)."""
        assert self.files is not None and self._detector is not None
        w, h = self._detector.preprocess.size
        outputs = len(self._detector.outputs)
        layers = f"{outputs} YOLO output layer{'s' if outputs > 1 else ''}" if self._detector.kind == REGION else "SSD DetectionOutput"
        named = f"{len(self.names)} class names from {self.files.names.name}" if self.files.names else "no class names: labels are class numbers"
        return (f"dnn_detect: {self.files.model.name} ({FAMILY_TITLES[self.files.family]}, {layers}, input {w}x{h}, {named}) "
                f"on {self.device} via OpenCV DNN")

    def summary(self) -> str:
        detector, files = self._detector, self.files
        if detector is None or files is None:
            return ""
        w, h = detector.preprocess.size
        return f"{files.model.name} · {FAMILY_TITLES[files.family]} · input {w}x{h} · OpenCV DNN on {self.device}"
