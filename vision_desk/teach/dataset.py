"""Teach sets: images of each class in the ImageFolder layout (``<set>/<class>/<image>``).

The layout is the one torchvision's ``ImageFolder``, Ultralytics' classify
trainer and Teachable Machine's exports use, so a set made here trains
elsewhere and a folder made elsewhere trains here. Class names are the
sub-folder names; their sorted order is the label order.

Samples are pictures of the user's surroundings (often of people), so a set
is kept readable by its user only: folders ``0700``, images ``0600``, and an
existing set with looser permissions is tightened when Vision Desk adds to
it (see :mod:`vision_desk.private`).
"""

from __future__ import annotations

import itertools
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from vision_desk.errors import VisionDeskError
from vision_desk.private import private_dir, private_tree, write_private

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
#: Below this a class cannot give both a validation sample and enough to learn from (one held out, five to train).
MIN_PER_CLASS = 6
_NAME = re.compile(r"^[\w][\w .+-]{0,63}$")
_counter = itertools.count()


class DatasetError(VisionDeskError):
    """A teach set that cannot be trained on yet; the message names what to add."""


def teach_root() -> Path:
    """Where the app keeps its teach projects (``<data dir>/teach``), private to the user."""
    from vision_desk.weights import data_dir

    return private_dir(data_dir() / "teach")


def check_class_name(name: str) -> str:
    """The name, stripped, when it can be a class (and folder) name; one sentence on what is wrong otherwise."""
    name = name.strip()
    if not _NAME.match(name) or name in (".", ".."):
        raise VisionDeskError(f"'{name}' cannot name a class; use letters, digits, spaces, '-', '+', '.' or '_' "
                              "(up to 64, starting with a letter or digit).")
    return name


@dataclass
class TeachSet:
    """A folder of class sub-folders of images."""

    root: Path

    def __post_init__(self) -> None:
        self.root = Path(self.root)

    def classes(self) -> list[str]:
        """The class names: the sub-folders, sorted (hidden ones skipped)."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))

    def samples(self, name: str) -> list[Path]:
        """The image files of one class, oldest first."""
        folder = self.root / name
        if not folder.is_dir():
            return []
        return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))

    def counts(self) -> dict[str, int]:
        return {name: len(self.samples(name)) for name in self.classes()}

    def add_class(self, name: str) -> str:
        name = check_class_name(name)
        private_dir(self.root)
        private_dir(self.root / name)
        return name

    def make_private(self) -> None:
        """Tightens the whole set (folders ``0700``, files ``0600``): one made before sets were private, or copied in."""
        private_tree(self.root)

    def remove_class(self, name: str) -> None:
        """Deletes the class and its images."""
        import shutil

        shutil.rmtree(self.root / check_class_name(name), ignore_errors=True)

    def add(self, name: str, image: np.ndarray) -> Path:
        """Saves a BGR image as a new sample of class ``name`` (a JPEG at quality 95) and returns its path.

        Written under a temporary name and renamed, so a crash never leaves half an image in the set.
        """
        name = self.add_class(name)
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])
        if not ok:
            raise VisionDeskError(f"could not encode a sample of '{name}' as JPEG; the image is empty.")
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = self.root / name / f"{stamp}-{os.getpid()}-{next(_counter):05d}.jpg"
        part = path.with_name("." + path.name + ".part")
        write_private(part, data.tobytes())
        os.replace(part, path)
        return path

    def import_folder(self, name: str, folder: Path) -> tuple[int, list[str]]:
        """Copies every readable image of ``folder`` into class ``name``: (how many, the files skipped and why)."""
        folder = Path(folder)
        if not folder.is_dir():
            raise VisionDeskError(f"{folder} is not a folder; pick the folder that holds the images.")
        added, skipped = 0, []
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            image = read_image(path)
            if image is None:
                skipped.append(f"{path.name}: not a readable image")
                continue
            self.add(name, image)
            added += 1
        return added, skipped


def read_image(path: Path) -> np.ndarray | None:
    """A BGR image, or None when the file is not a readable image (also for non-ASCII paths)."""
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError:
        return None
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    return image if image is not None and image.size else None


def readiness(counts: dict[str, int], where: str = "the teach set") -> str | None:
    """One sentence naming what to add before training, or None when the set is ready."""
    filled = {name: n for name, n in counts.items() if n > 0}
    if not filled:
        return f"{where} has no images yet; add at least two classes with {MIN_PER_CLASS} or more images each."
    if len(filled) == 1:
        only = next(iter(filled))
        return f"{where} has one class ('{only}'); add at least one more class with {MIN_PER_CLASS} or more images."
    short = {name: n for name, n in counts.items() if n < MIN_PER_CLASS}
    if short:
        parts = ", ".join(f"'{name}' ({n})" for name, n in sorted(short.items()))
        return f"too few images in {parts}; capture at least {MIN_PER_CLASS} of each class."
    return None


@dataclass
class Samples:
    """The readable images of a teach set, their labels, and the files that were skipped."""

    labels: list[str]
    images: list[np.ndarray] = field(default_factory=list)  # BGR, the short side at most ``short_side``
    paths: list[Path] = field(default_factory=list)
    targets: list[int] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def split(self, val_fraction: float, seed: int) -> tuple[list[int], list[int]]:
        """Indices (train, validation), stratified: each class keeps the same share, at least one in each part."""
        rng = np.random.default_rng(seed)
        train, val = [], []
        targets = np.asarray(self.targets)
        for c in range(len(self.labels)):
            rows = rng.permutation(np.flatnonzero(targets == c)).tolist()
            n_val = min(max(1, round(len(rows) * val_fraction)), len(rows) - 1)
            val += rows[:n_val]
            train += rows[n_val:]
        return sorted(train), sorted(val)


def load_samples(root: Path, labels: list[str] | None = None, short_side: int = 256) -> Samples:
    """Every readable image of the set at ``root`` with its class; unreadable files are listed, not fatal.

    Args:
        root: the teach set folder.
        labels: the class order to use (a model's, when evaluating); default: the set's own sorted classes.
        short_side: images are shrunk (never enlarged) to this short side as they are read, so that a set of
            camera frames fits in memory and augmentation has the pixels it needs.

    Raises:
        DatasetError: the folder is missing, or the set is not ready to train (see :func:`readiness`).
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder; give the teach set folder (one sub-folder of images per class).")
    teach_set = TeachSet(root)
    names = labels if labels is not None else teach_set.classes()
    out = Samples(list(names))
    for c, name in enumerate(names):
        for path in teach_set.samples(name):
            image = read_image(path)
            if image is None:
                out.skipped.append(f"{path.relative_to(root)}: not a readable image")
                continue
            out.images.append(shrink(image, short_side))
            out.paths.append(path)
            out.targets.append(c)
    if labels is None:
        counts = {name: out.targets.count(c) for c, name in enumerate(names)}
        problem = readiness(counts, where=f"the teach set {root.name}")
        if problem:
            raise DatasetError(problem)
    return out


def shrink(image: np.ndarray, short_side: int) -> np.ndarray:
    """The image scaled down so that its short side is ``short_side`` (unchanged when already smaller)."""
    h, w = image.shape[:2]
    scale = short_side / min(h, w)
    if scale >= 1:
        return image
    return cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
