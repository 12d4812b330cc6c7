"""YOLO detection and pose exports on the CPU through OpenVINO alone: no PyTorch, and a batch of frames inferred at once.

Ultralytics' predictor can run an OpenVINO export, but it imports PyTorch and
torchvision (about 3.5 s on the 2-core CI machine), moves every frame through
torch tensors and runs one inference request at a time. For detection models
this runner does the same work with OpenVINO, OpenCV and NumPy:

* Ultralytics' letterbox (resize, centred grey padding) with OpenCV; OpenVINO's
  own pre-processing turns the padded BGR bytes into the normalised RGB planes
  the network takes, inside its worker threads;
* the frames of a lossless batch run as concurrent requests on a model compiled
  with the THROUGHPUT hint (a stream per core), single live frames on one
  compiled with the LATENCY hint; compiled models are cached in the export
  folder (OpenVINO's ``CACHE_DIR``), which shortens the next start-up;
* Ultralytics' confidence filter (best class per anchor) and class-aware NMS,
  the latter with OpenCV's ``NMSBoxesBatched``, then its box rescaling.

The network runs in float32 on every CPU. OpenVINO's default on CPUs with
AVX512-BF16 or AMX is bfloat16, about 1.7x faster there, but on the shapes test
model it moved a box to IoU 0.70 of the PyTorch one and a score by 0.44 (so
counts changed with the CPU a pipeline ran on); float32 matches PyTorch to 1e-5.

The boxes are Ultralytics' own: a test holds them to the PyTorch model's. Pose
models run here too (their keypoints are extra output channels, scaled like
the boxes); segmentation, classification and oriented boxes keep Ultralytics'
predictor (their post-processing is larger and shared with the GPU path).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vision_desk.errors import VisionDeskError

#: Ultralytics keeps at most this many candidates per frame before NMS.
MAX_NMS = 30000
PAD_VALUE = 114
#: float32 everywhere: the same detections on AVX2, AVX-512 (with or without BF16), AMX and ARM (see above).
PRECISION = {"INFERENCE_PRECISION_HINT": "f32"}


def letterbox_geometry(frame_hw: tuple[int, int], input_hw: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int, int, int]]:
    """The resized (w, h) of a frame and its (top, bottom, left, right) padding, rounded as Ultralytics' LetterBox does."""
    h, w = frame_hw
    r = min(input_hw[0] / h, input_hw[1] / w)
    new_w, new_h = max(round(w * r), 1), max(round(h * r), 1)
    dw, dh = (input_hw[1] - new_w) / 2, (input_hw[0] - new_h) / 2
    return (new_w, new_h), (round(dh - 0.1), round(dh + 0.1), round(dw - 0.1), round(dw + 0.1))


def letterbox(image: np.ndarray, input_hw: tuple[int, int]) -> np.ndarray:
    """The frame scaled to fit input_hw and padded with grey around it (BGR uint8, input_hw in size)."""
    (new_w, new_h), (top, bottom, left, right) = letterbox_geometry(image.shape[:2], input_hw)
    if (image.shape[1], image.shape[0]) != (new_w, new_h):
        image = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    return cv2.copyMakeBorder(image, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(PAD_VALUE,) * 3)


def points_to_frame(points: np.ndarray, input_hw: tuple[int, int], frame_hw: tuple[int, int]) -> np.ndarray:
    """Points (..., 2 or more: x, y first) in network-input pixels back to frame pixels, clipped to the frame.

    Ultralytics' scale_coords (keypoints); boxes are two points each (:func:`boxes_to_frame`).
    """
    (new_w, new_h), (top, _, left, _) = letterbox_geometry(frame_hw, input_hw)
    out = np.array(points, np.float32, copy=True)
    out[..., 0] = ((out[..., 0] - left) / np.float32(new_w / frame_hw[1])).clip(0, frame_hw[1])
    out[..., 1] = ((out[..., 1] - top) / np.float32(new_h / frame_hw[0])).clip(0, frame_hw[0])
    return out


def boxes_to_frame(xyxy: np.ndarray, input_hw: tuple[int, int], frame_hw: tuple[int, int]) -> np.ndarray:
    """Boxes in network-input pixels back to frame pixels, clipped to the frame (Ultralytics' scale_boxes)."""
    return points_to_frame(np.asarray(xyxy).reshape(-1, 2, 2), input_hw, frame_hw).reshape(-1, 4)


