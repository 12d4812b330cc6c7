"""GUI fixtures: isolated settings, small real clips, and a main window on the demo source."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings

from tests.media import moving_object_frames, write_clip

#: Names of the threads the engine, its readers, recorders and the batch worker run on.
WORKER_PREFIXES = ("engine", "capture:", "recorder", "batch")


def worker_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.is_alive() and t.name.startswith(WORKER_PREFIXES)]


def qimage_to_array(image) -> np.ndarray:  # noqa: ANN001 - QImage
    """An RGB888 copy of a QImage as an HxWx3 array."""
    from PySide6.QtGui import QImage

    image = image.convertToFormat(QImage.Format.Format_RGB888)
    h, w, bpl = image.height(), image.width(), image.bytesPerLine()
    return np.frombuffer(image.constBits(), np.uint8, bpl * h).reshape(h, bpl)[:, : w * 3].reshape(h, w, 3).copy()


@pytest.fixture
def settings(tmp_path: Path):
    """Settings in a throw-away INI file, with the output folder under tmp_path."""
    from vision_desk.gui.settings import Settings

    s = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    s.output_dir = tmp_path / "out"
    return s


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A throw-away user data folder (VISION_DESK_DATA), so galleries and teach projects are private to the test."""
    path = tmp_path / "data"
    monkeypatch.setenv("VISION_DESK_DATA", str(path))
    return path


@pytest.fixture(scope="session")
def small_clip(media_dir: Path) -> Path:
    """A 40-frame 160x120 H.264 clip of a red disc moving over the coffee photo."""
    frames, _ = moving_object_frames(40, size=(160, 120), radius=12, speed=3, start=10)
    return write_clip(media_dir / "small40.mp4", frames, fps=20.0)


@pytest.fixture
def window(qtbot, settings):
    """The main window on a 15 fps demo with the default (motion) pipeline, frames already arriving."""
    from vision_desk.gui.app import default_spec
    from vision_desk.gui.main_window import MainWindow

    w = MainWindow(settings, "demo:?fps=15", default_spec())
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.frames_shown >= 2, timeout=30000)
    yield w
    w.close()
