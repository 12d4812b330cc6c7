"""Ultralytics models, loaded once per process and shared, with their CPU exports cached on disk.

* :func:`ultralytics_offline` imports Ultralytics with its run-time
  auto-install, auto-download, hub events and error reporting switched off
  (environment variables read at import, plus the module-level flags for the
  case where something imported it earlier), and with its weights-only
  checkpoint loading on (``ULTRALYTICS_SAFE_LOAD``), so a tampered ``.pt``
  cannot run code.
* :func:`acquire` loads a model file for a device once and hands the same
  :class:`LoadedModel` to every stage that asks with the same key;
  :func:`acquire_openvino_detector` does the same for the PyTorch-free
  OpenVINO runner of detection and pose exports; :func:`release` drops either when
  the last user closes. Both keep their models in the process's one pool
  (:mod:`vision_desk.engine.model_pool`), whose batching front gathers the
  frames several streams submit to one model into one inference call.
* :func:`model_info` tells a ``.pt`` model's task and classes, from a small
  file cached beside its exports, so a CPU run on a cached export never
  imports PyTorch.
* :func:`ensure_export` builds an ONNX or OpenVINO export with Ultralytics'
  exporter at a fixed (rectangular) input size, caches it next to the source
  model and rebuilds it when the source changes (size + mtime, then sha256).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vision_desk.engine import model_pool
from vision_desk.errors import MissingModel, ModelMissingError, VisionDeskError
from vision_desk.models import refetch_advice, refused_code, unsafe_model_message
from vision_desk.stages.detection.export_meta import export_metadata

_OFFLINE_ENV = {"YOLO_OFFLINE": "1", "YOLO_AUTOINSTALL": "false"}
_QUIET_SETTINGS = ("sync", "clearml", "comet", "dvc", "mlflow", "raytune", "tensorboard", "wandb", "vscode_msg", "openvino_msg")


def ultralytics_offline() -> Any:
    """Imports Ultralytics with every network and pip side effect off and returns its ``YOLO`` class."""
    configure_ultralytics()
    from ultralytics import YOLO

    return YOLO


def configure_ultralytics() -> None:
    """Imports Ultralytics' core with every network and pip side effect off (its models are not imported).

    ``YOLO_OFFLINE=1`` makes ``ultralytics.utils.ONLINE`` false (no hub events,
    no downloads attempted, no pip), ``YOLO_AUTOINSTALL=false`` stops
    ``check_requirements`` from calling pip. Both are read when Ultralytics is
    first imported, so the module flags are patched too. Settings are changed
    in memory only: the user's Ultralytics settings file is left as it is.

    Ultralytics unpickles ``.pt`` checkpoints whole by default (``weights_only=False``: a file can run any
    code as it loads, and a missing module it names was even pip-installed). ``ULTRALYTICS_SAFE_LOAD=1`` is its
    own switch to ``weights_only=True`` with an allow-list of its model classes; it is on unless the user set
    it (``ULTRALYTICS_SAFE_LOAD=0`` loads a checkpoint of custom classes that the user trusts).
    """
    for key, value in _OFFLINE_ENV.items():
        os.environ[key] = value
    os.environ.setdefault("YOLO_VERBOSE", "false")
    safe = os.environ.setdefault("ULTRALYTICS_SAFE_LOAD", "1").strip().lower() in ("1", "true", "yes", "on")
    import ultralytics.utils as uutils
    from ultralytics.utils import checks, events

    for module in (uutils, checks, events):
        if hasattr(module, "ONLINE"):
            module.ONLINE = False
    uutils.AUTOINSTALL = checks.AUTOINSTALL = False
    tasks = sys.modules.get("ultralytics.nn.tasks")  # it copies the flag when imported; not imported here (torch)
    for module in (uutils, tasks):
        if module is not None and hasattr(module, "SAFE_LOAD"):
            module.SAFE_LOAD = safe
    for key in _QUIET_SETTINGS:
        if key in uutils.SETTINGS:
            dict.__setitem__(uutils.SETTINGS, key, False)  # not SETTINGS[key] = ..., which rewrites the user's file
    if os.environ.get("YOLO_VERBOSE", "").strip().lower() not in ("1", "true", "yes", "on"):
        uutils.LOGGER.setLevel(logging.WARNING)  # its per-model banners would drown the CLI's own progress


#: Ultralytics' own default input size, for a model that does not record one (e.g. built from a YAML config).
DEFAULT_IMGSZ = 640


def own_imgsz(recorded: Any) -> int:
    """The input size (the long side) a model records: ``imgsz`` of its training arguments or export metadata.

    Ultralytics stores an int or an (h, w) pair; a model without one runs at :data:`DEFAULT_IMGSZ`, as in
    Ultralytics.
    """
    if isinstance(recorded, (list, tuple)) and recorded:
        return max(int(v) for v in recorded)
    if isinstance(recorded, (int, float)) and recorded > 0:
        return int(recorded)
    return DEFAULT_IMGSZ


def half_allowed(device: str) -> bool:
    """Half precision only where it is fast and correct: CUDA."""
    return device.startswith("cuda")


@dataclass
class LoadedModel:
    """A loaded Ultralytics model and what the stages need to know about it."""

    yolo: Any
    path: Path
    device: str
    half: bool
    task: str
    names: dict[int, str]
    format: str
    kpt_shape: tuple[int, int] | None = None
    fixed_shape: tuple[int, int] | None = None  # a static export's input (h, w); None: any size
    imgsz: int = DEFAULT_IMGSZ  # the size it was trained (.pt) or exported (other formats) at: what Ultralytics runs it at
    warmed: set = field(default_factory=set)
    #: (network copy, lock) for heatmaps, made on first use (vision_desk.stages.classify.explain.private_network)
    explainer: Any = field(default=None, repr=False, compare=False)

    def predict(self, images: list, **kwargs: Any) -> list:
        """Runs Ultralytics' predictor on a list of BGR frames as one batch, with the frames other streams
        sharing the model submit meanwhile (:func:`model_pool.batched`; the front also keeps two streams from
        calling the predictor at once, which Ultralytics' predictor does not allow)."""
        return model_pool.batched(self, self._predict_items, [(image, kwargs) for image in images])

    def _predict_items(self, items: list[tuple[Any, dict[str, Any]]]) -> list:
        """(frame, predict options) pairs in, one Ultralytics result each out: one predictor call per run of
        frames with the same options and size (frames of one size batch; another size is letterboxed apart)."""
        extra = {"quantize": 16} if self.half else {}
        out: list = []
        start = 0
        while start < len(items):
            image, kwargs = items[start]
            end = start + 1
            while end < len(items) and items[end][1] == kwargs and items[end][0].shape == image.shape:
                end += 1
            out += self.yolo.predict([im for im, _ in items[start:end]], device=self.device, verbose=False,
                                     stream=False, save=False, **extra, **kwargs)
            start = end
        return out


def model_format(path: Path) -> str:
    """pt | onnx | openvino | engine | torchscript ... from the file name, as Ultralytics sees it."""
    name = path.name.lower()
    if path.is_dir() and (name.endswith("_openvino_model") or any(path.glob("*.xml"))):
        return "openvino"
    suffix = path.suffix.lower()
    return {".pt": "pt", ".pth": "pt", ".onnx": "onnx", ".engine": "engine", ".torchscript": "torchscript",
            ".xml": "openvino", ".yaml": "yaml"}.get(suffix, suffix.lstrip(".") or "unknown")


def acquire(path: Path, device: str, half: bool, *, label: str | None = None) -> LoadedModel:
    """The shared model for (path, device, half), loading it on first use.

    Raises:
        VisionDeskError: the file is not a model Ultralytics can load (one sentence naming it).
    """
    from vision_desk.engine.watch import file_stamp

    half = half and half_allowed(device)
    # the file's stamp is part of the key: a model retrained at the same path is a new model, not the cached one
    key = (str(Path(path).resolve()), file_stamp(path), device, half)
    return model_pool.share(key, lambda: _load(Path(path), device, half, label or Path(path).name))


def acquire_openvino_detector(folder: Path, *, label: str | None = None) -> Any:
    """The shared :class:`~.openvino_detector.OpenVINODetector` for a static detect or pose export folder."""
    from vision_desk.stages.detection.openvino_detector import OpenVINODetector

    def load() -> OpenVINODetector:
        meta = export_metadata(Path(folder))
        if meta.get("task") not in LEAN_TASKS or meta.get("dynamic") or not meta.get("imgsz") or not meta.get("names"):
            raise VisionDeskError(f"{label or folder} is not a static-shape detection or pose export; run it with backend 'pytorch' instead.")
        return OpenVINODetector(Path(folder), meta)

    return model_pool.share((str(Path(folder).resolve()), "openvino-detector"), load)


#: Forgets a user of a model from acquire*; the last one frees it.
release = model_pool.release
#: How many distinct models the process has loaded now (tests check sharing with it).
loaded_count = model_pool.loaded_count


def _load(path: Path, device: str, half: bool, label: str) -> LoadedModel:
    if not path.exists():
        raise ModelMissingError(f"model file {path} not found; check the path or fetch it with 'vision-desk models pull NAME'.",
                                [MissingModel(label, None, str(path.parent))])
    fmt = model_format(path)
    if path.is_file() and path.stat().st_size == 0:
        raise VisionDeskError(f"model file {path} is empty; download it again ('vision-desk models pull NAME') or pick another file.")
    YOLO = ultralytics_offline()  # noqa: N806 - the class
    meta = export_metadata(path) if fmt in ("onnx", "openvino", "engine", "torchscript") else {}
    try:
        yolo = YOLO(str(path), task=meta["task"]) if meta.get("task") else YOLO(str(path))
        names = dict(getattr(yolo, "names", None) or {})
    except Exception as err:  # noqa: BLE001 - corrupt, truncated or foreign files fail in many ways
        refused = refused_code(err)
        if refused:  # Ultralytics' safe load refused a class or function outside its allow-list
            raise VisionDeskError(unsafe_model_message("model file", path, refused, refetch_advice(
                path, otherwise="replace it with a good copy (ULTRALYTICS_SAFE_LOAD=0 loads a checkpoint of "
                                "custom classes, if you trust it)"))) from None
        reason = str(err).strip().splitlines()[0][:160] if str(err).strip() else type(err).__name__
        raise VisionDeskError(
            f"model file {label} could not be loaded ({reason}); it is corrupt or not an Ultralytics model, "
            f"so download it again ('vision-desk models pull NAME') or pick another file."
        ) from None
    inner = getattr(yolo, "model", None)
    kpt = meta.get("kpt_shape")
    if not kpt and hasattr(inner, "yaml"):  # a PyTorch model: its own config says
        kpt = getattr(inner, "kpt_shape", None) or (inner.yaml or {}).get("kpt_shape")
    fixed = None
    if meta and not meta.get("dynamic", False) and meta.get("imgsz"):
        fixed = (int(meta["imgsz"][0]), int(meta["imgsz"][1]))
    # Ultralytics keeps a checkpoint's training imgsz in its overrides (and an export's in the metadata) and
    # predicts at that size unless told otherwise.
    recorded = meta.get("imgsz") if meta else (getattr(yolo, "overrides", None) or {}).get("imgsz")
    return LoadedModel(yolo=yolo, path=path, device=device, half=half, task=str(yolo.task), names=names, format=fmt,
                       kpt_shape=(int(kpt[0]), int(kpt[1])) if kpt else None, fixed_shape=fixed,
                       imgsz=own_imgsz(recorded))


@dataclass(frozen=True)
class ModelInfo:
    """What the stages need to know about a model before running it."""

    task: str
    names: dict[int, str]
    kpt_shape: tuple[int, int] | None = None
    imgsz: int = DEFAULT_IMGSZ  # the size it was trained at


def model_info(path: Path, *, label: str | None = None) -> ModelInfo:
    """Task, class names, keypoint shape and training size of a ``.pt`` model.

    Read from ``model.json`` in the model's export folder when it was written
    for this very file (size and mtime); otherwise the model is loaded once
    (PyTorch) and the file written, so later CPU runs on cached exports start
    without importing PyTorch at all.
    """
    path = Path(path)
    cache = _export_root(path) / "model.json"
    stamp = _stamp(path)
    try:
        data = json.loads(cache.read_text())
        if data.get("size") == stamp["size"] and data.get("mtime_ns") == stamp["mtime_ns"]:
            kpt = data.get("kpt_shape")
            return ModelInfo(str(data["task"]), {int(k): str(v) for k, v in data["names"].items()},
                             tuple(kpt) if kpt else None, int(data["imgsz"]))
    except (OSError, ValueError, KeyError, AttributeError, TypeError):
        pass  # not written yet, for another file, or damaged: ask the model itself (and write it afresh)
    model = acquire(path, "cpu", False, label=label)
    try:
        info = ModelInfo(model.task, dict(model.names), model.kpt_shape, model.imgsz)
    finally:
        release(model)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps({**stamp, "task": info.task, "names": info.names, "kpt_shape": info.kpt_shape,
                                     "imgsz": info.imgsz}))
    except OSError:
        pass  # a read-only place: the model is asked again next time, nothing is lost
    return info


