"""Face models: MTCNN detection, dlib's landmark predictors and the two embedding backends.

Every model is loaded once per process (``functools.lru_cache``), so several
face stages in one pipeline, the CLI and the tests share one copy.

Embedding backends and their similarity convention (one number, higher is
more alike, compared with a per-backend threshold):

* ``dlib`` (default, offline): dlib's 128-D ResNet from the
  ``face-recognition-models`` package. dlib compares descriptors by Euclidean
  distance ``d`` and calls two faces the same person when ``d < 0.6``.
  Vision Desk reports ``similarity = 1 - d``, so dlib's rule becomes
  ``similarity > 0.4``.
* ``facenet``: facenet-pytorch's InceptionResnetV1 with the VGGFace2 weights
  (``vision-desk models pull facenet-vggface2``). Its 512-D embeddings are
  unit length; ``similarity`` is their cosine (``1 - d**2 / 2`` for the
  Euclidean distance ``d``). The default threshold 0.5 (``d ≈ 1.0``) is a
  little stricter than the squared-distance threshold of about 1.1 that
  FaceNet's LFW evaluation settles on.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vision_desk.errors import VisionDeskError

#: Manifest name of the FaceNet weights (models/manifest/faces.yaml).
FACENET_MODEL = "facenet-vggface2"
#: Default similarity thresholds: a face below its backend's threshold is ``unknown``.
DEFAULT_THRESHOLDS = {"dlib": 0.4, "facenet": 0.5}
BACKENDS = tuple(DEFAULT_THRESHOLDS)


@dataclass
class FaceBoxes:
    """Faces found in one image.

    Attributes:
        xyxy: (N, 4) float32 boxes in pixels.
        score: (N,) float32 MTCNN confidences.
        points: (N, 5, 2) float32 landmarks: image-left eye, image-right eye,
            nose tip, image-left mouth corner, image-right mouth corner.
    """

    xyxy: np.ndarray
    score: np.ndarray
    points: np.ndarray

    @classmethod
    def empty(cls) -> "FaceBoxes":
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, 5, 2), np.float32))

    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index: Any) -> "FaceBoxes":
        return FaceBoxes(self.xyxy[index], self.score[index], self.points[index])


# -- detection ---------------------------------------------------------------
@lru_cache(maxsize=8)
def mtcnn(min_size: int = 20, device: str = "cpu") -> Any:
    """facenet-pytorch's MTCNN (its weights ship inside the package), one per minimum face size."""
    from facenet_pytorch import MTCNN

    return MTCNN(min_face_size=min_size, keep_all=True, device=device)


def detect_faces(image: np.ndarray, *, min_size: int = 20, confidence: float = 0.9, device: str | None = None) -> FaceBoxes:
    """Finds faces in a BGR image with MTCNN.

    Args:
        image: HxWx3 uint8 BGR.
        min_size: smallest face (longer box side, pixels) to report; also MTCNN's pyramid start.
        confidence: faces scoring below it are dropped.
        device: torch device for the three small networks; the best available when None.

    Returns:
        The faces, largest first, boxes clipped to the image.
    """
    import torch

    from vision_desk.weights import pick_device

    rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    with torch.inference_mode():
        boxes, scores, points = mtcnn(min_size, device or pick_device()).detect(rgb, landmarks=True)
    if boxes is None:
        return FaceBoxes.empty()
    # With numpy 2, facenet-pytorch 2.5.3 returns object arrays: cast them.
    found = FaceBoxes(
        np.asarray(boxes, dtype=np.float32).reshape(-1, 4),
        np.asarray(scores, dtype=np.float32).reshape(-1),
        np.asarray(points, dtype=np.float32).reshape(-1, 5, 2),
    )
    sides = np.maximum(found.xyxy[:, 2] - found.xyxy[:, 0], found.xyxy[:, 3] - found.xyxy[:, 1])
    # min_face_size only sets MTCNN's first pyramid scale, so somewhat smaller faces slip through: drop them.
    found = found[(found.score >= confidence) & (sides >= min_size)]
    h, w = image.shape[:2]
    found.xyxy[:, [0, 2]] = found.xyxy[:, [0, 2]].clip(0, w - 1)
    found.xyxy[:, [1, 3]] = found.xyxy[:, [1, 3]].clip(0, h - 1)
    area = (found.xyxy[:, 2] - found.xyxy[:, 0]) * (found.xyxy[:, 3] - found.xyxy[:, 1])
    return found[np.argsort(-area, kind="stable")]


