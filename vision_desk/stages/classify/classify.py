"""The ``classify`` stage: a taught model (or any classifier) on the whole frame, a region, or each object.

On objects it classifies the crop of every box a stage before it found
(optionally only boxes of one class, e.g. ``person`` for "helmet" / "no
helmet"), in one batch per frame. Where a ``track`` stage gave the boxes ids,
each track's label is the mean of its last ``smooth`` probability vectors, so
a label does not flicker, and a track is classified only every ``every``
frames, its smoothed label carried in between.

A model rewritten in place (retrained from the Teach panel, or a new file at
the same path) is noticed within a second and loaded again.
"""

from __future__ import annotations

from collections import Counter, deque
from typing import Any, Literal

import cv2
import numpy as np
from pydantic import field_validator

from vision_desk.engine.annotate import color_for, draw_label
from vision_desk.engine.frame import Frame
from vision_desk.engine.params import StageParams, param
from vision_desk.engine.stage import Stage
from vision_desk.errors import VisionDeskError
from vision_desk.engine.watch import FileWatch
from vision_desk.stages.classify.classifiers import Classifier, open_classifier
from vision_desk.teach.capture import OBJECT_PADDING, object_crop, padded_box, region_pixels

#: A track unseen for this many frames is forgotten.
FORGET_AFTER = 90
#: With explain on, at most this many objects a frame get a heatmap (each costs about three network passes).
MAX_EXPLAINED = 5


class ClassifyParams(StageParams):
    model: str = param("", widget="path", file_filter="Models (teach.json *.pt *.onnx *.xml)",
                       help="A taught model folder (Teach panel, 'vision-desk teach train'), an Ultralytics "
                            "classification model (yolo11n-cls.pt), or tv-mobilenet-v3-large for ImageNet's classes.")
    on: Literal["frame", "region", "objects"] = param(
        "frame", help="What to classify: the whole frame, a region of it, or each object found by the stages before.")
    region: list[float] = param([0.25, 0.25, 0.5, 0.5], help="on=region: x, y, width, height as fractions of the frame.")
    of_class: str = param("", help="on=objects: only objects with this label (e.g. person); empty: every object.")
    padding: float = param(OBJECT_PADDING, ge=0.0, le=1.0, step=0.05,
                           help="on=objects: the crop reaches this fraction of the box's size beyond each side.")
    min_score: float = param(0.0, ge=0.0, le=1.0, step=0.05, widget="slider",
                             help="A label scored below this is reported as unknown ('?').")
    smooth: int = param(5, ge=1, le=120, help="Average the probabilities over this many classifications (per track "
                                              "on objects), so the label does not flicker.")
    every: int = param(1, ge=1, le=100, help="Classify every N-th frame (per track on objects) and keep the label "
                                             "in between.")
    bars: bool = param(True, help="Draw a confidence bar per class (frame and region), or the score under each object.")
    top_k: int = param(3, ge=1, le=10, help="How many classes the bars show.")
    explain: bool = param(False, help="Show what the model looks at: a Grad-CAM heatmap of the evidence for the label, "
                                      f"over the frame or region, or over each object (at most {MAX_EXPLAINED} a frame). "
                                      "Costs about three passes of the network each.")
    device: str = param("auto", help="auto (CUDA, then Apple MPS, then CPU), cpu, mps, or cuda:N.")

    @field_validator("region")
    @classmethod
    def _region(cls, v: list[float]) -> list[float]:
        if len(v) != 4 or not all(0.0 <= x <= 1.0 for x in v) or v[2] <= 0 or v[3] <= 0:
            raise ValueError("region is x, y, width, height, each a fraction of the frame between 0 and 1")
        return [float(x) for x in v]


