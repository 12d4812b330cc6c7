"""Real-photo scenes with known boxes for the heatmap tests.

* Shapes: one circle, square or triangle of the committed shapes model's world, pasted at a random place on a
  scikit-image photo the model never saw in training (vision_desk.benchmarks.shapes draws it).
* Cats: the face of scikit-image's chelsea pasted at a random place on another photo, or the photo alone, for a
  classifier that a test trains to tell the two apart.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from vision_desk.benchmarks.shapes import CLASSES, Shape, background, photo, render

#: Backgrounds for the shapes scenes: photos outside the shapes model's training set. Not ``retina`` (also
#: unseen): its strong vessel pattern is what EigenCAM shows there, not the shape (7 of 10 scenes, see
#: docs/explain.md); EigenCAM shows a model's dominant features, which on a busy photo need not be the object.
SHAPE_BACKGROUNDS = ("gravel", "moon", "clock", "cell")


def shape_scene(rng: np.random.Generator, size: tuple[int, int] = (640, 360), background_name: str = "gravel",
                radius: tuple[float, float] = (28, 52)) -> tuple[np.ndarray, Shape]:
    """A random crop of a photo with one shape of the training sizes at a random place wholly in view."""
    w, h = size
    bg = background(background_name, size, rng)
    r = float(rng.uniform(*radius))
    shape = Shape(CLASSES[int(rng.integers(len(CLASSES)))], float(rng.uniform(r + 2, w - r - 2)),
                  float(rng.uniform(r + 2, h - r - 2)), r)
    return render(bg, [shape], rng), shape


def inside(point: tuple[int, int], box: tuple[float, float, float, float], margin: float = 0.0) -> bool:
    x, y = point
    x1, y1, x2, y2 = box
    return x1 - margin <= x <= x2 + margin and y1 - margin <= y <= y2 + margin


#: Photos the cat classifier trains on, and others it is tested on.
CAT_TRAIN_PHOTOS = ("astronaut", "coffee", "rocket", "camera", "coins", "grass", "hubble_deep_field",
                    "immunohistochemistry", "page", "retina")
CAT_HELD_OUT_PHOTOS = ("gravel", "moon", "brick", "clock")
#: The side of a cat scene in pixels.
CAT_SCENE = 224


@lru_cache(maxsize=1)
def cat_face() -> np.ndarray:
    """chelsea's face (eyes, nose and cheeks), BGR."""
    return photo("chelsea")[40:300, 90:370]


def cat_scene(rng: np.random.Generator, photos: tuple[str, ...], with_cat: bool,
              size: int = CAT_SCENE) -> tuple[np.ndarray, tuple[int, int, int, int] | None]:
    """A random square crop of one of the photos, with the cat's face pasted at a random place (45-60% of the
    side) or not; and the face's box (None without)."""
    image = photo(photos[int(rng.integers(len(photos)))])
    ih, iw = image.shape[:2]
    side = int(min(ih, iw) * rng.uniform(0.5, 1.0))
    y0, x0 = int(rng.integers(0, ih - side + 1)), int(rng.integers(0, iw - side + 1))
    scene = cv2.resize(image[y0 : y0 + side, x0 : x0 + side], (size, size), interpolation=cv2.INTER_AREA)
    if not with_cat:
        return scene, None
    face = cat_face()
    w = int(size * rng.uniform(0.45, 0.6))
    h = int(w * face.shape[0] / face.shape[1])
    x, y = int(rng.integers(0, size - w + 1)), int(rng.integers(0, size - h + 1))
    scene[y : y + h, x : x + w] = cv2.resize(face, (w, h), interpolation=cv2.INTER_AREA)
    return scene, (x, y, x + w, y + h)