# -- dlib models ---------------------------------------------------------------
def dlib_model_path(filename: str) -> Path:
    """A ``.dat`` file from the face-recognition-models package, found without importing it.

    Importing ``face_recognition_models`` needs ``pkg_resources``; locating its
    folder through importlib does not.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise VisionDeskError("dlib's face models are not installed; install them with: pip install face-recognition-models dlib-bin")
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / filename
    if not path.is_file():
        raise VisionDeskError(f"dlib model file {path} is missing; reinstall it with: pip install --force-reinstall face-recognition-models")
    return path


def _import_dlib() -> Any:
    try:
        import dlib
    except ImportError:
        raise VisionDeskError("dlib is not installed; install it with: pip install dlib-bin") from None
    return dlib


@lru_cache(maxsize=2)
def shape_predictor(points: int) -> Any:
    """dlib's 5- or 68-point landmark predictor."""
    dlib = _import_dlib()
    return dlib.shape_predictor(str(dlib_model_path(f"shape_predictor_{points}_face_landmarks.dat")))


@lru_cache(maxsize=1)
def dlib_face_encoder() -> Any:
    dlib = _import_dlib()
    return dlib.face_recognition_model_v1(str(dlib_model_path("dlib_face_recognition_resnet_model_v1.dat")))


def dlib_rect(box: np.ndarray) -> Any:
    """The square box dlib's predictors were trained on, from an MTCNN box.

    dlib's HOG detector draws a square from the brows to the chin; MTCNN's box
    is taller (forehead included). Measured on the astronaut and zidane.jpg,
    the HOG square's side is 0.82 of MTCNN's height and its centre 2% lower.
    """
    dlib = _import_dlib()
    x1, y1, x2, y2 = (float(v) for v in box)
    side = 0.82 * (y2 - y1)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2 + 0.02 * (y2 - y1)
    return dlib.rectangle(int(round(cx - side / 2)), int(round(cy - side / 2)), int(round(cx + side / 2)), int(round(cy + side / 2)))


def predict_landmarks(image: np.ndarray, boxes: np.ndarray, points: int = 68) -> np.ndarray:
    """(N, points, 2) float32 landmarks from dlib's predictor for each face box (BGR image)."""
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    if not len(boxes):
        return np.zeros((0, points, 2), np.float32)
    rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    predictor = shape_predictor(points)
    out = np.empty((len(boxes), points, 2), np.float32)
    for i, box in enumerate(boxes):
        shape = predictor(rgb, dlib_rect(box))
        out[i] = [(p.x, p.y) for p in shape.parts()]
    return out


