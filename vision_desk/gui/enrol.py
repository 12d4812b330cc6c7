"""Enrol a face from the live view: pick a face box, type a name, store its embedding in the gallery.

The embedding (dlib or FaceNet, about a second on a CPU) is computed on a
worker thread that opens its own gallery connection; the outcome comes back to
the GUI thread as one sentence. A ``faces`` stage running with ``recognize``
notices the gallery changed and names the person from its next frame on.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from vision_desk.engine.pipeline import PipelineSpec
from vision_desk.engine.results import Detections

FACES_STAGE = "faces"
NO_STAGE = "There is no faces stage in the pipeline; add the faces stage to enrol a face from the video."
NO_FACE = "No face at that point: add the faces stage or click inside a face box."


def faces_params(spec: PipelineSpec) -> dict[str, Any] | None:
    """The parameters of the pipeline's first enabled ``faces`` stage, or None when it has none."""
    for stage in spec.stages:
        if stage.stage == FACES_STAGE and stage.enabled:
            return dict(stage.params)
    return None


def face_at(detections: Detections, point: tuple[int, int]) -> np.ndarray | None:
    """The (x1, y1, x2, y2) box of the smallest ``faces`` face containing ``point``, or None."""
    faces = detections.where(source=FACES_STAGE, label="face")
    if not len(faces):
        return None
    x, y = point
    boxes = faces.xyxy
    inside = (boxes[:, 0] <= x) & (x <= boxes[:, 2]) & (boxes[:, 1] <= y) & (y <= boxes[:, 3])
    if not inside.any():
        return None
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return boxes[np.flatnonzero(inside)[np.argmin(areas[inside])]].astype(np.float32)


def enrol_sentence(gallery_path: str | None, name: str, image: np.ndarray, box: np.ndarray, backend: str) -> str:
    """Enrols the face (blocking; any thread) and says what happened in one sentence."""
    from vision_desk.errors import VisionDeskError
    from vision_desk.stages.faces.gallery import Gallery
    from vision_desk.stages.faces.recognize import enrol_face

    try:
        with Gallery(gallery_path or None) as gallery:
            enrol_face(gallery, name, image, box, backend)
            images = next((p.images for p in gallery.people() if p.name.casefold() == name.casefold()), 1)
    except VisionDeskError as err:
        return f"Could not enrol {name}: {err}"
    except Exception as err:  # noqa: BLE001 - a failed enrolment is a message, not a crash
        return f"Could not enrol {name}: {type(err).__name__}: {err}."
    return f"Enrolled {name} ({images} image{'s' if images != 1 else ''} in the gallery)."


class FaceEnroller(QObject):
    """Runs enrolments one at a time on a worker thread.

    Signals:
        finished(str): the one-sentence outcome (emitted from the worker, delivered queued to the GUI thread).
    """

    finished = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: threading.Thread | None = None

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, gallery_path: str | None, name: str, image: np.ndarray, box: np.ndarray, backend: str) -> bool:
        """Starts enrolling; False when an enrolment is still running."""
        if self.busy:
            return False
        image = np.ascontiguousarray(image).copy()  # the frame stays the GUI's

        def work() -> None:
            self.finished.emit(enrol_sentence(gallery_path, name, image, box, backend))

        self._thread = threading.Thread(target=work, name="enrol", daemon=True)
        self._thread.start()
        return True

    def join(self, timeout: float) -> bool:
        """Waits for a running enrolment (at exit); True when none runs."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.busy
