"""Face fixtures: real photos, and models and a gallery built once per session (the CPU is shared)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.media import skimage_bgr, ultralytics_asset
from tests.stages.faces.helpers import ASTRONAUT


@pytest.fixture(autouse=True)
def _data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the user's real gallery: the default data folder is a fresh temporary one."""
    monkeypatch.setenv("VISION_DESK_DATA", str(tmp_path / "data"))


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    return skimage_bgr("astronaut")


@pytest.fixture(scope="session")
def zidane() -> np.ndarray:
    return cv2.imread(str(ultralytics_asset("zidane.jpg")))


@pytest.fixture(scope="session")
def bus() -> np.ndarray:
    return cv2.imread(str(ultralytics_asset("bus.jpg")))


@pytest.fixture(scope="session")
def coffee() -> np.ndarray:
    return skimage_bgr("coffee")


@pytest.fixture(scope="session")
def astronaut_png(tmp_path_factory: pytest.TempPathFactory, astronaut: np.ndarray) -> Path:
    path = tmp_path_factory.mktemp("photos") / "astronaut.png"
    cv2.imwrite(str(path), astronaut)
    return path


@pytest.fixture(scope="session")
def astronaut_gallery(tmp_path_factory: pytest.TempPathFactory, astronaut_png: Path) -> Path:
    """A dlib gallery with the astronaut enrolled from one image (tests must not write to it)."""
    from vision_desk.stages.faces.gallery import Gallery
    from vision_desk.stages.faces.recognize import enrol_images

    path = tmp_path_factory.mktemp("gallery") / "astronaut.sqlite"
    with Gallery(path) as gallery:
        results = enrol_images(gallery, ASTRONAUT, [astronaut_png], "dlib")
    assert [r.added for r in results] == [True]
    return path


@pytest.fixture(scope="session")
def clip_frames() -> list[np.ndarray]:
    """Six 1280x720 frames panning over the astronaut (a real face moving a little each frame)."""
    from tests.media import panning_frames

    return panning_frames(6)


#: Frames of ``walking_face`` where a grey card hides the face (a short miss); the face is found in all others.
HIDDEN_FRAMES = (17, 18)


@pytest.fixture(scope="session")
def walking_face(tmp_path_factory: pytest.TempPathFactory, astronaut: np.ndarray, coffee: np.ndarray) -> list[np.ndarray]:
    """36 frames decoded from a real H.264 clip: the astronaut's photo (240 px) crossing a 640x360 scene, 7 px a frame.

    Her face (about 40 px wide) moves 245 px, six face widths; in ``HIDDEN_FRAMES`` a card covers it.
    """
    from tests.media import write_clip

    scene = cv2.resize(coffee, (640, 360))
    person = cv2.resize(astronaut, (240, 240))
    frames = []
    for i in range(36):
        image = scene.copy()
        x = 10 + 7 * i
        image[60:300, x : x + 240] = person
        if i in HIDDEN_FRAMES:
            image[70:170, x + 70 : x + 150] = 128
        frames.append(image)
    clip = write_clip(tmp_path_factory.mktemp("clips") / "walking_face.mp4", frames)
    capture = cv2.VideoCapture(str(clip))
    decoded = []
    while (ok_image := capture.read())[0]:
        decoded.append(ok_image[1])
    capture.release()
    assert len(decoded) == len(frames)
    return decoded