# -- embedding backends ----------------------------------------------------------
class DlibEmbedder:
    """dlib's 128-D face descriptor; similarity = 1 - Euclidean distance.

    The descriptors are computed in a worker process. dlib's Python binding
    holds the GIL for the whole of ``compute_face_descriptor`` (77 ms per face
    on two cores, measured beside a 1 ms ticker), so in-process it stopped the
    frame loop, the capture thread and the window for a quarter of a second per
    three faces, lane or no lane. The worker gets only a crop around each face
    (a few kB, not the frame) and gives back the same descriptors: dlib's face
    chip (the landmarks' square with 25% padding) lies inside the crop, and where
    a face touches the frame's edge the crop ends there, as the frame does.
    """

    name = "dlib"
    dim = 128

    def __init__(self) -> None:
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import get_context

        for filename in ("dlib_face_recognition_resnet_model_v1.dat", "shape_predictor_5_face_landmarks.dat"):
            dlib_model_path(filename)  # a missing model is reported here, in one sentence, not by the worker
        _import_dlib()
        # spawn: a fork of a process running torch's threads can deadlock in the child
        self._pool = ProcessPoolExecutor(1, mp_context=get_context("spawn"), initializer=_exit_with_parent,
                                         initargs=(os.getpid(),))
        self._pool.submit(_dlib_load).result()  # start the worker and load its models now, during set-up
        # stopped before Python tears its modules down, where a pool left to the garbage collector prints errors
        atexit.register(self.close)

    def close(self) -> None:
        """Stops the worker process (waits for it: its queue's semaphores are then released, not reported leaked)."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def embed(self, image: np.ndarray, faces: FaceBoxes) -> np.ndarray:
        """(N, 128) float32 descriptors of the faces in a BGR image."""
        from concurrent.futures.process import BrokenProcessPool

        if not len(faces):
            return np.zeros((0, self.dim), np.float32)
        try:
            return self._pool.submit(_dlib_descriptors, [_face_crop(image, box) for box in faces.xyxy]).result()
        except BrokenProcessPool:
            raise VisionDeskError("dlib's face recognition worker process stopped (out of memory?); "
                                  "switch the stage off and on again to restart it.") from None

    @staticmethod
    def similarity(queries: np.ndarray, gallery: np.ndarray) -> np.ndarray:
        diff = queries[:, None, :] - gallery[None, :, :]
        return 1.0 - np.linalg.norm(diff, axis=2)


def _face_crop(image: np.ndarray, box: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An RGB crop reaching one face size beyond the box on every side (within the frame), and the box in it."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in box)
    mx, my = x2 - x1, y2 - y1
    cx1, cy1 = max(0, int(x1 - mx)), max(0, int(y1 - my))
    cx2, cy2 = min(w, int(np.ceil(x2 + mx))), min(h, int(np.ceil(y2 + my)))
    crop = np.ascontiguousarray(cv2.cvtColor(image[cy1:cy2, cx1:cx2], cv2.COLOR_BGR2RGB))
    return crop, np.float32([x1 - cx1, y1 - cy1, x2 - cx1, y2 - cy1])


def _exit_with_parent(parent: int) -> None:
    """In the worker process: ends it once the process that started it is gone. A parent that ends with
    ``os._exit`` (the CLI, to skip the libraries' slow teardown) or is killed never shuts the pool down,
    and its worker lived on, orphaned (seen: one per finished run)."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _dlib_load() -> None:
    """In the worker process: loads the models (once)."""
    dlib_face_encoder()
    shape_predictor(5)


def _dlib_descriptors(crops: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """In the worker process: a descriptor per (RGB crop, face box in it)."""
    encoder, predictor = dlib_face_encoder(), shape_predictor(5)
    out = [np.asarray(encoder.compute_face_descriptor(crop, predictor(crop, dlib_rect(box)))) for crop, box in crops]
    return np.asarray(out, np.float32)


class FacenetEmbedder:
    """InceptionResnetV1 (VGGFace2) 512-D unit embeddings; similarity = cosine."""

    name = "facenet"
    dim = 512
    size = 160
    margin = 0.1  # of the box side on each side, like facenet-pytorch's margin=14 px at 160 px

    def __init__(self, weights: str = FACENET_MODEL, device: str = "cpu") -> None:
        self.model = load_facenet(weights, device)
        self.device = device

    def crops(self, image: np.ndarray, faces: FaceBoxes) -> np.ndarray:
        """(N, 3, 160, 160) float32 RGB crops, standardised as in training ((x - 127.5) / 128)."""
        h, w = image.shape[:2]
        out = np.empty((len(faces), 3, self.size, self.size), np.float32)
        for i, (x1, y1, x2, y2) in enumerate(faces.xyxy):
            mx, my = self.margin * (x2 - x1), self.margin * (y2 - y1)
            a, b = int(max(0, x1 - mx)), int(max(0, y1 - my))
            c, d = int(min(w, x2 + mx)), int(min(h, y2 + my))
            crop = cv2.resize(image[b:max(d, b + 1), a:max(c, a + 1)], (self.size, self.size), interpolation=cv2.INTER_AREA)
            out[i] = (cv2.cvtColor(crop, cv2.COLOR_BGR2RGB).astype(np.float32).transpose(2, 0, 1) - 127.5) / 128.0
        return out

    def embed(self, image: np.ndarray, faces: FaceBoxes) -> np.ndarray:
        """(N, 512) float32 unit-length embeddings of the faces in a BGR image."""
        if not len(faces):
            return np.zeros((0, self.dim), np.float32)
        import torch

        with torch.inference_mode():
            batch = torch.from_numpy(self.crops(image, faces)).to(self.device)
            return self.model(batch).cpu().numpy().astype(np.float32)

    @staticmethod
    def similarity(queries: np.ndarray, gallery: np.ndarray) -> np.ndarray:
        return queries @ gallery.T


@lru_cache(maxsize=2)
def load_facenet(weights: str = FACENET_MODEL, device: str = "cpu") -> Any:
    """InceptionResnetV1 with a state dict from the model cache (never downloaded here).

    The released file carries the VGGFace2 classifier (``logits.*``, 8631
    identities) that embeddings do not use; it is dropped before a strict load.
    """
    from facenet_pytorch import InceptionResnetV1

    from vision_desk.models import load_torch_weights, resolve

    path = resolve(weights)
    state = load_torch_weights(path, what="FaceNet weights", manifest=FACENET_MODEL)
    state = {k: v for k, v in state.items() if not k.startswith("logits.")}
    model = InceptionResnetV1(pretrained=None, classify=False)
    try:
        model.load_state_dict(state)
    except RuntimeError:
        raise VisionDeskError(f"{path} does not hold InceptionResnetV1 weights; run: vision-desk models pull {FACENET_MODEL}") from None
    return model.eval().to(device)


def make_embedder(backend: str, device: str = "cpu") -> DlibEmbedder | FacenetEmbedder:
    """The embedding backend by name (``dlib`` or ``facenet``)."""
    if backend == "dlib":
        return _dlib_embedder()
    if backend == "facenet":
        return FacenetEmbedder(FACENET_MODEL, device)
    raise VisionDeskError(f"unknown face embedding backend '{backend}'; use one of {', '.join(BACKENDS)}.")


@lru_cache(maxsize=1)
def _dlib_embedder() -> DlibEmbedder:
    return DlibEmbedder()


def shutdown_workers() -> None:
    """Stops the dlib worker process if one was started (for an exit that skips ``atexit``, see cli.exit_now)."""
    if _dlib_embedder.cache_info().currsize:
        _dlib_embedder().close()
