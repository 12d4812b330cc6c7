"""The Teach panel: capture samples of your own classes from the video, train a classifier, use it in the pipeline.

A project (a folder under :func:`~vision_desk.teach.dataset.teach_root`) holds
``samples/`` (a teach set: one folder of images per class) and ``model/`` (the
taught model). The panel is a thin layer over :mod:`vision_desk.teach`: the
capture controls are in :mod:`.teach_capture`, the thumbnails in
:mod:`.teach_samples`, training in :mod:`.teach_train`. Training and folder
imports run as :mod:`.jobs` jobs; captures are saved on the GUI thread (one
JPEG per sample, a few milliseconds), so a burst needs no queue.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import (QComboBox, QFileDialog, QHBoxLayout, QInputDialog, QLabel, QPushButton, QTabWidget,
                               QVBoxLayout, QWidget)

from vision_desk.engine.frame import Frame
from vision_desk.errors import VisionDeskError
from vision_desk.gui.jobs import Job, JobControl, start_job
from vision_desk.gui.settings import Settings
from vision_desk.gui.teach_capture import CaptureBox
from vision_desk.gui.teach_classes import ClassList
from vision_desk.wording import plural, sentence
from vision_desk.gui.teach_samples import SampleGallery
from vision_desk.gui.teach_train import TrainBox
from vision_desk.teach.dataset import TeachSet, teach_root
from vision_desk.teach.project import TeachProject, create_project, list_projects, open_project

CLASSIFY_STAGE = "classify"


def import_images(control: JobControl, teach_set: TeachSet, name: str, folder: Path) -> tuple[int, list[str]]:
    """The import job: copies a folder's images into a class (see :meth:`TeachSet.import_folder`)."""
    return teach_set.import_folder(name, folder)


def imported_sentence(name: str, added: int, skipped: list[str]) -> str:
    text = f"Imported {plural(added, 'image')} into '{name}'"
    if not skipped:
        return text + "."
    files = [s.split(":", 1)[0] for s in skipped]
    shown = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
    return text + f"; skipped {plural(len(files), 'file')} that could not be read as images ({shown})."