# -- exports ------------------------------------------------------------------

EXPORT_FORMATS = ("onnx", "openvino")
#: The tasks the PyTorch-free OpenVINO detector runs (the others go through Ultralytics' predictor).
LEAN_TASKS = ("detect", "pose")


def _stamp(source: Path) -> dict[str, Any]:
    st = source.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _export_root(source: Path) -> Path:
    """``<model>.exports/`` beside the model when that folder is writable, else a folder in the models cache."""
    beside = source.parent / f"{source.stem}.exports"
    if os.access(source.parent, os.W_OK):
        return beside
    from vision_desk.models import sha256_of
    from vision_desk.weights import models_dir

    return models_dir() / "exports" / f"{source.stem}-{sha256_of(source)[:12]}"


def export_dir(source: Path, fmt: str, shape: tuple[int, int], batch: int, half: bool = False) -> Path:
    """Where the export of source for this format, input shape (h, w), batch and precision lives."""
    h, w = shape
    return _export_root(source) / f"{fmt}-{h}x{w}-b{batch}{'-fp16' if half else ''}"


def export_file(folder: Path, fmt: str) -> Path:
    """The file or folder inside an export folder that Ultralytics loads."""
    return folder / ("model.onnx" if fmt == "onnx" else "model_openvino_model")


