"""The Teach panel's Train tab: options, the training job with its progress and curves, and the results."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QComboBox, QFormLayout, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout,
                               QWidget)

from vision_desk.errors import ModelMissingError, VisionDeskError
from vision_desk.gui.jobs import Job, JobCancelled, JobControl, start_job
from vision_desk.gui.models_dialog import with_gui_hint
from vision_desk.gui.teach_charts import ConfusionTable, TrainingCurves
from vision_desk.wording import sentence
from vision_desk.teach.backbones import BACKBONES, DEFAULT_BACKBONE
from vision_desk.teach.dataset import readiness
from vision_desk.teach.project import TeachProject
from vision_desk.teach.train import TrainOptions, TrainProgress, TrainResult

#: The progress bar's units (a per-mille bar: smooth without being a float).
BAR_MAX = 1000
#: What the bar says outside a training: the project's model as it is on disk.
NOT_TRAINED, TRAINED, UNUSABLE = "Not trained yet", "Trained", "The model cannot be read"
#: The curves and the bar are redrawn at most this often while training, however fast the batches come.
REDRAW_MS = 100
#: The share of the whole bar each phase takes, per mode (quick spends most of its time computing features).
PHASE_SPANS = {
    "quick": {"reading": (0.0, 0.05), "features": (0.05, 0.75), "training": (0.75, 0.97), "saving": (0.97, 1.0)},
    "full": {"reading": (0.0, 0.05), "features": (0.05, 0.05), "training": (0.05, 0.97), "saving": (0.97, 1.0)},
}
MODES = (("quick", "Quick: a new last layer on the pretrained network (seconds)"),
         ("full", "Full: fine-tune the whole network (minutes; better with many images)"))


def overall_fraction(progress: TrainProgress, mode: str) -> float:
    """How far the whole training is, 0 to 1, from one progress report."""
    lo, hi = PHASE_SPANS.get(mode, PHASE_SPANS["full"]).get(progress.phase, (0.0, 1.0))
    return lo + (hi - lo) * min(1.0, max(0.0, progress.fraction))


def phase_text(progress: TrainProgress) -> str:
    if progress.phase == "reading":
        return "Reading the images ..."
    if progress.phase == "features":
        return f"Computing features: {progress.done} of {progress.total} images ..."
    if progress.phase == "training":
        return f"Training: epoch {max(1, progress.epoch)} of {progress.epochs} ..."
    return "Checking and saving the model ..."


def run_training(control: JobControl, dataset: Path, out: Path, options: TrainOptions) -> TrainResult:
    """The training job: :func:`~vision_desk.teach.train.train` reporting copies of its progress, stopping on Cancel.

    The thread runs at a lower priority (as async lanes do), so the video and the window keep their share of
    the CPU while torch's threads train.
    """
    from vision_desk.engine.lanes import lower_thread_priority
    from vision_desk.teach.train import TrainingCancelled, train

    lower_thread_priority()

    def progress(report: TrainProgress) -> None:
        control.report(copy.deepcopy(report))  # the history goes on growing on this thread

    try:
        return train(dataset, out, options, progress=progress, should_stop=lambda: control.cancelled)
    except TrainingCancelled:
        raise JobCancelled from None
    except ModelMissingError as err:  # name the Models dialog too, as the status bar does for stages
        raise ModelMissingError(with_gui_hint(err), err.missing) from None


class TrainBox(QWidget):
    """Training the current project: mode, backbone, Train / Cancel, progress, curves, confusion matrix.

    The box's own line shows how far a training is; sentences (ready or not, trained, failed, cancelled) go out
    as signals, for the panel's message line.

    Signals:
        message(str): one sentence for the panel and the status bar.
        note(str): one sentence for the panel only (a training starts, a cancel is on its way).
        trained(object): the :class:`~vision_desk.teach.train.TrainResult` of a finished training.
        busy_changed(bool): a training started (True) or ended, however it ended (False).
    """

    message = Signal(str)
    note = Signal(str)
    trained = Signal(object)
    busy_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        #: TrainOptions fields that override the box's choices: for tests (which cannot download ImageNet weights:
        #: ``{"pretrained": False, "backbone": "resnet18", "size": 64}``) and experiments. The UI sets none.
        self.extra_options: dict[str, Any] = {}
        self.job: Job | None = None
        self.project: TeachProject | None = None
        self.bar_values: list[int] = []  # every value the bar was set to during the last training (tests read it)
        self._latest: TrainProgress | None = None
        self._mode = "quick"
        self._training: TeachProject | None = None  # the project being trained (the panel keeps it current)
        self._cancelling = False

        self.mode = QComboBox()
        for key, text in MODES:
            self.mode.addItem(text, key)
        self.backbone = QComboBox()
        for name, spec in BACKBONES.items():
            self.backbone.addItem(name, name)
            self.backbone.setItemData(self.backbone.count() - 1, f"{spec.note} (ImageNet weights: {spec.manifest})",
                                      Qt.ItemDataRole.ToolTipRole)
        self.backbone.setCurrentIndex(self.backbone.findData(DEFAULT_BACKBONE))
        self.train_button = QPushButton("Train")
        self.train_button.setToolTip("Train a classifier on this project's samples; the model goes to its model folder.")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, BAR_MAX)
        self.progress.setValue(0)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.curves = TrainingCurves()
        self.result = QLabel("")
        self.result.setWordWrap(True)
        self.confusion = ConfusionTable()

        form = QFormLayout()
        form.addRow("Mode", self.mode)
        form.addRow("Backbone", self.backbone)
        buttons = QHBoxLayout()
        buttons.addWidget(self.train_button, 1)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.curves, 1)
        layout.addWidget(self.result)
        layout.addWidget(self.confusion)

        self._redraw = QTimer(self)
        self._redraw.setInterval(REDRAW_MS)
        self._redraw.timeout.connect(self._show_progress)
        self.train_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)

    # -- state ------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.job is not None and self.job.running()

    def set_project(self, project: TeachProject | None) -> None:
        """Shows ``project``'s last model (its curves and confusion matrix), or nothing."""
        self.project = project
        self.train_button.setEnabled(project is not None and self.job is None)
        self.show_model()

    def show_model(self) -> None:
        """The results stored with the project's model (``teach.json``), or empty charts when it has none."""
        self.curves.clear()
        self.confusion.clear()
        self.confusion.setRowCount(0)
        self.confusion.setColumnCount(0)
        self.result.setText("")
        self._show_bar(0, NOT_TRAINED)
        if self.project is None or not self.project.has_model():
            return
        from vision_desk.teach.model import load_taught

        try:
            model = load_taught(self.project.model)
        except VisionDeskError as err:
            self.result.setText(sentence(str(err)))
            self._show_bar(0, UNUSABLE)
            return
        self._show_bar(BAR_MAX, TRAINED)  # a project opened with its model is trained, not at 0%
        backbone = self.backbone.findData(model.arch)
        if backbone >= 0:  # training again starts from the backbone the last model used
            self.backbone.setCurrentIndex(backbone)
        metrics = model.metrics
        self.curves.show_history(metrics.get("history", {}))
        if "confusion" in metrics:
            self.confusion.show_result(model.labels, metrics["confusion"], metrics.get("per_class", {}))
        if "accuracy" in metrics:
            self.result.setText(f"Last model: {metrics['accuracy']:.0%} of {metrics.get('n_val', '?')} held-out images "
                                f"right ({model.arch}).")

    def _show_bar(self, value: int, text: str) -> None:
        self.progress.setValue(value)
        self.progress.setFormat(text)

    def options(self) -> TrainOptions:
        """The options the controls say, with :attr:`extra_options` on top."""
        chosen = {"mode": self.mode.currentData(), "backbone": self.backbone.currentData(), "pretrained": True}
        return TrainOptions(**{**chosen, **self.extra_options})

    # -- training ---------------------------------------------------------------
    def start(self) -> Job | None:
        """Trains the project in a background job, unless it is not ready (the sentence says what to add)."""
        if self.project is None:
            self._say("Choose or create a project first.")
            return None
        if self.job is not None:
            self._say("A training is already running; wait for it or cancel it.")
            return None
        problem = readiness(self.project.samples.counts(), where=f"project '{self.project.name}'")
        if problem:
            self._say(sentence(problem))
            return None
        options = self.options()
        self._mode = options.mode
        self._latest = None
        self.bar_values = []
        self._training = self.project
        self._cancelling = False
        self.curves.clear()
        self.confusion.setRowCount(0)
        self.confusion.setColumnCount(0)
        self.result.setText("")
        self._show_bar(0, "%p%")
        self.job = start_job(run_training, self.project.samples.root, self.project.model, options, name="training",
                             parent=self)
        self.job.progress.connect(self._on_progress)
        self.job.succeeded.connect(self._on_succeeded)
        self.job.failed.connect(self._on_failed)
        self.job.cancelled.connect(self._on_cancelled)
        self.job.finished.connect(self._on_finished)
        self.train_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self._redraw.start()
        self.busy_changed.emit(True)
        self._say(f"Training project '{self.project.name}' ({options.mode}, {options.backbone}) ...", status_bar=False)
        return self.job

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self._cancelling = True
            self.cancel_button.setEnabled(False)
            self.status.setText("Cancelling ...")
            self._say("Cancelling the training ...", status_bar=False)

    def shutdown(self, timeout: float) -> bool:
        """Cancels a running training and waits for it (at close); True when none runs any more."""
        if self.job is None:
            return True
        self.job.cancel()
        return self.job.wait(timeout)

    def _on_progress(self, progress: TrainProgress) -> None:
        self._latest = progress  # drawn by the redraw timer, at most every REDRAW_MS

    def _show_progress(self) -> None:
        progress, self._latest = self._latest, None
        if progress is None:
            return
        value = round(overall_fraction(progress, self._mode) * BAR_MAX)
        self.progress.setValue(value)
        self.bar_values.append(value)
        if not self._cancelling:
            self.status.setText(phase_text(progress))
        if len(progress.history.epoch) != self.curves.points:
            self.curves.show_history(progress.history.as_dict())

    def _on_succeeded(self, result: TrainResult) -> None:
        self._show_progress()
        self._show_bar(BAR_MAX, TRAINED)
        self.bar_values.append(BAR_MAX)
        self.curves.show_history(result.history.as_dict())
        self.confusion.show_result(result.labels, result.confusion, result.per_class)
        skipped = f"; {len(result.skipped)} unreadable files were skipped" if result.skipped else ""
        self.result.setText(f"{result.accuracy:.0%} of the {result.n_val} held-out images right, trained on "
                            f"{result.n_train} in {result.seconds:.0f} s{skipped}.")
        name = self._training.name if self._training is not None else result.model.parent.name
        self._say(f"Trained project '{name}': {result.accuracy:.0%} right on held-out images; the model is in "
                  f"{result.model}.")
        self.trained.emit(result)

    def _on_failed(self, text: str) -> None:
        self.show_model()  # the model on disk is still the last one (a failed training writes none)
        self._say(sentence(text))

    def _on_cancelled(self) -> None:
        self.show_model()  # nothing was saved: the last model, if any, is still the project's
        self._say("Training cancelled; nothing was saved.")

    def _on_finished(self) -> None:
        self._redraw.stop()
        self.status.setText("")
        self._latest = None
        self.job = None
        self.train_button.setEnabled(self.project is not None)
        self.cancel_button.setEnabled(False)
        self.busy_changed.emit(False)

    def _say(self, text: str, status_bar: bool = True) -> None:
        (self.message if status_bar else self.note).emit(text)
