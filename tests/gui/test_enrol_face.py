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


def open_window(qtbot, settings, tmp_path: Path, stages: list[dict]):  # noqa: ANN001, ANN201
    """The main window on a PNG of the astronaut through these stages, its one frame processed."""
    from vision_desk.engine.pipeline import PipelineSpec, StageSpec
    from vision_desk.gui.main_window import MainWindow

    png = tmp_path / "astronaut.png"
    cv2.imwrite(str(png), skimage_bgr("astronaut"))
    w = MainWindow(settings, str(png), PipelineSpec("faces", [StageSpec(s["stage"], s.get("params", {})) for s in stages]))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.last_frame is not None and len(w.last_frame.detections.where(source="faces", label="face")) > 0,
                    timeout=60000)
    qtbot.waitUntil(lambda: "End of" in w.statusBar().currentMessage(), timeout=20000)  # a one-frame source
    return w


@pytest.fixture
def faces_window(qtbot, settings, tmp_path, data_dir):  # noqa: ANN001
    """The main window on a PNG of the astronaut through a `faces` pipeline, its one frame processed."""
    w = open_window(qtbot, settings, tmp_path, [{"stage": "faces"}])
    yield w
    w.close()


def click(qtbot, window, point: tuple[int, int]) -> None:  # noqa: ANN001
    """Starts Enrol face... from its menu action and clicks ``point`` (frame pixels) on the video."""
    window.enrol_action.trigger()
    assert window.view.picking == "point"
    pos: QPoint = window.view.to_widget(point).toPoint()
    qtbot.mouseClick(window.view, Qt.MouseButton.LeftButton, pos=pos)


def enrol_by_click(qtbot, window, monkeypatch, name: str) -> None:  # noqa: ANN001
    """Clicks the astronaut's face, answers the name dialog with ``name`` and waits for the enrolment to end."""
    from vision_desk.gui import main_window

    asked = []
    monkeypatch.setattr(main_window.QInputDialog, "getText", staticmethod(lambda *a, **k: asked.append(a) or (name, True)))
    click(qtbot, window, FACE_CENTRE)
    assert len(asked) == 1
    qtbot.waitUntil(lambda: name in window.statusBar().currentMessage()
                    and "Enrolling" not in window.statusBar().currentMessage(), timeout=60000)
    assert window.statusBar().currentMessage() == f"Enrolled {name} (1 image in the gallery)."


def similarity_to_the_astronaut(embedding: np.ndarray) -> float:
    """dlib similarity (1 - distance) to the astronaut's face as found in the untouched photo."""
    from vision_desk.stages.faces.backends import detect_faces, make_embedder

    image = skimage_bgr("astronaut")
    reference = make_embedder("dlib").embed(image, detect_faces(image)[:1])[0]
    return float(1.0 - np.linalg.norm(embedding - reference))


def test_clicking_the_astronauts_face_enrols_her_under_the_typed_name(qtbot, faces_window, data_dir, monkeypatch) -> None:
    from vision_desk.stages.faces.gallery import Gallery, default_gallery_path

    assert faces_window.enrol_action.shortcut().toString() == "E"
    enrol_by_click(qtbot, faces_window, monkeypatch, "Eileen")

    assert default_gallery_path().parent == data_dir
    with Gallery(default_gallery_path(), create=False) as gallery:
        people = gallery.people()
        entries = gallery.entries()
    assert [(p.name, p.backend, p.images) for p in people] == [("Eileen", "dlib", 1)]
    (entry,) = entries
    assert entry.embedding.shape == (128,) and np.all(np.isfinite(entry.embedding))
    assert entry.source == "live view" and entry.thumbnail  # a JPEG of her face for the listing
    # It is her face: the same person as the astronaut enrolled from the photo.
    assert similarity_to_the_astronaut(entry.embedding) > 0.9


def test_a_face_hidden_by_face_privacy_is_enrolled_as_the_faces_stage_saw_it(qtbot, settings, tmp_path, data_dir,
                                                                           monkeypatch) -> None:
    """The view shows her face as a coarse mosaic; the gallery gets her real face, not the mosaic."""
    from vision_desk.stages.faces.gallery import Gallery, default_gallery_path

    window = open_window(qtbot, settings, tmp_path, [
        {"stage": "faces"}, {"stage": "face_privacy", "params": {"method": "pixelate", "strength": 100}}])
    try:
        shown = window.last_frame.image
        x, y = FACE_CENTRE
        face = shown[y - 30 : y + 30, x - 25 : x + 25].reshape(-1, 3)
        assert len(np.unique(face, axis=0)) <= 9  # the premise: what the view shows is a mosaic of a few cells
        enrol_by_click(qtbot, window, monkeypatch, "Eileen")
        with Gallery(default_gallery_path(), create=False) as gallery:
            (entry,) = gallery.entries()
        assert similarity_to_the_astronaut(entry.embedding) > 0.9
    finally:
        window.close()


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
