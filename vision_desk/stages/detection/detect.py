"""The ``detect`` stage: any Ultralytics model (YOLO11 by default) for detect, segment, pose, classify and obb.

The model comes from :func:`vision_desk.models.resolve` (a manifest name or a
path; never downloaded here) and is loaded once per process by
:mod:`.model_cache`. On the CPU a ``.pt`` model runs through an OpenVINO (or
ONNX Runtime) export made by Ultralytics' exporter at the rectangular input
the frames need, e.g. 384x640 for 16:9 at 640 (the shape PyTorch itself runs
at, so the boxes are the same), built once and cached beside the model.
The input size is the model's own unless set: what a ``.pt`` was trained at
(a model trained at 320 and run at 640 sees its objects at twice the scale it
learnt, and finds duplicates), and what an export was built for.
Detection and pose exports run on :mod:`.openvino_detector`, which needs no
PyTorch; the other tasks go through Ultralytics' predictor. In lossless runs the
engine hands the stage several frames at once: they are inferred as one batch
(GPU) or as concurrent requests (OpenVINO on the CPU).
With ``explain`` on, an EigenCAM heatmap of what the model looks at is drawn
under the boxes (:mod:`vision_desk.stages.classify.explain`), from the ``.pt``
(loaded beside an export when one runs the detection).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import field_validator

from vision_desk.engine.annotate import draw_detections, draw_label
from vision_desk.engine.frame import Frame, ResultOrigin
from vision_desk.engine.params import AUTO, StageParams, int_or_auto, param
from vision_desk.engine.results import Detections
from vision_desk.engine.stage import AnalysisParams, Stage
from vision_desk.engine.watch import FileWatch
from vision_desk.errors import VisionDeskError

TASKS = ("detect", "segment", "pose", "classify", "obb")
#: What a model name ends with for each task, for error messages.
_SUFFIX = {"detect": "", "segment": "-seg", "pose": "-pose", "classify": "-cls", "obb": "-obb"}
_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?|\d+)$")


class DetectParams(AnalysisParams):
    model: str = param("yolo11n", widget="path", file_filter="Models (*.pt *.onnx *.engine *.xml)",
                       help="A model name from 'vision-desk models list' (yolo11n, yolo11s-seg, yolo11n-pose ...) or the path of a .pt, .onnx, OpenVINO folder or TensorRT .engine.")
    task: Literal["auto", "detect", "segment", "pose", "classify", "obb"] = param(
        "auto", help="What the model must do; a model made for another task is refused. auto takes the model's own task.")
    confidence: float = param(0.25, ge=0.0, le=1.0, step=0.05, widget="slider", help="Objects scored below this are dropped.")
    iou: float = param(0.7, ge=0.05, le=1.0, step=0.05, help="Non-maximum suppression: boxes overlapping more than this are merged.")
    classes: list[str] = param([], help="Keep only these class names (empty: all), e.g. [person, car].")
    imgsz: int_or_auto(32, 4096, 32) = param(  # type: ignore[valid-type]
        AUTO, step=32, help="Network input size in pixels (the long side; a multiple of 32). auto: the size the model was trained at (.pt) or exported at, as Ultralytics runs it; the monitor shows the size in use.")
    max_det: int = param(300, ge=1, le=3000, help="At most this many objects per frame.")
    device: str = param("auto", help="auto (CUDA, then Apple MPS, then CPU), cpu, mps, or cuda:N.")
    half: bool = param(True, help="Half precision (FP16) on CUDA; ignored on the CPU and MPS.")
    backend: Literal["auto", "pytorch", "openvino", "onnx"] = param(
        "auto", help="How a .pt model runs: auto = PyTorch on a GPU and an OpenVINO export on the CPU (built once, cached beside the model). Other model files run as they are.")
    batch: int = param(0, ge=0, le=32, help="Frames per inference call in lossless runs (files, batch); 0 = auto (8 on a GPU, 4-8 concurrent requests with OpenVINO on the CPU, else 1). Live sources run one frame at a time.")
    every: int = param(1, ge=1, le=100, help="Run the model on every N-th frame and reuse its results in between (a following track stage keeps the boxes moving).")
    top_k: int = param(5, ge=1, le=20, help="Classification models: how many labels to report.")
    explain: bool = param(False, help="Overlay a heatmap of what the model looks at (EigenCAM) on the picture. One more "
                                      "PyTorch pass per analysed frame; with an OpenVINO or ONNX backend the .pt is loaded "
                                      "beside its export for it. Needs a .pt model.")

    @field_validator("device")
    @classmethod
    def _device(cls, v: str) -> str:
        if not _DEVICE.match(v.strip()):
            raise ValueError("must be auto, cpu, mps, cuda or cuda:N")
        return v.strip()


def choose_device(preferred: str) -> str:
    """A torch device string: CUDA > MPS > CPU for auto; ``0`` and ``cuda`` mean ``cuda:0``."""
    from vision_desk.weights import pick_device

    preferred = {"cuda": "cuda:0"}.get(preferred, f"cuda:{preferred}" if preferred.isdigit() else preferred)
    return pick_device(preferred)


def choose_backend(requested: str, fmt: str, device: str) -> str:
    """pytorch | openvino | onnx | file (a non-.pt model runs as it is)."""
    if fmt != "pt":
        return "file"
    if requested != "auto":
        return requested
    if device != "cpu":
        return "pytorch"
    try:
        import openvino  # noqa: F401
    except ImportError:
        return "pytorch"
    return "openvino"


class DetectStage(Stage):
    id = "detect"
    title = "YOLO detect / segment / pose"
    category = "Detection"
    help = ("Ultralytics YOLO (YOLO11 by default): boxes, masks, keypoints, oriented boxes or top-k labels. "
            "Heavy: fast on a GPU; on the CPU it runs an OpenVINO export built once per model and frame shape.")
    Params = DetectParams
    heavy = True
    values = {"detect_count": "Objects found (detect, segment, pose, obb models).",
              "detect_class": "Classification models: the best label.", "detect_class_score": "Its probability.",
              "detect_top": "The top_k [label, probability] pairs."}
    columns = {"polygon": "Segment: the mask's outline; obb: the box's four corners.", "angle": "obb: the box's angle in degrees."}

    def __init__(self, params: StageParams | None = None) -> None:
        super().__init__(params)
        self._model = None  # the model as given, loaded by Ultralytics (PyTorch, GPU, a user's own export)
        self._source: Any = None  # the .pt file that CPU exports are made from
        self._exports: dict[tuple[int, int], Any] = {}  # CPU exports by input shape
        self.device = "cpu"
        self.backend = "pytorch"
        self.task = "detect"
        self.names: dict[int, str] = {}
        self.kpt_shape: tuple[int, int] | None = None
        self.imgsz = 640  # the input size in use: the imgsz parameter, or the model's own for auto
        self._own_imgsz = 640  # the size the model was trained or exported at
        self.input_shape: tuple[int, int] | None = None  # the network input (h, w) of the last frames run
        self._lean = False  # frames run on the PyTorch-free OpenVINO detector (detection and pose on the CPU)
        self._class_ids: list[int] | None = None
        self._last: tuple[Detections, dict[str, Any], ResultOrigin] | None = None  # results, values, where from
        self._count = 0
        self._announced = False
        self._stale = False
        self._watch: FileWatch | None = None  # the model file, for a version retrained in place
        self._explainer: Any = None  # the .pt loaded for heatmaps beside a CPU export (explain), on first use
        self._heat: np.ndarray | None = None  # the latest heatmap (explain)

    # -- lifecycle -----------------------------------------------------------
    def setup(self) -> None:
        from vision_desk.models import resolve
        from vision_desk.stages.detection import model_cache

        p = self.params
        path = resolve(p.model)  # ModelMissingError with the pull command, before anything heavy is imported
        self.device = choose_device(p.device)
        self._release()
        self._stale = False
        self._watch = FileWatch(path)
        self.backend = choose_backend(p.backend, model_cache.model_format(path), self.device)
        if self.backend in ("openvino", "onnx"):  # runs an export per frame shape: the .pt itself is not run
            self._source = path
            info = model_cache.model_info(path, label=p.model)
        else:
            info = self._model = model_cache.acquire(path, self.device, p.half, label=p.model)
        self.task, self.names, self.kpt_shape = info.task, info.names, info.kpt_shape
        self._own_imgsz = info.imgsz
        self.imgsz = info.imgsz if p.imgsz == AUTO else int(p.imgsz)
        self._lean = self.backend == "openvino" and self.task in model_cache.LEAN_TASKS
        if p.task != "auto" and self.task != p.task:
            raise VisionDeskError(
                f"model {p.model} is a {self.task} model but stage 'detect' is set to task '{p.task}'; "
                f"choose a {p.task} model (e.g. yolo11n{_SUFFIX[p.task]}) or set task to auto."
            )
        if self.task not in TASKS:
            raise VisionDeskError(f"model {p.model} does task '{self.task}', which stage 'detect' cannot show; use a detect, segment, pose, classify or obb model.")
        self._class_ids = self._resolve_classes(self.names)
        if self._model is not None:
            self._warmup(self._model, self._model.fixed_shape or self._input_shape((720, 1280)))

    def _resolve_classes(self, names: dict[int, str]) -> list[int] | None:
        wanted = list(self.params.classes)
        if not wanted:
            return None
        by_name = {str(v).lower(): k for k, v in names.items()}
        unknown = [c for c in wanted if c.lower() not in by_name]
        if unknown:
            known = ", ".join(list(map(str, names.values()))[:12]) + (" ..." if len(names) > 12 else "")
            raise VisionDeskError(f"stage 'detect': class(es) {unknown} are not in model {self.params.model} (it knows {known}); fix the 'classes' parameter.")
        return sorted(by_name[c.lower()] for c in wanted)

    def _warmup(self, model: Any, shape: tuple[int, int] | None, frames: int = 1) -> None:
        """One inference (two on CUDA) on a blank frame, so start-up cost is not in the first frame's time.

        The OpenVINO detector compiles its model for the way it is first used
        (one frame: LATENCY; a batch: THROUGHPUT), so a file run does not pay
        for compiling the one a live view needs, and vice versa.
        """
        h, w = shape or (self.imgsz, self.imgsz)
        blank = np.full((h, w, 3), 114, np.uint8)
        if self._lean:
            model.raw([blank] * min(frames, 2))
            return
        for _ in range(2 if self.device.startswith("cuda") else 1):
            model.predict([blank], **self._predict_args(None))

    def batch_size(self) -> int:
        if self.params.batch:
            return self.params.batch
        if self.device.startswith("cuda"):
            return 8
        if self._lean:  # enough frames to keep every OpenVINO stream busy (2 on 2 cores, more on bigger CPUs)
            return min(8, max(4, os.cpu_count() or 1))
        return 1

    @classmethod
    def carries_state(cls, params: StageParams) -> bool:
        return params.every > 1  # otherwise every frame is detected afresh (the rest of reset() is bookkeeping)

    def reset(self) -> None:
        self._last = None
        self._heat = None
        self._count = 0
        self._announced = False

    def update_params(self, params: StageParams) -> None:
        old = self.params
        super().update_params(params)
        heavy_keys = ("model", "task", "device", "half", "backend", "classes", "batch")
        loaded = self._model is not None or self._source is not None
        if any(getattr(old, k) != getattr(params, k) for k in heavy_keys) and loaded:
            self._stale = True  # reloaded before the next frame, where a failure is reported like any stage error
        if not params.explain and self._explainer is not None:
            from vision_desk.stages.detection import model_cache

            model_cache.release(self._explainer)
            self._explainer = None
        self.imgsz = self._own_imgsz if params.imgsz == AUTO else int(params.imgsz)  # exports are kept per shape
        self.reset()

    def close(self) -> None:
        self._release()

    def _release(self) -> None:
        from vision_desk.stages.detection import model_cache

        for m in self._exports.values():
            model_cache.release(m)
        self._exports.clear()
        if self._model is not None:
            model_cache.release(self._model)
            self._model = None
        if self._explainer is not None:
            model_cache.release(self._explainer)
            self._explainer = None
        self._source = None

    # -- inference -----------------------------------------------------------
    def _explain_model(self) -> Any:
        """The PyTorch model heatmaps run on: the one detect runs, or the .pt its CPU export was made from (loaded
        on first use; the heatmap is a pass of its own either way, so the export keeps the detection fast). None
        where the model is not a .pt (a user's own export runs as it is)."""
        if self.backend == "pytorch":
            return self._model
        if self._source is None:
            return None
        if self._explainer is None:
            from vision_desk.stages.detection import model_cache

            self._explainer = model_cache.acquire(self._source, "cpu", False, label=self.params.model)
        return self._explainer

    def heatmap(self, image: np.ndarray) -> np.ndarray | None:
        """What the model looks at in a frame (EigenCAM, frame-sized, [0, 1]); None when explain is off or impossible."""
        if not self.params.explain:
            return None
        model = self._explain_model()
        if model is None:
            return None
        from vision_desk.stages.classify.explain import detector_heatmap

        return detector_heatmap(model, image, imgsz=self.imgsz)

    def _predict_args(self, shape: tuple[int, int] | None) -> dict[str, Any]:
        p = self.params
        args: dict[str, Any] = {"imgsz": list(shape) if shape else self.imgsz, "conf": p.confidence, "iou": p.iou,
                                "max_det": p.max_det, "classes": self._class_ids}
        if self.task == "segment":
            args["retina_masks"] = True  # masks at frame resolution, as Detections expects
        return args

    def _input_shape(self, frame_hw: tuple[int, int]) -> tuple[int, int]:
        """The network input (h, w) for frames of this size, as Ultralytics' predictor makes it.

        Rectangular (the long side at imgsz, the short one padded to a multiple of 32) for every task but
        classification, whose predictor centre-crops a square.
        """
        from vision_desk.stages.detection.convert import letterbox_shape

        return (self.imgsz, self.imgsz) if self.task == "classify" else letterbox_shape(frame_hw, self.imgsz)

    def _runner(self, frame_hw: tuple[int, int], frames: int = 1) -> tuple[Any, tuple[int, int] | None]:
        """The model to run frames of this size on (frames at a time), and the fixed input shape (None: Ultralytics decides)."""
        if self._model is not None:
            return self._model, self._model.fixed_shape  # a static export runs at the shape it was made for
        from vision_desk.stages.detection import model_cache

        shape = self._input_shape(frame_hw)
        if shape not in self._exports:
            label = f"{self.params.model} ({self.backend} export)"
            # the lean runner batches by concurrent requests, so its export keeps batch 1
            target = model_cache.ensure_export(self._source, self.backend, shape, 1 if self._lean else self.batch_size())
            if self._lean:
                export = model_cache.acquire_openvino_detector(target, label=label)
            else:
                export = model_cache.acquire(target, "cpu", False, label=label)
            self._exports[shape] = export
            self._warmup(export, shape, frames)
        return self._exports[shape], shape

    def infer(self, images: list[np.ndarray]) -> list[tuple[Detections, dict[str, Any]]]:
        """Objects (and per-frame values) for a list of same-sized frames, inferred as one batch."""
        from vision_desk.stages.detection.convert import result_to_detections, top_classes

        model, shape = self._runner(images[0].shape[:2], len(images))
        self.input_shape = shape or self._input_shape(images[0].shape[:2])
        p = self.params
        if self._lean:
            out = []
            for xyxy, score, cls, keypoints in model.detect(images, p.confidence, p.iou, self._class_ids, p.max_det):
                det = Detections.from_boxes(xyxy, [self.names[int(c)] for c in cls], score, class_id=cls,
                                            keypoints=keypoints, source=self.id)
                out.append((det, {"detect_count": len(det)}))
            return out
        results = model.predict(images, **self._predict_args(shape))
        out = []
        for r in results:
            if self.task == "classify":
                top = top_classes(r, p.top_k, self.names)
                values = {"detect_class": top[0][0], "detect_class_score": top[0][1], "detect_top": [list(t) for t in top]}
                out.append((Detections(), values))
            else:
                det = result_to_detections(r, self.id, self.names)
                out.append((det, {"detect_count": len(det)}))
        return out

    def process(self, frame: Frame) -> None:
        self.process_batch([frame])

    def process_batch(self, frames: list[Frame]) -> None:
        if self._stale or (self._watch is not None and self._watch.changed()):  # retrained in place: load it again
            self.setup()
        due = [f for i, f in enumerate(frames) if (self._count + i) % self.params.every == 0]
        found: dict[int, tuple[Detections, dict[str, Any]]] = {}
        by_shape: dict[tuple, list[Frame]] = {}
        for f in due:
            by_shape.setdefault(f.image.shape, []).append(f)
        for group in by_shape.values():
            for f, res in zip(group, self.infer([f.image for f in group])):
                found[id(f)] = res
        for f in frames:
            if id(f) in found:
                self._last = (*found[id(f)], f.mark(self.id))
                self._heat = self.heatmap(f.image)
            else:
                assert self._last is not None, "the first frame after a reset is always due"
                f.mark(self.id, self._last[2])
            det, values, _ = self._last
            f.add(det[np.arange(len(det))])  # a copy: later stages may change their rows
            f.values.update(values)
            f.extras[self.id] = {"task": self.task, "top": values.get("detect_top"), "heatmap": self._heat}
            if self.task == "pose" and self.kpt_shape and self.kpt_shape[0] == 17:
                from vision_desk.stages.detection.convert import COCO_SKELETON

                f.extras["skeleton"] = COCO_SKELETON
            if not self._announced:
                f.events.append(self.describe())
                if self.params.explain and self.backend == "file":
                    f.events.append(f"detect: {self._explain_words()}")
                self._announced = True
            self._count += 1

    def describe(self) -> str:
        """One line naming the model, task, backend and device (the first event of each video)."""
        how = {"pytorch": "PyTorch", "openvino": "OpenVINO export", "onnx": "ONNX Runtime export", "file": self._model.format if self._model else "?"}[self.backend]
        if self._lean:
            how += " (OpenVINO runtime, no PyTorch)"
        precision = " FP16" if self._model is not None and self._model.half else ""
        return f"detect: {self.params.model} ({self.task}, {self._size_words()}) on {self.device} via {how}{precision}"

    def _size_words(self) -> str:
        """The input size in use and where it comes from, e.g. "input 192x320, the model's own imgsz 320"."""
        fixed = self._model.fixed_shape if self._model is not None else None
        shape = fixed or self.input_shape
        where = ("fixed by the export" if fixed else
                 f"the model's own imgsz {self.imgsz}" if self.params.imgsz == AUTO else f"imgsz {self.imgsz}")
        return f"input {shape[0]}x{shape[1]}, {where}" if shape else where

    def _explain_words(self) -> str:
        return (f"explain needs the PyTorch .pt model, and {Path(self.params.model).name} runs as the file it is, so no "
                "heatmap is drawn; give the .pt it was exported from.")

    def summary(self) -> str:
        how = {"pytorch": "PyTorch", "openvino": "OpenVINO", "onnx": "ONNX Runtime"}.get(self.backend, "file")
        words = f"{Path(self.params.model).name} · {self._size_words()} · {how} on {self.device}"
        if self.params.explain:
            words += " · explain needs a .pt" if self.backend == "file" else " · EigenCAM heatmap"
        return words

    def draw(self, canvas: np.ndarray, frame: Frame) -> None:
        info = frame.extras.get(self.id) or {}
        heat = info.get("heatmap")
        if heat is not None:
            from dataclasses import replace

            from vision_desk.stages.classify.explain import DEFAULT_ALPHA, blend_heatmap

            blend_heatmap(canvas, heat, DEFAULT_ALPHA)
            # The boxes were drawn before the stages' overlays: drawn again (masks left out, already blended once),
            # so they stay sharp over the heatmap.
            draw_detections(canvas, replace(frame.detections.where(source=self.id), mask=None), frame.extras.get("skeleton"))
        top = info.get("top")
        if not top:
            return
        y = 24
        for label, score in top:
            draw_label(canvas, f"{label} {score:.2f}", 8, y, (40, 40, 40), 0.6)
            y += 24