class ClassifyStage(Stage):
    id = "classify"
    title = "Classify"
    category = "Detection"
    help = ("Runs a classifier (a model taught in the Teach panel, or any classification model) on the frame, a "
            "region, or each object, and shows its label with confidence bars.")
    Params = ClassifyParams
    heavy = True
    values = {"classify_label": "on=frame/region: the best label ('?' below min_score).",
              "classify_score": "Its (smoothed) probability.",
              "classify_counts": "on=objects: how many objects have each label, e.g. 'helmet:3 no helmet:1'."}
    columns = {"classify_label": "on=objects: the object's best label ('?' below min_score; None: not classified).",
               "classify_score": "Its (smoothed) probability."}

    def __init__(self, params: StageParams | None = None) -> None:
        super().__init__(params)
        self._classifier: Classifier | None = None
        self._watch: FileWatch | None = None
        self._explainer: Any = None  # the network Grad-CAM looks into (explain), made on first use
        self._frames = 0
        self._history: dict[Any, deque] = {}  # track id (or "frame") -> recent probability vectors
        self._last_seen: dict[Any, int] = {}
        self._last_run: dict[Any, int] = {}

    # -- lifecycle -----------------------------------------------------------
    def setup(self) -> None:
        from vision_desk.stages.detection.detect import choose_device

        if not self.params.model:
            raise VisionDeskError("stage 'classify' has no model; teach one in the Teach panel or with "
                                  "'vision-desk teach train', then set its model parameter to the model folder.")
        self.close()
        self._classifier = open_classifier(self.params.model, choose_device(self.params.device))
        self._explainer = None
        self._watch = FileWatch(self._classifier.path)
        self.reset()

    def update_params(self, params: StageParams) -> None:
        old = self.params
        self.params = params
        if (params.model, params.device) != (old.model, old.device):
            self.setup()
        elif (params.on, params.region, params.of_class, params.smooth) != (old.on, old.region, old.of_class, old.smooth):
            self.reset()

    def reset(self) -> None:
        self._history.clear()
        self._last_seen.clear()
        self._last_run.clear()
        self._frames = 0

    def close(self) -> None:
        if self._classifier is not None:
            self._classifier.close()
            self._classifier = None

    @property
    def labels(self) -> list[str]:
        return list(self._classifier.labels) if self._classifier is not None else []

    def summary(self) -> str:
        classifier = self._classifier
        return f"{len(classifier.labels)} classes" if classifier is not None else ""

    # -- work ----------------------------------------------------------------
    def process(self, frame: Frame) -> None:
        if self._watch is not None and self._watch.changed():  # retrained in place: load the new model
            self.setup()
        self._frames += 1
        if self.params.on == "objects":
            self._classify_objects(frame)
        else:
            self._classify_view(frame)

    def _classify_view(self, frame: Frame) -> None:
        p = self.params
        image = frame.image if p.on == "frame" else frame.image[_region_slice(frame.shape, p.region)]
        if self._due("frame") and image.size:
            self._remember("frame", self._classifier.probabilities([image])[0])
        probs = self._smoothed("frame")
        if probs is None:
            return
        label, score = self._best(probs)
        frame.values["classify_label"] = label
        frame.values["classify_score"] = round(score, 4)
        frame.extras[self.id] = {"probs": probs, "labels": self.labels}
        if p.explain and image.size:
            heat = np.zeros(frame.shape, np.float32)
            region = (slice(None), slice(None)) if p.on == "frame" else _region_slice(frame.shape, p.region)
            heat[region] = self._heatmap(image)
            frame.extras[self.id]["heatmap"] = heat

    def _classify_objects(self, frame: Frame) -> None:
        p = self.params
        det = frame.detections
        n = len(det)
        labels: list[str | None] = [None] * n
        scores: list[float | None] = [None] * n
        rows = det.rows(label=p.of_class).tolist()
        keys = [int(det.track_id[i]) if det.track_id[i] >= 0 else ("row", self._frames, i) for i in rows]
        due = [(i, key) for i, key in zip(rows, keys) if self._due(key)]
        if due:
            crops = [object_crop(frame.image, det.xyxy[i], p.padding) for i, _ in due]
            for (_, key), probs in zip(due, self._classifier.probabilities(crops)):
                self._remember(key, probs)
        for i, key in zip(rows, keys):
            self._last_seen[key] = self._frames
            probs = self._smoothed(key)
            if probs is not None:
                labels[i], score = self._best(probs)
                scores[i] = round(score, 4)
        det.data["classify_label"] = np.array(labels, dtype=object)
        det.data["classify_score"] = np.array(scores, dtype=object)
        counts = Counter(label for label in labels if label is not None)
        frame.values["classify_counts"] = " ".join(f"{k}:{v}" for k, v in sorted(counts.items()))
        self._forget_old()
        if p.explain:
            heat = np.zeros(frame.shape, np.float32)
            for i in rows[:MAX_EXPLAINED]:
                x1, y1, x2, y2 = padded_box(det.xyxy[i], frame.shape[1], frame.shape[0], p.padding)
                if x2 > x1 and y2 > y1:
                    heat[y1:y2, x1:x2] = np.maximum(heat[y1:y2, x1:x2], self._heatmap(frame.image[y1:y2, x1:x2]))
            frame.extras[self.id] = {"heatmap": heat}

    def _heatmap(self, image: np.ndarray) -> np.ndarray:
        """Grad-CAM of the model's top class on one image, at the image's size."""
        from vision_desk.stages.classify.explain import classify_and_explain

        if self._explainer is None:
            self._explainer = self._classifier.explainer()
        net = self._explainer
        with net.lock:
            heat, _, _ = classify_and_explain(net.module, net.tensor(image), net.layers, None, "gradcam", image.shape[:2])
        return heat

    # -- memory --------------------------------------------------------------
    def _due(self, key: Any) -> bool:
        last = self._last_run.get(key)
        return last is None or self._frames - last >= self.params.every

    def _remember(self, key: Any, probs: np.ndarray) -> None:
        self._last_run[key] = self._frames
        self._history.setdefault(key, deque(maxlen=self.params.smooth)).append(np.asarray(probs, np.float32))

    def _smoothed(self, key: Any) -> np.ndarray | None:
        history = self._history.get(key)
        return np.mean(history, axis=0) if history else None

    def _best(self, probs: np.ndarray) -> tuple[str, float]:
        c = int(np.argmax(probs))
        score = float(probs[c])
        return (self.labels[c] if score >= self.params.min_score else "?"), score

    def _forget_old(self) -> None:
        for key in [k for k, seen in self._last_seen.items() if self._frames - seen > FORGET_AFTER or isinstance(k, tuple)]:
            self._last_seen.pop(key, None)
            self._history.pop(key, None)
            self._last_run.pop(key, None)

    # -- overlay -------------------------------------------------------------
    def draw(self, canvas: np.ndarray, frame: Frame) -> None:
        p = self.params
        shown = frame.extras.get(self.id) or {}
        if "heatmap" in shown:
            from vision_desk.stages.classify.explain import blend_heatmap

            blend_heatmap(canvas, shown["heatmap"])
        if p.on == "region":
            sy, sx = _region_slice(frame.shape, p.region)
            cv2.rectangle(canvas, (sx.start, sy.start), (sx.stop - 1, sy.stop - 1), (255, 255, 255), 2, cv2.LINE_AA)
        if not p.bars:
            return
        if p.on == "objects":
            _draw_object_bars(canvas, frame)
            return
        if "probs" in shown:
            origin = (sx.start + 6, sy.start + 6) if p.on == "region" else (10, 10)
            draw_bars(canvas, shown["probs"], shown["labels"], p.top_k, origin)