class TeachPanel(QWidget):
    """Projects, classes, capture, thumbnails, training and "Use in pipeline", in one dock.

    Args:
        latest_frame: returns the newest processed frame (or None); captures cut their samples from it.
        picker: the video view, for drawing the capture region (``begin_pick("rect", ...)``) and showing it
            over the video (``set_guide``).
        editor: the pipeline editor "Use in pipeline" adds the classify stage to (None: the button says so).
        settings: where the project last opened is remembered, to open it again next time (None: not kept).

    Signals:
        message(str): one sentence for the status bar.
    """

    message = Signal(str)

    def __init__(self, latest_frame: Callable[[], Frame | None], picker: Any = None, editor: Any = None,
                 settings: Settings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editor = editor
        self.settings = settings
        self.project: TeachProject | None = None
        self._import: Job | None = None

        self.project_combo = QComboBox()
        self.project_combo.setToolTip("Teach projects: each holds its classes' samples and the model taught from them.")
        self.new_project_button = QPushButton("New...")
        self.classes = ClassList()
        self.capture = CaptureBox(latest_frame, picker)
        self.import_button = QPushButton("Import folder...")
        self.import_button.setToolTip("Copy every image of a folder into the selected class.")
        self.gallery = SampleGallery()
        self.delete_samples_button = QPushButton("Delete selected")
        self.samples_label = QLabel("")
        self.train = TrainBox()
        self.use_button = QPushButton("Use in pipeline")
        self.use_button.setToolTip("Add a classify stage running this project's model to the pipeline (or point the "
                                   "existing one at it); it classifies what Capture takes: the frame, the region or "
                                   "the objects of the chosen class.")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self._build()
        self._connect()
        self._update_enabled()

    def _build(self) -> None:
        top = QHBoxLayout()
        top.addWidget(QLabel("Project"))
        top.addWidget(self.project_combo, 1)
        top.addWidget(self.new_project_button)

        samples = QWidget()
        layout = QVBoxLayout(samples)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(QLabel("Classes"))
        layout.addWidget(self.classes)
        layout.addWidget(self.capture)
        layout.addWidget(self.import_button)
        row = QHBoxLayout()
        row.addWidget(self.samples_label, 1)
        row.addWidget(self.delete_samples_button)
        layout.addLayout(row)
        layout.addWidget(self.gallery, 1)

        self.tabs = QTabWidget()
        self.tabs.addTab(samples, "Samples")
        self.tabs.addTab(self.train, "Train")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.use_button)
        layout.addWidget(self.status)

    def _connect(self) -> None:
        self.project_combo.currentIndexChanged.connect(lambda _: self.open_project(self.project_combo.currentData()))
        self.new_project_button.clicked.connect(self.ask_new_project)
        self.classes.current_changed.connect(self._on_class_changed)
        self.classes.message.connect(self.say)
        self.capture.captured.connect(self.save_samples)
        self.capture.message.connect(self.say)
        self.import_button.clicked.connect(self.ask_import_folder)
        self.gallery.deleted.connect(self._on_samples_deleted)
        self.delete_samples_button.clicked.connect(self.gallery.delete_selected)
        self.train.message.connect(self.say)
        self.train.note.connect(lambda text: self.say(text, status_bar=False))
        self.train.busy_changed.connect(lambda _: self._update_enabled())
        self.use_button.clicked.connect(self.use_in_pipeline)

    # -- projects ------------------------------------------------------------------
    @property
    def root(self) -> Path:
        """The folder of the teach projects (made on first use)."""
        return teach_root()

    def refresh_projects(self, select: str | None = None) -> None:
        """Lists the projects and opens ``select`` (default: the one open, else the one last opened, else the
        first)."""
        names = list_projects(self.root)
        remembered = self.settings.teach_project if self.settings is not None else None
        select = select or (self.project.name if self.project is not None else remembered)
        self.project_combo.blockSignals(True)
        self.project_combo.clear()
        for name in names:
            self.project_combo.addItem(name, name)
        index = self.project_combo.findData(select) if select in names else (0 if names else -1)
        self.project_combo.setCurrentIndex(index)
        self.project_combo.blockSignals(False)
        self.open_project(self.project_combo.currentData())

    def open_project(self, name: str | None) -> None:
        if self.train.running:
            return  # the chooser is disabled while training; this is for calls from code
        self.capture.stop_burst()
        self.project = open_project(self.root, name) if name else None
        if self.project is not None and self.settings is not None:
            self.settings.teach_project = self.project.name
        self.train.set_project(self.project)
        self.classes.set_teach_set(self.teach_set)

    def new_project(self, name: str) -> bool:
        """Creates and opens a project; one sentence when the name is bad or taken."""
        try:
            project = create_project(self.root, name)
        except VisionDeskError as err:
            self.say(sentence(str(err)))
            return False
        self.project = project
        self.refresh_projects(project.name)
        self.say(f"Created project '{project.name}'; add a class for each thing to tell apart.")
        return True

    def ask_new_project(self) -> None:
        name, ok = QInputDialog.getText(self, "New teach project", "Name of the project:")
        if ok and name.strip():
            self.new_project(name)

    # -- classes --------------------------------------------------------------------
    @property
    def teach_set(self) -> TeachSet | None:
        return self.project.samples if self.project is not None else None

    @property
    def current_class(self) -> str | None:
        return self.classes.current

    def _on_class_changed(self) -> None:
        self.capture.stop_burst()
        self.gallery.show_class(self.teach_set, self.current_class)
        self._show_samples_count()
        self._update_enabled()

    def _show_samples_count(self) -> None:
        name = self.current_class
        if name is None:
            self.samples_label.setText("")
            return
        n = self.classes.counts().get(name, 0)
        shown = min(n, self.gallery.count())
        self.samples_label.setText(plural(n, "sample") + (f", newest {shown} shown" if shown < n else ""))

    # -- samples ------------------------------------------------------------------------
    def save_samples(self, images: list[np.ndarray]) -> int:
        """Saves images into the selected class and shows them first in the thumbnails; returns how many."""
        name = self.current_class
        if self.teach_set is None or name is None:
            self.capture.stop_burst()
            self.say("Choose a class to capture into first.")
            return 0
        saved = 0
        for image in images:
            try:
                path = self.teach_set.add(name, image)
            except (OSError, VisionDeskError) as err:
                self.capture.stop_burst()
                self.say(sentence(str(err)) if isinstance(err, VisionDeskError) else
                         f"Could not save a sample of '{name}' ({err.strerror or type(err).__name__}); "
                         "check that the teach folder is writable.")
                break
            self.gallery.add_sample(path, image)
            saved += 1
        self.classes.bump(name, saved)
        self._show_samples_count()
        return saved

    def _on_samples_deleted(self, n: int) -> None:
        name = self.current_class
        if name is not None:
            self.classes.bump(name, -n)
            self._show_samples_count()

    def import_folder(self, folder: Path) -> Job | None:
        """Copies a folder's images into the selected class in a background job."""
        name = self.current_class
        if self.teach_set is None or name is None:
            self.say("Choose a class to import into first.")
            return None
        if self._import is not None:
            self.say("An import is still running; wait for it to finish.")
            return None
        self._import = start_job(import_images, self.teach_set, name, Path(folder), name="import", parent=self)
        project = self.project
        self._import.succeeded.connect(lambda result: self.say(imported_sentence(name, *result)))
        self._import.failed.connect(lambda text: self.say(sentence(text)))
        self._import.finished.connect(lambda: self._on_import_finished(project))
        self._update_enabled()
        self.say(f"Importing {folder} into '{name}' ...", status_bar=False)
        return self._import

    def _on_import_finished(self, project: TeachProject | None) -> None:
        self._import = None
        if project == self.project:
            self.classes.refresh()
        self._update_enabled()

    def ask_import_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Import a folder of images", str(Path.home()))
        if folder:
            self.import_folder(Path(folder))

    # -- the pipeline ---------------------------------------------------------------------
    def classify_params(self) -> dict[str, Any] | None:
        """The classify stage's parameters for this project, following the capture mode; None (and a sentence)
        when the region is missing."""
        if self.project is None:
            return None
        params: dict[str, Any] = {"model": str(self.project.model), "on": self.capture.mode}
        if self.capture.mode == "region":
            if self.capture.region is None:
                self.say("No region yet; press Draw region and drag a rectangle on the video.")
                return None
            params["region"] = [float(v) for v in self.capture.region]
        elif self.capture.mode == "objects":
            params["of_class"] = self.capture.object_class
        return params

    def use_in_pipeline(self) -> bool:
        """Adds a classify stage with the project's model at the end of the pipeline, or points the pipeline's
        classify stage at it."""
        if self.editor is None:
            self.say("There is no pipeline to add the classify stage to.")
            return False
        if self.project is None or not self.project.has_model():
            what = f"project '{self.project.name}'" if self.project is not None else "a project"
            self.say(f"Train {what} first; there is no model to use yet.")
            return False
        stages = self.editor.spec().stages
        for index, stage in enumerate(stages):
            if stage.stage == CLASSIFY_STAGE:
                if not self.editor.set_param(index, "model", str(self.project.model)):
                    return False
                self.say(f"The classify stage now uses the model of project '{self.project.name}'.")
                return True
        params = self.classify_params()
        if params is None:
            return False
        if not self.editor.add_stage(CLASSIFY_STAGE, len(stages), params=params):
            return False
        self.say(f"Added a classify stage with the model of project '{self.project.name}' to the pipeline.")
        return True

    # -- state ----------------------------------------------------------------------------
    def _update_enabled(self) -> None:
        has_project = self.project is not None
        has_class = self.current_class is not None
        training = self.train.job is not None
        for widget in (self.project_combo, self.new_project_button):
            widget.setEnabled(not training)
        self.capture.capture_button.setEnabled(has_class)
        self.delete_samples_button.setEnabled(has_class)
        self.import_button.setEnabled(has_class and self._import is None)
        self.use_button.setEnabled(has_project)
        if not has_class:
            self.capture.stop_burst()

    def say(self, text: str, status_bar: bool = True) -> None:
        """Shows one sentence in the panel and, unless told otherwise, the status bar."""
        self.status.setText(text)
        if status_bar:
            self.message.emit(text)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if self.project is None or not self.project.folder.is_dir():
            self.refresh_projects()

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802 - Qt override
        self.capture.stop_burst()
        super().hideEvent(event)

    def shutdown(self, timeout: float) -> bool:
        """Stops a burst, cancels a training and waits for it and for an import (at close)."""
        self.capture.stop_burst()
        done = self.train.shutdown(timeout)
        if self._import is not None:
            done = self._import.wait(timeout) and done
        return done