def select_boxes(pred: np.ndarray, conf: float, iou: float, classes: list[int] | None, max_det: int,
                 nc: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Ultralytics' non_max_suppression for one frame of a detect or pose head's output.

    Args:
        pred: (4 + nc + extra, anchors) raw output: centre x, centre y, width, height, one score per class,
            then any extra channels (a pose head's keypoints: x, y, visibility per point).
        nc: the number of classes (default: every channel after the box is a class score).

    Returns:
        boxes (N, 4) xyxy in input pixels, scores (N,), class ids (N,), extra channels (N, extra); best first.
    """
    nc = pred.shape[0] - 4 if nc is None else nc
    scores_all = pred[4 : 4 + nc]
    cls = scores_all.argmax(0)
    score = scores_all[cls, np.arange(scores_all.shape[1])]
    keep = score > conf
    if classes is not None:
        keep &= np.isin(cls, classes)
    idx = np.flatnonzero(keep)
    if len(idx) > MAX_NMS:
        idx = idx[np.argsort(-score[idx], kind="stable")[:MAX_NMS]]
    cx, cy, w, h = pred[:4, idx]
    kept = np.zeros(0, int)
    if len(idx):
        xywh = np.stack([cx - w / 2, cy - h / 2, w, h], 1)
        kept = np.asarray(cv2.dnn.NMSBoxesBatched(xywh.tolist(), score[idx].tolist(), cls[idx].tolist(), conf, iou), int).reshape(-1)
        kept = kept[np.argsort(-score[idx][kept], kind="stable")][:max_det]
    chosen = idx[kept]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1)[kept].reshape(-1, 4)
    extra = pred[4 + nc :, chosen].T
    return boxes.astype(np.float32), score[chosen].astype(np.float32), cls[chosen].astype(int), extra.astype(np.float32)


class OpenVINODetector:
    """A static-shape YOLO detect or pose export (an Ultralytics ``*_openvino_model`` folder), ready to run frames.

    Thread-safe: one call runs at a time (stages on different engines may share it).
    """

    def __init__(self, folder: Path, meta: dict[str, Any]) -> None:
        import openvino as ov
        from openvino.preprocess import ColorFormat, PrePostProcessor

        xml = next(iter(sorted(Path(folder).glob("*.xml"))), None)
        if xml is None:
            raise VisionDeskError(f"OpenVINO model folder {folder} has no .xml file; export the model again or pick another file.")
        self.input_hw = (int(meta["imgsz"][0]), int(meta["imgsz"][1]))
        self.nc = len(meta["names"])
        kpt = meta.get("kpt_shape") if meta.get("task") == "pose" else None
        self.kpt_shape: tuple[int, int] | None = (int(kpt[0]), int(kpt[1])) if kpt else None
        core = ov.Core()
        if os.access(folder, os.W_OK):  # our exports live in writable folders; a read-only copy just compiles each time
            core.set_property({"CACHE_DIR": str(Path(folder) / "compiled")})
        model = core.read_model(str(xml))
        ppp = PrePostProcessor(model)
        tensor = ppp.input().tensor()
        tensor.set_element_type(ov.Type.u8).set_layout(ov.Layout("NHWC")).set_color_format(ColorFormat.BGR)
        ppp.input().preprocess().convert_element_type(ov.Type.f32).convert_color(ColorFormat.RGB).scale(255.0)
        ppp.input().model().set_layout(ov.Layout("NCHW"))
        self._core = core
        self._model = ppp.build()
        self._latency: Any = None
        self._queue: Any = None  # AsyncInferQueue on the THROUGHPUT model
        self._lock = threading.Lock()

    @property
    def parallel_requests(self) -> int:
        """How many frames the THROUGHPUT model runs at once (OpenVINO's optimal number of requests)."""
        return len(self._throughput_queue())

    def _latency_request(self) -> Any:
        if self._latency is None:
            self._latency = self._core.compile_model(self._model, "CPU", {"PERFORMANCE_HINT": "LATENCY", **PRECISION}).create_infer_request()
        return self._latency

    def _throughput_queue(self) -> Any:
        if self._queue is None:
            import openvino as ov

            compiled = self._core.compile_model(self._model, "CPU", {"PERFORMANCE_HINT": "THROUGHPUT", **PRECISION})
            self._queue = ov.AsyncInferQueue(compiled, int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")))
        return self._queue

    def raw(self, images: list[np.ndarray]) -> list[np.ndarray]:
        """The network's output (4 + classes, anchors) for each frame.

        Where the detector is shared (:func:`model_pool.share`), the frames other streams submit meanwhile
        run in the same call, as concurrent requests.
        """
        from vision_desk.engine import model_pool

        return model_pool.batched(self, self._raw_now, images)

    def _raw_now(self, images: list[np.ndarray]) -> list[np.ndarray]:
        inputs = [letterbox(im, self.input_hw)[None] for im in images]
        with self._lock:
            if len(inputs) == 1:
                return [self._latency_request().infer({0: inputs[0]})[0][0].copy()]
            queue = self._throughput_queue()
            outputs: list[Any] = [None] * len(inputs)

            def done(request: Any, index: int) -> None:
                outputs[index] = request.get_output_tensor(0).data[0].copy()  # the request's buffer is reused

            queue.set_callback(done)
            for i, x in enumerate(inputs):
                queue.start_async({0: x}, i)
            queue.wait_all()
            return outputs

    def detect(self, images: list[np.ndarray], conf: float, iou: float, classes: list[int] | None,
               max_det: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]]:
        """(boxes xyxy, scores, class ids, keypoints (N, K, 3) or None) per frame in frame pixels, best first."""
        out = []
        for image, pred in zip(images, self.raw(images)):
            boxes, scores, cls, extra = select_boxes(pred, conf, iou, classes, max_det, self.nc)
            frame_hw = image.shape[:2]
            keypoints = None
            if self.kpt_shape is not None:
                keypoints = points_to_frame(extra.reshape(len(extra), *self.kpt_shape), self.input_hw, frame_hw)
            out.append((boxes_to_frame(boxes, self.input_hw, frame_hw), scores, cls, keypoints))
        return out