def export_is_current(source: Path, folder: Path) -> bool:
    """True when the export in folder was built from this very source file.

    A matching size and mtime are trusted; otherwise the source's sha256 is
    compared with the recorded one (a touched but unchanged file keeps its export).
    """
    stamp_path = folder / "source.json"
    try:
        stamp = json.loads(stamp_path.read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(stamp, dict):
        return False  # damaged: the export is built again
    now = _stamp(source)
    if stamp.get("size") == now["size"] and stamp.get("mtime_ns") == now["mtime_ns"]:
        return True
    from vision_desk.models import sha256_of

    if stamp.get("sha256") == sha256_of(source):
        stamp.update(now)
        stamp_path.write_text(json.dumps(stamp))
        return True
    return False


def ensure_export(source: Path, fmt: str, shape: tuple[int, int], batch: int = 1, half: bool = False) -> Path:
    """An export of a .pt model at a fixed input shape, built once and cached; returns what Ultralytics loads.

    Args:
        source: the PyTorch model file.
        fmt: ``onnx`` or ``openvino``.
        shape: the network input (height, width), multiples of 32 (e.g. (384, 640) for 16:9 at 640).
        batch: the static batch size of the export.
        half: FP16 weights (OpenVINO only; ignored for ONNX).
    """
    if fmt not in EXPORT_FORMATS:
        raise VisionDeskError(f"export format '{fmt}' is not supported; use one of {', '.join(EXPORT_FORMATS)}.")
    folder = export_dir(source, fmt, shape, batch, half)
    target = export_file(folder, fmt)
    if target.exists() and export_is_current(source, folder):
        return target
    from vision_desk.models import sha256_of

    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        copy = work / "model.pt"
        shutil.copyfile(source, copy)
        YOLO = ultralytics_offline()  # noqa: N806
        kwargs: dict[str, Any] = {"format": fmt, "imgsz": list(shape), "batch": batch, "dynamic": False, "device": "cpu"}
        if fmt == "openvino" and half:
            kwargs["quantize"] = 16
        if fmt == "onnx":
            kwargs["simplify"] = True
        try:
            with warnings.catch_warnings():  # torch.jit tracing warns at length; the export is checked by its result
                warnings.simplefilter("ignore")
                made = Path(YOLO(str(copy)).export(**kwargs))
        except Exception as err:  # noqa: BLE001
            raise VisionDeskError(f"exporting {source.name} to {fmt} failed ({type(err).__name__}: {err}); use backend 'pytorch' instead.") from None
        built = work / "out"
        built.mkdir()
        made.rename(export_file(built, fmt))
        (built / "source.json").write_text(json.dumps({**_stamp(source), "sha256": sha256_of(source), "fmt": fmt,
                                                       "shape": list(shape), "batch": batch, "half": half}))
        if folder.exists():
            shutil.rmtree(folder, ignore_errors=True)
        try:
            built.rename(folder)
        except OSError:
            if not (export_file(folder, fmt).exists() and export_is_current(source, folder)):  # another process won
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target
