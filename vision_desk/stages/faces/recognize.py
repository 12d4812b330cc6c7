"""Recognition: matching embeddings against the gallery, and enrolling people from image files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import cv2
import numpy as np

from vision_desk.errors import VisionDeskError
from vision_desk.stages.faces.backends import DEFAULT_THRESHOLDS, FaceBoxes, detect_faces, make_embedder
from vision_desk.stages.faces.gallery import Gallery

UNKNOWN = "unknown"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


def identify(embeddings: np.ndarray, names: list[str], gallery: np.ndarray, similarity, threshold: float) -> tuple[list[str], np.ndarray]:  # noqa: ANN001
    """Names each embedding after its most similar gallery person, or ``unknown`` below the threshold.

    A person's score is their best-matching enrolment image. Below the
    threshold a face is ``unknown``, never the nearest name.

    Args:
        embeddings: (N, D) query embeddings.
        names: the person of each gallery row.
        gallery: (M, D) gallery embeddings from the same backend.
        similarity: the backend's similarity function ((N, D), (M, D)) -> (N, M).
        threshold: the minimum similarity for a name.

    Returns:
        (names, similarities): one name and its similarity per face; the
        similarity of an unknown face is that of its nearest person (0 with an
        empty gallery), so users can see how close it came.
    """
    n = len(embeddings)
    if n == 0 or not names:
        return [UNKNOWN] * n, np.zeros(n, np.float32)
    sims = similarity(np.asarray(embeddings, np.float32), gallery)
    best = sims.argmax(axis=1)
    top = sims[np.arange(n), best].astype(np.float32)
    return [names[j] if s >= threshold else UNKNOWN for j, s in zip(best, top)], top


def resolve_threshold(backend: str, threshold: float | None) -> float:
    return DEFAULT_THRESHOLDS[backend] if threshold is None else float(threshold)


def face_thumbnail(image: np.ndarray, box: np.ndarray, size: int = 96) -> bytes:
    """A small JPEG of the face (with some margin) for the gallery's listing."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = box
    m = 0.2 * max(x2 - x1, y2 - y1)
    a, b, c, d = int(max(0, x1 - m)), int(max(0, y1 - m)), int(min(w, x2 + m)), int(min(h, y2 + m))
    crop = cv2.resize(image[b:max(d, b + 1), a:max(c, a + 1)], (size, size), interpolation=cv2.INTER_AREA)
    return cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()


def image_files(paths: Iterable[str | Path]) -> list[Path]:
    """The image files named, with folders expanded to the images directly inside them (sorted)."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            out.extend(sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()))
        elif path.is_file():
            out.append(path)
        else:
            raise VisionDeskError(f"{path} not found; give image files or folders of images.")
    return out


@dataclass(frozen=True)
class EnrolResult:
    """What happened to one image during enrolment."""

    path: Path
    added: bool
    note: str


def enrol_face(gallery: Gallery, name: str, image: np.ndarray, box, backend: str = "dlib", source: str = "live view") -> None:  # noqa: ANN001
    """Enrols the face in ``box`` (xyxy) of a BGR frame: what the GUI does when a user picks a face and types a name."""
    gallery.check_backend(backend)
    box = np.asarray(box, np.float32).reshape(1, 4)
    face = FaceBoxes(box, np.ones(1, np.float32), np.zeros((1, 5, 2), np.float32))
    embedding = make_embedder(backend).embed(image, face)[0]
    gallery.add(name, embedding, backend, source=source, thumbnail=face_thumbnail(image, box[0]))


def enrol_images(gallery: Gallery, name: str, paths: Iterable[str | Path], backend: str = "dlib", *,
                 min_size: int = 20, confidence: float = 0.9) -> list[EnrolResult]:
    """Enrols a person from image files or folders: the largest face of each image is embedded and stored.

    Images without a face, or that cannot be read, are reported and skipped.

    Raises:
        VisionDeskError: no image gave a face, or the gallery holds another backend.
    """
    files = image_files(paths)
    if not files:
        raise VisionDeskError("no images to enrol from; give image files or folders of images.")
    gallery.check_backend(backend)  # before any model is loaded
    embedder = make_embedder(backend)
    rows = []
    results = []
    for path in files:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            results.append(EnrolResult(path, False, "not a readable image"))
            continue
        faces = detect_faces(image, min_size=min_size, confidence=confidence)
        if not len(faces):
            results.append(EnrolResult(path, False, "no face found"))
            continue
        largest: FaceBoxes = faces[:1]
        embedding = embedder.embed(image, largest)[0]
        rows.append((name, embedding, path.name, face_thumbnail(image, largest.xyxy[0]), None))
        note = "enrolled" if len(faces) == 1 else f"enrolled the largest of {len(faces)} faces"
        results.append(EnrolResult(path, True, note))
    if not rows:
        raise VisionDeskError(f"no face found in any of the {len(files)} image(s); use clear photos with the face at least 40 pixels tall.")
    gallery.add_many(rows, backend)
    return results
