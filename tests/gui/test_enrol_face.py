"""Enrol face...: click the astronaut's face on the live view, type a name, and she is in the gallery."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from tests.media import skimage_bgr

#: The centre of the astronaut's face in scikit-image's astronaut() (MTCNN finds about (181, 62, 268, 172)).
FACE_CENTRE = (227, 120)
#: Her space suit, far from any face.
OUTSIDE = (400, 420)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A throw-away user data folder, so the default gallery is temporary."""
    path = tmp_path / "data"
    monkeypatch.setenv("VISION_DESK_DATA", str(path))
    return path


@pytest.fixture
def faces_window(qtbot, settings, tmp_path, data_dir):  # noqa: ANN001
    """The main window on a PNG of the astronaut through a `faces` pipeline, its one frame processed."""
    from vision_desk.engine.pipeline import PipelineSpec, StageSpec
    from vision_desk.gui.main_window import MainWindow

    png = tmp_path / "astronaut.png"
    cv2.imwrite(str(png), skimage_bgr("astronaut"))
    w = MainWindow(settings, str(png), PipelineSpec("faces", [StageSpec("faces", {})]))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w._last_frame is not None and len(w._last_frame.detections.where(source="faces", label="face")) > 0,
                    timeout=60000)
    qtbot.waitUntil(lambda: "End of" in w.statusBar().currentMessage(), timeout=20000)  # a one-frame source
    yield w
    w.close()


def click(qtbot, window, point: tuple[int, int]) -> None:  # noqa: ANN001
    """Starts Enrol face... from its menu action and clicks ``point`` (frame pixels) on the video."""
    window.enrol_action.trigger()
    assert window.view.picking == "point"
    pos: QPoint = window.view.to_widget(point).toPoint()
    qtbot.mouseClick(window.view, Qt.MouseButton.LeftButton, pos=pos)


def test_clicking_the_astronauts_face_enrols_her_under_the_typed_name(qtbot, faces_window, data_dir, monkeypatch) -> None:
    from vision_desk.gui import main_window
    from vision_desk.stages.faces.gallery import Gallery, default_gallery_path

    asked = []
    monkeypatch.setattr(main_window.QInputDialog, "getText", staticmethod(lambda *a, **k: asked.append(a) or ("Eileen", True)))
    assert faces_window.enrol_action.shortcut().toString() == "E"
    click(qtbot, faces_window, FACE_CENTRE)
    assert len(asked) == 1
    qtbot.waitUntil(lambda: "Eileen" in faces_window.statusBar().currentMessage()
                    and "Enrolling" not in faces_window.statusBar().currentMessage(), timeout=60000)
    assert faces_window.statusBar().currentMessage() == "Enrolled Eileen (1 image in the gallery)."

    assert default_gallery_path().parent == data_dir
    with Gallery(default_gallery_path(), create=False) as gallery:
        people = gallery.people()
        entries = gallery.entries()
    assert [(p.name, p.backend, p.images) for p in people] == [("Eileen", "dlib", 1)]
    (entry,) = entries
    assert entry.embedding.shape == (128,) and np.all(np.isfinite(entry.embedding))
    assert entry.source == "live view" and entry.thumbnail  # a JPEG of her face for the listing
    # It is her face: the same person as the astronaut enrolled from the photo (dlib similarity 1 - distance).
    from vision_desk.stages.faces.backends import detect_faces, make_embedder

    image = skimage_bgr("astronaut")
    reference = make_embedder("dlib").embed(image, detect_faces(image)[:1])[0]
    assert 1.0 - np.linalg.norm(entry.embedding - reference) > 0.9


def test_clicking_outside_any_face_enrols_nothing(qtbot, faces_window, monkeypatch) -> None:
    from vision_desk.engine.pipeline import PipelineSpec
    from vision_desk.gui import main_window
    from vision_desk.gui.enrol import NO_FACE, NO_STAGE
    from vision_desk.stages.faces.gallery import Gallery, default_gallery_path

    asked = []
    monkeypatch.setattr(main_window.QInputDialog, "getText", staticmethod(lambda *a, **k: asked.append(a) or ("Nobody", True)))
    click(qtbot, faces_window, OUTSIDE)
    assert faces_window.statusBar().currentMessage() == NO_FACE
    assert asked == [] and not faces_window.enroller.busy
    if default_gallery_path().exists():
        with Gallery(default_gallery_path(), create=False) as gallery:
            assert gallery.people() == []

    # Without a faces stage there is nothing to pick: one sentence says so.
    faces_window.editor.set_spec(PipelineSpec("none"))
    faces_window.enrol_action.trigger()
    assert faces_window.view.picking is None
    assert faces_window.statusBar().currentMessage() == NO_STAGE
