"""The ``faces`` stage: MTCNN detection with 5-point landmarks, and recognition against the gallery."""

from __future__ import annotations

from typing import Literal

import numpy as np

from vision_desk.engine.frame import Frame, ResultOrigin
from vision_desk.engine.params import StageParams, param
from vision_desk.engine.results import Detections
from vision_desk.engine.stage import AnalysisParams, Stage
from vision_desk.errors import VisionDeskError
from vision_desk.stages.detection.track import TrackParams
from vision_desk.stages.detection.tracker import BoxTracker
from vision_desk.stages.faces.backends import FaceBoxes, detect_faces, make_embedder
from vision_desk.stages.faces.recognize import UNKNOWN, identify, resolve_threshold
from vision_desk.stages.faces.tracking import person_tracks, tracks_containing
from vision_desk.stages.voting import TrackVoter

FACES_ID = "faces"


class FaceSourceParams(StageParams):
    """Detection settings of the stages that find faces themselves when no ``faces`` stage runs before them."""

    min_size: int = param(20, ge=10, le=1000, help="Smallest face (pixels) MTCNN looks for when no 'faces' stage runs before this one.")
    confidence: float = param(0.9, ge=0.0, le=1.0, step=0.01, help="MTCNN confidence when no 'faces' stage runs before this one.")


class FacesParams(AnalysisParams):
    old_names = {"every_n": "every"}

    min_size: int = param(20, ge=10, le=1000, help="Smallest face side in pixels MTCNN looks for; larger is faster.")
    confidence: float = param(0.9, ge=0.0, le=1.0, step=0.01, help="Faces MTCNN scores below this are dropped.")
    every: int = param(1, ge=1, le=60, help="Detect on every N-th frame; the frames between reuse the last faces.")
    recognize: bool = param(False, help="Name each face from the gallery (unknown below the threshold).")
    backend: Literal["dlib", "facenet"] = param("dlib", help="Embeddings: dlib's 128-D ResNet (offline) or FaceNet VGGFace2 (vision-desk models pull facenet-vggface2).")
    gallery: str = param("", widget="path", file_filter="Face gallery (*.sqlite)", help="Gallery database; empty uses the default one ('vision-desk faces path' prints it).")
    threshold: float | None = param(None, ge=0.0, le=1.0, step=0.01, help="Minimum similarity for a name; empty uses the backend's default (dlib 0.4 = distance 0.6, facenet cosine 0.5).")
    tracking: Literal["auto", "own", "off"] = param("auto", help="Where face track ids come from: auto = tracked person boxes when present, else ByteTrack over the faces; own = always ByteTrack over the faces; off = none (identity per frame).")
    vote_window: int = param(15, ge=1, le=300, help="Recent recognitions of a track that vote on its name, so labels do not flicker.")


def frame_faces(frame: Frame) -> tuple[np.ndarray, Detections] | None:
    """The rows (indices) and detections the ``faces`` stage added to this frame, or None if it did not run."""
    if frame.origin(FACES_ID) is None:
        return None
    index = np.flatnonzero(frame.detections.source == FACES_ID)
    return index, frame.detections[index]


def faces_image(frame: Frame) -> np.ndarray:
    """The image the ``faces`` stage saw on this frame (``frame.image`` when it did not run).

    Later stages (face_privacy, privacy, filters) replace ``frame.image``; enrolling a face from
    the live view must embed the face as the faces stage saw it, not blurred.
    """
    return frame.extras.get(FACES_ID, frame.image)


def faces_for(frame: Frame, min_size: int = 20, confidence: float = 0.9) -> tuple[np.ndarray, np.ndarray | None]:
    """Face boxes for a stage that needs them: the ``faces`` stage's when it ran, else a fresh MTCNN pass.

    Returns:
        (boxes (N, 4), identities or None): identities are the ``faces``
        stage's names when it recognised, else None.
    """
    found = frame_faces(frame)
    if found is not None:
        _, det = found
        identity = det.data.get("identity")
        return det.xyxy.copy(), None if identity is None else np.asarray(identity, object)
    return detect_faces(frame.image, min_size=min_size, confidence=confidence).xyxy, None


