"""Enrol a face from the live view: pick a face box, type a name, store its embedding in the gallery.

The embedding (dlib or FaceNet, about a second on a CPU) is computed in a
background job (:mod:`vision_desk.gui.jobs`) that opens its own gallery
connection; the outcome comes back to the GUI thread as one sentence. A ``faces`` stage running with ``recognize``
notices the gallery changed and names the person from its next frame on.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QObject

from vision_desk.engine.pipeline import PipelineSpec
from vision_desk.engine.results import Detections
from vision_desk.errors import VisionDeskError
from vision_desk.gui.jobs import Job, JobControl, start_job

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


def enrol_in_gallery(control: JobControl, gallery_path: str | None, name: str, image: np.ndarray, box: np.ndarray,
                     backend: str) -> str:
    """The enrolment job: enrols the face (blocking) and returns the sentence saying so.

    Raises:
        VisionDeskError: one sentence naming the person and the problem.
    """
    from vision_desk.stages.faces.gallery import Gallery
    from vision_desk.stages.faces.recognize import enrol_face

    try:
        with Gallery(gallery_path or None) as gallery:
            enrol_face(gallery, name, image, box, backend)
            images = next((p.images for p in gallery.people() if p.name.casefold() == name.casefold()), 1)
    except VisionDeskError as err:
        raise VisionDeskError(f"Could not enrol {name}: {err}") from err
    return f"Enrolled {name} ({images} image{'s' if images != 1 else ''} in the gallery)."


class FaceEnroller:
    """Runs enrolments as background jobs, one at a time."""

    def __init__(self, parent: QObject | None = None) -> None:
        self._parent = parent
        self._job: Job | None = None

    @property
    def busy(self) -> bool:
        return self._job is not None and self._job.running()

    def start(self, gallery_path: str | None, name: str, image: np.ndarray, box: np.ndarray, backend: str) -> Job | None:
        """Starts enrolling; the job's succeeded and failed carry the outcome's sentence. None while one still runs."""
        if self.busy:
            return None
        image = np.ascontiguousarray(image).copy()  # the frame stays the GUI's
        self._job = start_job(enrol_in_gallery, gallery_path, name, image, box, backend, name="enrol", parent=self._parent)
        return self._job

    def join(self, timeout: float) -> bool:
        """Waits for a running enrolment (at exit); True when none runs."""
        return self._job is None or self._job.wait(timeout)
