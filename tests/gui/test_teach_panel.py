"""The Teach panel: projects and classes, capture (frame, region, objects, bursts), thumbnails, training in a job
(progress, curves, confusion matrix, cancel), and "Use in pipeline"."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QMessageBox, QWidget

from vision_desk.engine.frame import Frame
from vision_desk.engine.results import Detections
from vision_desk.teach.dataset import MIN_PER_CLASS, readiness

#: Generous: the development machine has two cores shared with other work, and the first training imports torch.
TRAIN_MS = 180000
WAIT_MS = 30000
#: Tests cannot download ImageNet weights: a small untrained ResNet-18 at 64 px (the UI always uses pretrained ones).
TEST_OPTIONS = {"pretrained": False, "backbone": "resnet18", "size": 64, "mode": "quick"}


class Feed:
    """The newest frame, as the window keeps it in ``last_frame``."""

    def __init__(self) -> None:
        self.frame: Frame | None = None

    def show(self, frame: Frame, view) -> None:  # noqa: ANN001
        self.frame = frame
        view.set_frame(frame.image)


@pytest.fixture
def rig(qtbot, data_dir):  # noqa: ANN001, ANN201
    """A video view, a pipeline editor and the Teach panel side by side, fed frames by the test."""
    from vision_desk.gui.pipeline_editor import PipelineEditor
    from vision_desk.gui.teach_panel import TeachPanel
    from vision_desk.gui.video_view import VideoView

    host = QWidget()
    layout = QHBoxLayout(host)
    view = VideoView()
    editor = PipelineEditor(picker=view)
    feed = Feed()
    panel = TeachPanel(lambda: feed.frame, view, editor)
    messages: list[str] = []
    panel.message.connect(messages.append)
    layout.addWidget(view, 1)
    layout.addWidget(panel)
    qtbot.addWidget(host)
    host.resize(1200, 800)
    host.show()
    qtbot.addWidget(editor)

    class Rig:
        pass

    r = Rig()
    r.host, r.view, r.editor, r.feed, r.panel, r.messages = host, view, editor, feed, panel, messages
    yield r
    panel.shutdown(30.0)


def gradient_image(w: int = 200, h: int = 160, seed: int = 0) -> np.ndarray:
    """A smooth colour image (JPEG keeps it almost exactly) that differs with ``seed``."""
    x, y = np.meshgrid(np.linspace(0, 1, w), np.linspace(0, 1, h))
    image = np.stack([x * 200 + seed * 5, y * 200, (1 - x) * 150 + 50], axis=2)
    return np.clip(image, 0, 255).astype(np.uint8)


def frame(index: int, image: np.ndarray | None = None, detections: Detections | None = None) -> Frame:
    image = gradient_image(seed=index) if image is None else image
    return Frame(image, index, index / 15, source_id="test:", detections=detections or Detections())


def guide_painted_at(view, point: tuple[int, int]) -> bool:  # noqa: ANN001 - VideoView
    """Whether the guide's amber line is painted within 3 pixels of a frame point (the gradient frames have no amber:
    their red is never over 200)."""
    from tests.gui.conftest import qimage_to_array

    centre = view.to_widget(point).toPoint()
    patch = qimage_to_array(view.grab().toImage())[centre.y() - 3:centre.y() + 4, centre.x() - 3:centre.x() + 4]
    r, g, b = (patch[..., i].astype(int) for i in range(3))
    return bool(np.any((r > 240) & (g > 170) & (g < 230) & (b < 25)))


def project_with_class(panel, name: str = "cat") -> None:  # noqa: ANN001
    assert panel.new_project("pets")
    assert panel.classes.add(name)


def fill_class(panel, name: str, n: int, colour: tuple[int, int, int]) -> None:  # noqa: ANN001
    """``n`` noisy images around ``colour`` saved into class ``name``."""
    rng = np.random.default_rng(sum(colour))
    for _ in range(n):
        image = np.clip(rng.normal(colour, 30, (48, 48, 3)), 0, 255).astype(np.uint8)
        panel.teach_set.add(name, image)


def decoded(path: Path) -> np.ndarray:
    return cv2.imread(str(path))


# -- projects and classes ------------------------------------------------------------------------------

def test_projects_and_classes_with_their_sentences(qtbot, rig, monkeypatch) -> None:
    panel = rig.panel
    assert not panel.new_project("../escape")
    assert "cannot name a project" in panel.status.text() and rig.messages[-1] == panel.status.text()
    assert panel.new_project("pets")
    assert [panel.project_combo.itemText(i) for i in range(panel.project_combo.count())] == ["pets"]
    assert not panel.new_project("pets")
    assert "already exists" in panel.status.text()

    classes = panel.classes
    assert not classes.add("a/b")
    assert panel.status.text().startswith("'a/b' cannot name a class")  # check_class_name's sentence
    assert rig.messages[-1] == panel.status.text()
    assert classes.add("cat") and classes.add("dog")
    assert panel.current_class == "dog"
    assert classes.texts() == ["cat  (0)", "dog  (0)"]

    assert classes.rename("dog", "puppy")
    assert panel.current_class == "puppy" and (panel.project.samples.root / "puppy").is_dir()
    assert not classes.rename("puppy", "cat")
    assert "already a class named 'cat'" in panel.status.text()

    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    classes.delete_button.click()
    assert (panel.project.samples.root / "puppy").is_dir()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    classes.delete_button.click()
    assert not (panel.project.samples.root / "puppy").exists()
    assert panel.project.samples.classes() == ["cat"]

    # Reopening lists the project from disk.
    panel.refresh_projects()
    assert panel.project.name == "pets" and panel.current_class == "cat"


# -- capture -------------------------------------------------------------------------------------

def test_capture_whole_frame_region_and_objects(qtbot, rig) -> None:
    panel, view = rig.panel, rig.view
    project_with_class(panel, "cat")
    shown = frame(1)
    rig.feed.show(shown, view)

    # Whole frame: the frame's image as it is.
    panel.capture.capture_button.click()
    files = panel.teach_set.samples("cat")
    assert len(files) == 1 and panel.gallery.count() == 1
    assert np.abs(decoded(files[0]).astype(int) - shown.image).mean() < 3
    assert panel.classes.list.currentItem().text() == "cat  (1)"

    # Region: choosing the mode starts the pick; drag a rectangle from (40, 30) to (140, 90) in frame pixels.
    panel.capture.set_mode("region")
    assert view.picking == "rect"
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=view.to_widget((40, 30)).toPoint())
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=view.to_widget((140, 90)).toPoint())
    assert view.picking is None
    x, y, w, h = panel.capture.region
    assert abs(x - 0.2) < 0.02 and abs(y - 30 / 160) < 0.02 and abs(w - 0.5) < 0.02 and abs(h - 60 / 160) < 0.02
    # ... and it stays drawn over the video, where the captures are cut from
    assert view.guide() == (panel.capture.region, "capture")
    assert guide_painted_at(view, (40, 60)) and not guide_painted_at(view, (90, 60))
    panel.capture.capture_button.click()
    crop = decoded(panel.gallery.paths()[0])
    assert abs(crop.shape[1] - 100) <= 3 and abs(crop.shape[0] - 60) <= 3
    x1, y1 = round(x * 200), round(y * 160)
    assert np.abs(crop.astype(int) - shown.image[y1:y1 + crop.shape[0], x1:x1 + crop.shape[1]]).mean() < 3

    # Objects: each 'person' box, 10% wider on each side and clipped to the frame; the car is left out.
    boxes = Detections.from_boxes([[10, 10, 60, 110], [100, 20, 150, 70], [150, 100, 190, 150]],
                                  ["person", "person", "car"], track_id=[1, 2, 3])
    rig.feed.show(frame(2, detections=boxes), view)
    panel.capture.set_mode("objects")
    assert view.guide() is None and not guide_painted_at(view, (40, 60))  # the region is not what objects mode cuts
    labels = [panel.capture.class_combo.itemText(i) for i in range(panel.capture.class_combo.count())]
    assert labels == ["car", "person"]
    panel.capture.class_combo.setCurrentText("person")
    panel.capture.capture_button.click()
    newest = panel.gallery.paths()[:2]
    assert sorted(decoded(p).shape[:2] for p in newest) == [(60, 60), (120, 60)]  # (5..65, 0..120) and (95..155, 15..75)
    assert len(panel.teach_set.samples("cat")) == 4
    assert panel.classes.list.currentItem().text() == "cat  (4)"

    # Nothing of that class in view: one sentence, nothing saved.
    panel.capture.class_combo.setCurrentText("dog")
    panel.capture.capture_button.click()
    assert panel.status.text() == "No 'dog' objects in the newest frame; add a detecting stage or wait until some show."
    assert len(panel.teach_set.samples("cat")) == 4


def test_a_held_capture_button_takes_each_new_frame_once(qtbot, rig) -> None:
    panel, view = rig.panel, rig.view
    project_with_class(panel, "cat")
    capture = panel.capture
    capture.rate.setValue(15)
    rig.feed.show(frame(1), view)
    qtbot.mousePress(capture.capture_button, Qt.MouseButton.LeftButton)
    assert capture.bursting and len(panel.teach_set.samples("cat")) == 1  # the press takes one at once
    qtbot.waitUntil(lambda: capture.ticks >= 3, timeout=WAIT_MS)
    assert len(panel.teach_set.samples("cat")) == 1  # the same frame is never taken twice
    rig.feed.show(frame(2), view)
    qtbot.waitUntil(lambda: len(panel.teach_set.samples("cat")) == 2, timeout=WAIT_MS)
    ticks = capture.ticks
    qtbot.waitUntil(lambda: capture.ticks >= ticks + 3, timeout=WAIT_MS)
    rig.feed.show(frame(3), view)
    qtbot.waitUntil(lambda: len(panel.teach_set.samples("cat")) == 3, timeout=WAIT_MS)
    qtbot.mouseRelease(capture.capture_button, Qt.MouseButton.LeftButton)
    assert not capture.bursting
    images = [decoded(p) for p in panel.teach_set.samples("cat")]
    assert all(np.abs(a.astype(int) - b).mean() > 2 for a, b in zip(images, images[1:]))  # three different frames
    # A click on a paused video takes the frame again: the user asked for it.
    panel.capture.capture_button.click()
    assert len(panel.teach_set.samples("cat")) == 4


# -- thumbnails ---------------------------------------------------------------------------------

def test_thumbnails_newest_first_capped_and_deleted(qtbot, rig, monkeypatch) -> None:
    from vision_desk.gui import teach_samples

    panel = rig.panel
    project_with_class(panel, "cat")
    fill_class(panel, "cat", 5, (40, 40, 200))
    monkeypatch.setattr(teach_samples, "MAX_SHOWN", 3)
    panel.open_project("pets")
    files = panel.teach_set.samples("cat")
    assert panel.gallery.paths() == files[::-1][:3]  # the newest three, newest first
    assert panel.samples_label.text() == "5 samples, newest 3 shown"
    qtbot.waitUntil(lambda: not panel.gallery.loading(), timeout=WAIT_MS)
    assert all(not panel.gallery.item(i).icon().isNull() for i in range(3))

    panel.gallery.setFocus()
    panel.gallery.item(0).setSelected(True)
    qtbot.keyClick(panel.gallery, Qt.Key.Key_Delete)
    assert not files[-1].exists() and len(panel.teach_set.samples("cat")) == 4
    assert panel.classes.list.currentItem().text() == "cat  (4)"
    panel.gallery.item(1).setSelected(True)
    panel.delete_samples_button.click()
    assert len(panel.teach_set.samples("cat")) == 3 and panel.gallery.count() == 1


def test_import_folder_runs_as_a_job_and_names_the_skipped_files(qtbot, rig, tmp_path) -> None:
    panel = rig.panel
    project_with_class(panel, "cat")
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"cat{i}.png"), gradient_image(64, 48, seed=i))
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    (folder / "notes.txt").write_text("not an image")
    job = panel.import_folder(folder)
    assert job is not None
    with qtbot.waitSignal(job.finished, timeout=WAIT_MS):
        pass
    assert panel.status.text() == ("Imported 3 images into 'cat'; skipped 1 file that could not be read as images "
                                   "(broken.jpg).")
    assert panel.classes.list.currentItem().text() == "cat  (3)" and panel.gallery.count() == 3


# -- training -----------------------------------------------------------------------------------

def test_a_one_class_project_shows_the_readiness_sentence_and_starts_no_job(qtbot, rig) -> None:
    panel = rig.panel
    project_with_class(panel, "cat")
    fill_class(panel, "cat", MIN_PER_CLASS, (40, 40, 200))
    panel.train.train_button.click()
    expected = readiness({"cat": MIN_PER_CLASS}, where="project 'pets'")
    assert panel.status.text().lower() == expected.lower()
    assert rig.messages[-1] == panel.status.text() and panel.status.text()[0].isupper()
    assert panel.train.job is None and not panel.project.model.exists()


def test_training_runs_in_a_job_with_progress_curves_and_a_confusion_matrix(qtbot, rig) -> None:
    panel = rig.panel
    project_with_class(panel, "red")
    panel.classes.add("blue")
    fill_class(panel, "red", 10, (30, 30, 220))
    fill_class(panel, "blue", 10, (220, 40, 30))
    panel.train.extra_options = dict(TEST_OPTIONS)
    reports = []
    panel.train.train_button.click()
    job = panel.train.job
    assert job is not None
    job.progress.connect(reports.append)
    assert not panel.project_combo.isEnabled() and panel.train.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: panel.train.job is None, timeout=TRAIN_MS)

    assert "Trained project 'pets'" in rig.messages[-1], rig.messages[-1]
    assert (panel.project.model / "teach.json").is_file() and panel.project.has_model()
    # the bar moved through the phases and ended full
    phases = [r.phase for r in reports]
    assert {"reading", "features", "training", "saving"} <= set(phases)
    values = panel.train.bar_values
    assert values == sorted(values) and values[-1] == panel.train.progress.maximum() == panel.train.progress.value()
    assert panel.train.progress.format() == "Trained"
    assert any(0 < v < values[-1] for v in values)
    assert panel.train.curves.points == 30  # quick mode: 30 points of the head's fit
    table = panel.train.confusion
    assert table.rowCount() == 2 and table.columnCount() == 3
    assert table.verticalHeaderItem(0).text() == "is blue" and table.horizontalHeaderItem(1).text() == "said red"
    counts = table.counts()
    assert counts.sum() == 4  # 20% of each class held out: 2 + 2
    assert table.item(0, 2).text().endswith("%")
    assert panel.project_combo.isEnabled() and not panel.train.cancel_button.isEnabled()

    # Use in pipeline adds the classify stage on the whole frame with this model.
    assert panel.use_in_pipeline()
    entry = rig.editor.spec().stages[-1]
    assert entry.stage == "classify"
    assert entry.params["model"] == str(panel.project.model) and entry.params["on"] == "frame"
    # ... and the pipeline the editor now holds labels the live frames with what was taught.
    from vision_desk.engine.pipeline import Pipeline

    live = Pipeline(rig.editor.spec())
    for colour, name in (((30, 30, 220), "red"), ((220, 40, 30), "blue")):
        shown = live.process(Frame(np.full((120, 160, 3), colour, np.uint8), 0, 0.0))
        assert shown.values["classify_label"] == name
        live.reset()


def test_cancel_during_training_ends_as_cancelled_and_writes_no_model(qtbot, rig) -> None:
    panel = rig.panel
    project_with_class(panel, "red")
    panel.classes.add("blue")
    fill_class(panel, "red", 8, (30, 30, 220))
    fill_class(panel, "blue", 8, (220, 40, 30))
    panel.train.extra_options = {**TEST_OPTIONS, "mode": "full", "epochs": 200}
    job = panel.train.start()
    assert job is not None
    cancelled = []
    job.cancelled.connect(lambda: cancelled.append(True))
    with qtbot.waitSignal(job.progress, timeout=TRAIN_MS):
        pass
    panel.train.cancel_button.click()
    qtbot.waitUntil(lambda: panel.train.job is None, timeout=TRAIN_MS)
    assert cancelled == [True]
    assert panel.status.text() == "Training cancelled; nothing was saved." == rig.messages[-1]
    assert not panel.project.model.exists()
    assert sorted(p.name for p in panel.project.folder.iterdir()) == ["samples"]  # no half-written model either
    assert panel.train.progress.value() == 0 and panel.train.progress.format() == "Not trained yet"
    assert panel.train.train_button.isEnabled()


def test_the_panel_reopens_the_last_project_with_its_model_shown_as_trained(qtbot, data_dir, red_blue_model,
                                                                            tmp_path) -> None:
    """Next time the app starts, the Teach panel opens the project used last, and a project with a model says
    Trained on its full bar, not 0%."""
    from PySide6.QtCore import QSettings

    from vision_desk.gui.settings import Settings
    from vision_desk.gui.teach_panel import TeachPanel
    from vision_desk.gui.teach_train import NOT_TRAINED, TRAINED

    def new_panel() -> TeachPanel:
        settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
        panel = TeachPanel(lambda: None, settings=settings)
        qtbot.addWidget(panel)
        panel.refresh_projects()
        return panel

    first = new_panel()
    assert first.new_project("apples") and first.new_project("birds") and first.new_project("cars")
    shutil.copytree(red_blue_model, first.project.model)  # cars has a model
    first.open_project("birds")
    bar = first.train.progress
    assert bar.value() == 0 and bar.format() == NOT_TRAINED
    first.settings.sync()

    again = new_panel()  # as at the next start of the app
    assert again.project.name == "birds" and again.project_combo.currentText() == "birds"
    again.project_combo.setCurrentIndex(again.project_combo.findData("cars"))
    bar = again.train.progress
    assert again.project.name == "cars" and bar.value() == bar.maximum() and bar.format() == TRAINED
    assert again.train.result.text().startswith("Last model:")
    assert again.train.backbone.currentData() == "resnet18"  # the last model's, not the default mobilenet
    again.settings.sync()
    assert new_panel().project.name == "cars"

    shutil.rmtree(data_dir / "teach" / "cars")  # the remembered project is gone: the first one opens
    assert new_panel().project.name == "apples"


def test_a_broken_teach_json_is_a_sentence_in_the_panel_not_a_crash(qtbot, rig) -> None:
    """A model folder whose teach.json lists a 3 x 3 confusion matrix for two classes (the charts would fail on it):
    the panel says which file and field, shows empty charts, and the project stays usable."""
    import json

    panel = rig.panel
    project_with_class(panel, "red")
    panel.project.model.mkdir()
    meta = {"labels": ["red", "blue"], "arch": "resnet18", "size": 64, "mean": [0.5] * 3, "std": [0.25] * 3,
            "metrics": {"accuracy": 0.5, "confusion": [[1, 0, 0], [0, 1, 0], [0, 0, 1]]}}
    (panel.project.model / "teach.json").write_text(json.dumps(meta))
    panel.refresh_projects()
    assert panel.project.name == "pets" and panel.project.has_model()
    assert panel.train.result.text() == (
        f"{panel.project.model / 'teach.json'}: field 'metrics' must hold a confusion matrix with a row and a column "
        "for each of the 2 labels; train the model again to rewrite it.")
    assert panel.train.confusion.rowCount() == 0 and panel.train.curves.points == 0
    assert panel.train.progress.value() == 0 and panel.train.progress.format() == "The model cannot be read"
    assert panel.classes.add("blue") and panel.train.train_button.isEnabled()


def test_missing_backbone_weights_are_one_sentence_naming_the_pull_command(qtbot, rig, tmp_path, monkeypatch) -> None:
    """The UI trains from ImageNet weights; where they are not pulled, the job fails with the sentence to fix it."""
    monkeypatch.setenv("VISION_DESK_MODELS", str(tmp_path / "no-models"))
    panel = rig.panel
    project_with_class(panel, "red")
    panel.classes.add("blue")
    fill_class(panel, "red", MIN_PER_CLASS, (30, 30, 220))
    fill_class(panel, "blue", MIN_PER_CLASS, (220, 40, 30))
    assert panel.train.options().pretrained and panel.train.options().backbone == "mobilenet_v3_large"
    job = panel.train.start()
    assert job is not None
    failures = []
    job.failed.connect(failures.append)
    qtbot.waitUntil(lambda: panel.train.job is None, timeout=TRAIN_MS)
    assert len(failures) == 1
    text = panel.status.text()
    assert "vision-desk models pull tv-mobilenet-v3-large" in text and "File > Models..." in text
    assert "Traceback" not in text and text == rig.messages[-1] and text[0].isupper()
    assert not panel.project.model.exists() and panel.train.train_button.isEnabled()


# -- use in pipeline ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def red_blue_model(tmp_path_factory) -> Path:  # noqa: ANN001
    """A small model taught once for the module (red vs blue), copied into projects that need one."""
    from vision_desk.teach.dataset import TeachSet
    from vision_desk.teach.train import TrainOptions, train

    root = tmp_path_factory.mktemp("taught")
    teach_set = TeachSet(root / "samples")
    rng = np.random.default_rng(1)
    for name, colour in (("red", (30, 30, 220)), ("blue", (220, 40, 30))):
        for _ in range(MIN_PER_CLASS):
            teach_set.add(name, np.clip(rng.normal(colour, 30, (48, 48, 3)), 0, 255).astype(np.uint8))
    train(teach_set.root, root / "model", TrainOptions(**TEST_OPTIONS))
    return root / "model"


def test_use_in_pipeline_follows_the_capture_mode_and_updates_an_existing_stage(qtbot, rig, red_blue_model) -> None:
    panel, editor, view = rig.panel, rig.editor, rig.view
    project_with_class(panel, "person")
    assert not panel.use_in_pipeline()
    assert panel.status.text() == "Train project 'pets' first; there is no model to use yet."
    assert editor.spec().stages == []
    shutil.copytree(red_blue_model, panel.project.model)

    # Objects mode: classify the objects of the chosen label.
    rig.feed.show(frame(1, detections=Detections.from_boxes([[10, 10, 60, 110]], "person")), view)
    panel.capture.set_mode("objects")
    panel.capture.class_combo.setCurrentText("person")
    panel.use_button.click()
    (entry,) = editor.spec().stages
    assert entry.stage == "classify"
    assert entry.params["on"] == "objects" and entry.params["of_class"] == "person"
    assert entry.params["model"] == str(panel.project.model)

    # Once there is a classify stage, Use in pipeline points it at the model and adds no second one.
    editor.set_param(0, "model", "/elsewhere/model")
    panel.use_button.click()
    assert [s.stage for s in editor.spec().stages] == ["classify"]
    assert editor.spec().stages[0].params["model"] == str(panel.project.model)
    assert "now uses the model of project 'pets'" in rig.messages[-1]

    # Region mode: the drawn region as fractions of the frame.
    editor.remove_stage(0)
    panel.capture.set_mode("region")
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=view.to_widget((50, 40)).toPoint())
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=view.to_widget((150, 120)).toPoint())
    assert panel.use_in_pipeline()
    (entry,) = editor.spec().stages
    assert entry.params["on"] == "region"
    assert np.allclose(entry.params["region"], [0.25, 0.25, 0.5, 0.5], atol=0.02)


# -- in the window ----------------------------------------------------------------------------------

def test_teach_dock_in_the_window_captures_live_frames(qtbot, window, data_dir) -> None:
    assert not window.teach_dock.isVisible()
    assert window.teach_dock.toggleViewAction() in window.menuBar().actions()[2].menu().actions()  # View
    window.teach_action.trigger()
    qtbot.waitUntil(window.teach_dock.isVisible, timeout=WAIT_MS)
    panel = window.teach
    assert panel.new_project("demo") and panel.classes.add("tiles")
    assert (data_dir / "teach" / "demo" / "samples" / "tiles").is_dir()

    panel.capture.capture_button.click()
    (first,) = panel.teach_set.samples("tiles")
    assert decoded(first).shape == window.last_frame.image.shape

    # A held button: one sample per new frame; each one different.
    button = panel.capture.capture_button
    qtbot.mousePress(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(panel.teach_set.samples("tiles")) >= 4, timeout=WAIT_MS)
    qtbot.mouseRelease(button, Qt.MouseButton.LeftButton)
    images = [decoded(p) for p in panel.teach_set.samples("tiles")[1:]]
    assert all(not np.array_equal(a, b) for i, a in enumerate(images) for b in images[i + 1:])

    # Objects: the motion stage's boxes, cut from the live frame.
    qtbot.waitUntil(lambda: len(window.last_frame.detections) > 0, timeout=WAIT_MS)
    panel.capture.set_mode("objects")
    panel.capture.class_combo.setCurrentText("motion")
    before = len(panel.teach_set.samples("tiles"))
    qtbot.waitUntil(lambda: panel.capture.take() > 0, timeout=WAIT_MS)
    assert len(panel.teach_set.samples("tiles")) > before
    panel.say("hello from the panel")  # the panel's sentences reach the status bar
    assert window.statusBar().currentMessage() == "hello from the panel"