class FacesStage(Stage):
    id = FACES_ID
    title = "Faces"
    category = "Faces"
    help = ("MTCNN face detection (boxes, scores, 5 landmarks); with 'recognize' each face is named from the gallery "
            "or 'unknown', voted per track. Heavy: about half a second per 720p frame on two CPU cores.")
    Params = FacesParams
    heavy = True
    values = {"faces_count": "Faces found (the 'face' objects).", "faces_known": "With recognize: faces named from the gallery.",
              "faces_unknown": "With recognize: faces not named."}
    columns = {"identity": "With recognize: the name, or 'unknown'.", "similarity": "With recognize: similarity to that name."}

    def __init__(self, params: StageParams | None = None) -> None:
        super().__init__(params)
        self._embedder = None
        self._gallery = None
        self._gallery_version: int | None = None
        self._names: list[str] = []
        self._matrix = np.zeros((0, 0), np.float32)
        self._tracker: BoxTracker | None = None
        self._coasting = False  # the last detection round went through self._tracker
        self._voter: TrackVoter[str] = TrackVoter(self.params.vote_window)
        self._count = 0
        self._last: Detections | None = None
        self._origin: ResultOrigin | None = None  # where self._last was found
        self._shown: dict[object, str] = {}
        self._prepared: tuple | None = None

    # -- lifecycle -------------------------------------------------------------------
    def setup(self) -> None:
        detect_faces(np.zeros((64, 64, 3), np.uint8))  # loads MTCNN now, not in the first frame
        if self._tracker is None:
            self._tracker = BoxTracker(TrackParams())  # ByteTrack with the track stage's defaults
        self._prepare()

    @staticmethod
    def _device() -> str:
        from vision_desk.weights import pick_device

        return pick_device()

    def _prepare(self) -> None:
        """Opens the gallery and the embedding model the current parameters ask for."""
        p = self.params
        wanted = (p.recognize, p.backend, p.gallery)
        if getattr(self, "_prepared", None) == wanted:
            return
        self.close()
        if p.recognize:
            from vision_desk.stages.faces.gallery import Gallery

            self._gallery = Gallery(p.gallery or None)
            self._load_gallery()  # a gallery of the other backend is refused before a model loads
            self._embedder = make_embedder(p.backend, self._device())
        self._prepared = wanted

    def _load_gallery(self) -> None:
        assert self._gallery is not None
        self._names, self._matrix = self._gallery.matrix(self.params.backend)
        self._gallery_version = self._gallery.data_version()

    def reset(self) -> None:
        if self._tracker is not None:
            self._tracker.reset()
        self._coasting = False
        self._voter.reset()
        self._count = 0
        self._last = None
        self._origin = None
        self._shown.clear()

    def update_params(self, params: StageParams) -> None:
        super().update_params(params)
        self._voter.window = params.vote_window
        self.reset()  # the models follow in _prepare() at the next frame, where errors reach the user

    def close(self) -> None:
        if self._gallery is not None:
            self._gallery.close()
        self._gallery = None
        self._embedder = None
        self._prepared = None

    # -- per frame ------------------------------------------------------------------------
    def process(self, frame: Frame) -> None:
        p = self.params
        self._prepare()
        if self._last is None or self._count % p.every == 0:
            self._last = self._analyse(frame)
            self._origin = frame.mark(self.id)
        else:
            frame.mark(self.id, self._origin)
            if self._coasting:
                self._tracker.coast(self._last.xyxy)  # the tracker counts frames, as the track stage's does; the faces are reused as they are
        self._count += 1
        det = self._last[np.arange(len(self._last))]  # a copy: later stages add columns to this frame's rows only
        frame.add(det)
        frame.extras[self.id] = frame.image  # read through faces_image()
        frame.values["faces_count"] = len(det)
        if p.recognize:
            known = [n for n in det.data["identity"] if n != UNKNOWN]
            frame.values["faces_known"] = len(known)
            frame.values["faces_unknown"] = len(det) - len(known)

    def _analyse(self, frame: Frame) -> Detections:
        p = self.params
        faces = detect_faces(frame.image, min_size=p.min_size, confidence=p.confidence)
        track_ids, keys = self._track(frame, faces)
        columns = {}
        if p.recognize:
            names, sims = self._recognise(frame, faces, track_ids, keys)
            columns = {"identity": names, "similarity": [round(float(s), 4) for s in sims]}
        # (x, y, confidence) rows; None when empty, as Detections cannot reshape a (0, 5, 3) array.
        keypoints = np.concatenate([faces.points, np.ones((len(faces), 5, 1), np.float32)], axis=2) if len(faces) else None
        return Detections.from_boxes(faces.xyxy, "face", faces.score, track_id=track_ids, keypoints=keypoints, source=self.id, **columns)

    def _track(self, frame: Frame, faces: FaceBoxes) -> tuple[np.ndarray, list[object]]:
        """Track ids for the faces and the vote keys (person and face tracks never share a key)."""
        mode = self.params.tracking
        self._coasting = False
        if mode == "off":
            return np.full(len(faces), -1, np.int64), [None] * len(faces)
        people = person_tracks(frame.detections, self.id) if mode == "auto" else Detections()
        if not people.empty:
            ids = tracks_containing(faces.xyxy, people)
            return ids, [("person", int(t)) if t >= 0 else None for t in ids]
        # A face ByteTrack has not confirmed yet (seen in one frame, unless it is the first) stays, with id -1
        # and no vote, as the track stage's keep_untracked keeps it: recognition still names it this frame.
        ids, _ = self._tracker.update(faces.xyxy, faces.score, np.zeros(len(faces)), frame.image)
        self._coasting = True
        return ids, [("face", int(t)) if t >= 0 else None for t in ids]

    def _recognise(self, frame: Frame, faces: FaceBoxes, track_ids: np.ndarray, keys: list[object]) -> tuple[list[str], np.ndarray]:
        if self._gallery is None or self._embedder is None:
            raise VisionDeskError("the faces stage was not set up for recognition; restart the pipeline.")
        if self._gallery.data_version() != self._gallery_version:
            self._load_gallery()  # someone enrolled or removed a person while we run
        threshold = resolve_threshold(self.params.backend, self.params.threshold)
        names, sims = identify(self._embedder.embed(frame.image, faces), self._names, self._matrix, self._embedder.similarity, threshold)
        for gone in self._voter.next_round():
            self._shown.pop(gone, None)
        for i, key in enumerate(keys):
            if key is None:
                continue
            names[i], sims[i] = self._voter.vote(key, names[i], float(sims[i]))
            if names[i] != UNKNOWN and self._shown.get(key) != names[i]:
                frame.events.append(f"faces: {names[i]} recognised (track {int(track_ids[i])})")
            self._shown[key] = names[i]
        return names, sims
