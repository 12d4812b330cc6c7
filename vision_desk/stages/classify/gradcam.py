"""The ``gradcam`` stage: a heatmap of what a model looks at, blended over the picture.

The model is one of three kinds:

* an Ultralytics ``.pt`` model (a manifest name such as ``yolo11n`` or a path,
  resolved like detect's ``model``): detectors, segmenters, pose and obb
  models get EigenCAM (class-agnostic); an Ultralytics classify model gets
  Grad-CAM;
* a torchvision ImageNet classifier by its manifest name (``tv-mobilenet-v3-large``,
  ``tv-resnet18`` ...: the teaching backbones, ``models/manifest/teach.yaml``),
  fetched with ``vision-desk models pull tv-resnet18``;
* a taught model folder (``vision_desk.teach``), loaded with its own
  preprocessing and target layers.

Classifiers see the whole frame squeezed to their square input, so the
heatmap covers all of it. The heatmap goes into ``frame.extras`` and the peak
into ``frame.values``; the image is left alone, so the stage may run in an
async lane.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal

import numpy as np
from pydantic import create_model

from vision_desk.engine.frame import Frame, ResultOrigin
from vision_desk.engine.params import StageParams, param
from vision_desk.engine.stage import AnalysisParams, Stage
from vision_desk.errors import VisionDeskError
from vision_desk.stages.classify.classifiers import imagenet_arch

#: Ultralytics tasks whose models get EigenCAM (their heads score boxes, not one class per picture).
DETECTOR_TASKS = ("detect", "segment", "pose", "obb")
_METHOD_NAMES = {"eigencam": "EigenCAM", "gradcam": "Grad-CAM", "gradcam++": "Grad-CAM++"}


class _GradCamFields(AnalysisParams):
    model: str = param("yolo11n", widget="path", file_filter="Models (*.pt)",
                       help="A YOLO model name from 'vision-desk models list' or the path of a .pt (detect, segment, pose, obb or "
                            "classify); a torchvision ImageNet classifier (tv-mobilenet-v3-large, tv-efficientnet-b0, tv-mobilenet-v3-small, tv-resnet18); "
                            "or a taught model folder.")
    method: Literal["auto", "gradcam", "gradcam++", "eigencam"] = param(
        "auto", help="auto: EigenCAM for detectors (no class, no gradients), Grad-CAM for classifiers. gradcam++ covers "
                     "several objects of one class better; eigencam also works on classifiers, without a class.")
    alpha: float = param(0.5, ge=0.0, le=1.0, step=0.05, widget="slider", help="Opacity of the heatmap over the picture.")


# 'class' is a Python keyword, so the parameter of that name is declared through pydantic's create_model; pipeline
# files, --set gradcam.class=... and the GUI see it as 'class' like any other (read it with getattr).
GradCamParams = create_model(
    "GradCamParams",
    __base__=_GradCamFields,
    __module__=__name__,
    __doc__="Parameters of the gradcam stage.",
    **{
        "class": (str, param("", help="Classifiers: the class whose evidence is shown (a label, or its index); empty: the "
                                      "top class of each frame. Detectors have none: EigenCAM shows what the whole model looks at.")),
        "every": (int, param(1, ge=1, le=100, help="Compute the heatmap on every N-th frame and keep it in between.")),
    },
)


@dataclass
class Classifier:
    """A classifier ready to explain: its network, labels, explained layers and input preparation.

    ``tensor`` turns a BGR frame into the network's 1x3xSxS input (the whole frame squeezed, so the heatmap
    maps back onto all of it).
    """

    module: Any
    labels: list[str]
    layers: list[Any]
    tensor: Callable[[np.ndarray], Any]
    lock: Any = field(default_factory=threading.Lock)

    def label(self, index: int) -> str:
        return self.labels[index] if 0 <= index < len(self.labels) else str(index)

    def class_index(self, wanted: str, model: str) -> int | None:
        """The index of a class given by label (any case) or number; None for empty (the top class)."""
        wanted = wanted.strip()
        if not wanted:
            return None
        by_label = {label.lower(): i for i, label in enumerate(self.labels)}
        if wanted.lower() in by_label:
            return by_label[wanted.lower()]
        if wanted.isdigit() and int(wanted) < len(self.labels):
            return int(wanted)
        known = ", ".join(self.labels[:12]) + (" ..." if len(self.labels) > 12 else "")
        raise VisionDeskError(f"stage 'gradcam': class '{wanted}' is not one of model {model}'s classes ({known}); fix the 'class' parameter or leave it empty for the top class.")


def torchvision_classifier(name: str, path: Path, device: str, manifest: str = "") -> Classifier:
    """A torchvision ImageNet classifier built by its builder name with the weights file at path (as the manifest
    lists it under ``manifest``)."""
    import torchvision

    from vision_desk.models import load_torch_weights
    from vision_desk.stages.classify.explain import default_target_layers, frame_tensor

    enum = torchvision.models.get_model_weights(name)
    weights = next((w for w in enum if Path(w.url).name == path.name), enum.DEFAULT)  # a file renamed by the user: DEFAULT's labels
    module = torchvision.models.get_model(name, weights=None)
    state = load_torch_weights(path, what=f"torchvision {name} weights", manifest=manifest or name)
    try:
        module.load_state_dict(state)
    except Exception as err:  # noqa: BLE001 - truncated, foreign or corrupt files fail in many ways
        reason = str(err).strip().splitlines()[0][:120] if str(err).strip() else type(err).__name__
        raise VisionDeskError(f"model file {path.name} could not be loaded as torchvision's {name} ({reason}); "
                              f"download it again with 'vision-desk models pull {manifest or name}'.") from None
    module.to(device).eval()
    size = int(weights.transforms().crop_size[0])
    return Classifier(module, list(weights.meta["categories"]), default_target_layers(module),
                      lambda image: frame_tensor(image, size))


def taught_classifier(folder: Path) -> Classifier:
    """A model taught with vision_desk.teach: its own network, labels, target layers and preprocessing."""
    try:
        from vision_desk.teach.model import load_taught
    except ImportError:
        raise VisionDeskError(f"{folder} is a folder, which stage 'gradcam' reads as a taught model, but this installation "
                              "cannot load taught models (vision_desk.teach is missing); give a .pt model or a torchvision name.") from None
    taught = load_taught(folder)
    return Classifier(taught.module, list(taught.labels), list(taught.target_layers()), taught.tensor)


def ultralytics_classifier(loaded: Any) -> Classifier:
    """An Ultralytics classify model: its network (a private copy, see explain.private_network) at its imgsz."""
    from vision_desk.stages.classify.explain import default_target_layers, frame_tensor, private_network

    network, lock = private_network(loaded)
    labels = [str(loaded.names[i]) for i in sorted(loaded.names)]
    size = loaded.imgsz
    # Ultralytics classifiers take RGB in [0, 1] without mean/std normalisation.
    return Classifier(network, labels, default_target_layers(network), lambda image: frame_tensor(image, size, None, None), lock)


class GradCamStage(Stage):
    id = "gradcam"
    title = "What the model looks at (Grad-CAM)"
    category = "Classification"
    help = ("A heatmap of where a model looks, over the picture: EigenCAM for YOLO detectors, Grad-CAM for classifiers "
            "(torchvision, Ultralytics classify, taught models). Heavy: one more pass of the model (with gradients for "
            "Grad-CAM) per analysed frame.")
    Params = GradCamParams
    heavy = True
    values = {"gradcam_peak_x": "x of the heatmap's hottest pixel.", "gradcam_peak_y": "y of the heatmap's hottest pixel.",
              "gradcam_class": "Classifiers: the class explained (the top one unless 'class' is set).",
              "gradcam_score": "Classifiers: that class's probability."}

    def __init__(self, params: StageParams | None = None) -> None:
        super().__init__(params)
        self._loaded: Any = None  # the shared LoadedModel of an Ultralytics .pt
        self._classifier: Classifier | None = None
        self.kind = ""  # detector | classifier
        self.method = "eigencam"
        self.device = "cpu"
        self._class_index: int | None = None
        self._last: tuple[np.ndarray, dict[str, Any], ResultOrigin] | None = None  # heatmap, values, where from
        self._count = 0
        self._stale = False

    # -- lifecycle -----------------------------------------------------------
    def setup(self) -> None:
        from vision_desk.stages.detection.detect import choose_device

        self._release()
        self._stale = False
        p = self.params
        self.device = choose_device("auto")
        self._load(p.model)
        wanted = p.method if p.method != "auto" else ("eigencam" if self.kind == "detector" else "gradcam")
        if self.kind == "detector" and wanted != "eigencam":
            raise VisionDeskError(f"stage 'gradcam': {_METHOD_NAMES[wanted]} needs a class score, which detector {p.model} "
                                  "does not give; set method to eigencam or auto.")
        self.method = wanted
        target = getattr(p, "class").strip()
        if target and wanted == "eigencam":
            raise VisionDeskError(f"stage 'gradcam': EigenCAM shows what {p.model} looks at without a class, so 'class' must "
                                  "stay empty; use method gradcam to explain one class of a classifier.")
        self._class_index = self._classifier.class_index(target, p.model) if self._classifier is not None else None

    def _load(self, model: str) -> None:
        from vision_desk.models import resolve
        from vision_desk.stages.detection import model_cache

        given = Path(model).expanduser()
        if given.is_dir() and model_cache.model_format(given) != "openvino":
            self._classifier, self.kind = taught_classifier(given), "classifier"
            return
        arch = imagenet_arch(model) if not given.exists() else None
        if arch is not None:
            path = resolve(model)  # ModelMissingError naming 'vision-desk models pull <name>'
            self._classifier, self.kind = torchvision_classifier(arch, path, self.device, model), "classifier"
            return
        path = resolve(model)  # ModelMissingError with the pull command, before anything heavy is loaded
        fmt = model_cache.model_format(path)
        if fmt != "pt":
            raise VisionDeskError(f"stage 'gradcam' needs the PyTorch model (.pt) to look inside; {path.name} is a {fmt} "
                                  "export, so give the .pt it was made from.")
        self._loaded = model_cache.acquire(path, self.device, False, label=model)
        if self._loaded.task in DETECTOR_TASKS:
            self.kind = "detector"
        elif self._loaded.task == "classify":
            self._classifier, self.kind = ultralytics_classifier(self._loaded), "classifier"
        else:
            raise VisionDeskError(f"model {model} does task '{self._loaded.task}', which stage 'gradcam' cannot explain; "
                                  "use a detect, segment, pose, obb or classify model.")

    def reset(self) -> None:
        self._last = None
        self._count = 0

    def update_params(self, params: StageParams) -> None:
        old = self.params
        super().update_params(params)
        if any(getattr(old, k) != getattr(params, k) for k in ("model", "method", "class")) and self.kind:
            self._stale = True  # set up again before the next frame, where a failure is reported like any stage error
        self.reset()

    def close(self) -> None:
        self._release()

    def _release(self) -> None:
        from vision_desk.stages.detection import model_cache

        if self._loaded is not None:
            model_cache.release(self._loaded)
            self._loaded = None
        self._classifier = None
        self.kind = ""

    # -- frames --------------------------------------------------------------
    def explain(self, image: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
        """The heatmap of one frame (frame-sized, [0, 1]) and the values it gives."""
        from vision_desk.stages.classify.explain import classify_and_explain, detector_heatmap, heatmap_peak

        values: dict[str, Any] = {}
        if self.kind == "detector":
            heat = detector_heatmap(self._loaded, image)
        else:
            c = self._classifier
            assert c is not None, "set up before use"
            with c.lock:
                heat, index, probability = classify_and_explain(c.module, c.tensor(image), c.layers, self._class_index,
                                                                self.method, image.shape[:2])
            if self.method != "eigencam":
                values = {"gradcam_class": c.label(index), "gradcam_score": round(probability, 4)}
        x, y = heatmap_peak(heat)
        return heat, {"gradcam_peak_x": x, "gradcam_peak_y": y, **values}

    def process(self, frame: Frame) -> None:
        if self._stale:
            self.setup()
        if self._count % self.params.every == 0 or self._last is None:
            self._last = (*self.explain(frame.image), frame.mark(self.id))
        else:
            frame.mark(self.id, self._last[2])
        heat, values, _ = self._last
        frame.values.update(values)
        frame.extras[self.id] = {"heatmap": heat}
        self._count += 1

    def draw(self, canvas: np.ndarray, frame: Frame) -> None:
        from vision_desk.stages.classify.explain import blend_heatmap

        info = frame.extras.get(self.id)
        if info is not None:
            blend_heatmap(canvas, info["heatmap"], self.params.alpha)

    def summary(self) -> str:
        if not self.kind:
            return ""
        return f"{Path(self.params.model).name} · {_METHOD_NAMES.get(self.method, self.method)} ({self.kind}) on {self.device}"