def _region_slice(shape: tuple[int, int], region: list[float]) -> tuple[slice, slice]:
    x1, y1, x2, y2 = region_pixels(tuple(region), shape[1], shape[0])
    return slice(y1, max(y1 + 1, y2)), slice(x1, max(x1 + 1, x2))


def draw_bars(canvas: np.ndarray, probs: np.ndarray, labels: list[str], top_k: int, origin: tuple[int, int]) -> None:
    """The top_k classes as labelled horizontal bars, longest first, in a dark box at origin."""
    order = np.argsort(probs)[::-1][:top_k]
    x, y = origin
    width, row = 200, 20
    overlay = canvas[y:y + row * len(order) + 6, x:x + width + 12]
    if overlay.size:
        overlay[:] = (overlay * 0.35).astype(canvas.dtype)
    for n, c in enumerate(order):
        top = y + 4 + n * row
        length = int(round(float(probs[c]) * width))
        color = color_for(labels[c])
        cv2.rectangle(canvas, (x + 6, top), (x + 6 + length, top + row - 5), color, -1)
        cv2.putText(canvas, f"{labels[c][:18]} {float(probs[c]):.2f}", (x + 9, top + row - 9), cv2.FONT_HERSHEY_SIMPLEX,
                    0.45, (255, 255, 255), 1, cv2.LINE_AA)


def _draw_object_bars(canvas: np.ndarray, frame: Frame) -> None:
    det = frame.detections
    labels, scores = det.data.get("classify_label"), det.data.get("classify_score")
    if labels is None or scores is None:
        return
    for i in range(len(det)):
        if labels[i] is None:
            continue
        x0, _, x1, y1 = (int(v) for v in det.xyxy[i])
        length = int(round((x1 - x0) * float(scores[i])))
        color = color_for(labels[i])
        cv2.rectangle(canvas, (x0, y1 + 2), (x0 + length, y1 + 7), color, -1)
        draw_label(canvas, f"{labels[i]} {float(scores[i]):.2f}", x0, y1 + 24, color)
