"""The batch dialog: a folder of videos and images through one pipeline, without freezing the window.

``run_batch`` runs on a worker thread; its callbacks are re-emitted as Qt
signals, which Qt queues to the GUI thread. Cancel sets the batch's cancel
event; the file in progress stops and its partial outputs are removed.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
                               QLineEdit, QListWidget, QProgressBar, QPushButton, QToolButton, QVBoxLayout, QWidget)

from vision_desk.engine.batch import BatchItem, BatchProgress, BatchSummary, run_batch
from vision_desk.engine.pipeline import PipelineSpec, load_spec
from vision_desk.errors import VisionDeskError
from vision_desk.gui.pipeline_editor import PIPELINE_FILTER, preset_paths


def format_eta(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else f"{seconds // 60}:{seconds % 60:02d}"


class BatchSignals(QObject):
    """Carries the worker's callbacks to the GUI thread."""

    progress = Signal(object)
    item_done = Signal(object)
    finished = Signal(object)
    failed = Signal(str)


def _path_row(edit: QLineEdit, on_browse) -> QWidget:  # noqa: ANN001
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(edit, 1)
    button = QToolButton()
    button.setText("...")
    button.clicked.connect(on_browse)
    layout.addWidget(button)
    return row


class BatchDialog(QDialog):
    """Input folder, pipeline, output folder and options; per-file and overall progress; a summary."""

    def __init__(self, current_spec: PipelineSpec, output_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Batch processing")
        self.setMinimumWidth(620)
        self.current_spec = current_spec
        self.summary: BatchSummary | None = None
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self.signals = BatchSignals(self)
        self.signals.progress.connect(self._on_progress)
        self.signals.item_done.connect(self._on_item_done)
        self.signals.finished.connect(self._on_finished)
        self.signals.failed.connect(self._on_failed)

        self.input_edit = QLineEdit()
        self.output_edit = QLineEdit(str(output_dir / "batch"))
        self.pipeline_combo = QComboBox()
        self.pipeline_combo.addItem(f"Current pipeline ({current_spec.name})", None)
        for path in preset_paths():
            self.pipeline_combo.addItem(f"Preset: {path.stem}", str(path))
        self.pipeline_combo.addItem("Pipeline file...", "")
        self.pipeline_combo.activated.connect(self._on_pipeline_choice)
        self.recursive = QCheckBox("Include subfolders")
        self.resume = QCheckBox("Skip files already done (resume)")
        self.video = QCheckBox("Write processed videos / images (results JSONL is always written)")
        self.video.setChecked(True)
        self.annotated = QCheckBox("Draw overlays on them")
        self.annotated.setChecked(True)
        self.video.toggled.connect(self.annotated.setEnabled)
        form = QFormLayout()
        form.addRow("Input folder", _path_row(self.input_edit, lambda: self._browse(self.input_edit)))
        form.addRow("Pipeline", self.pipeline_combo)
        form.addRow("Output folder", _path_row(self.output_edit, lambda: self._browse(self.output_edit)))
        options = QVBoxLayout()
        for box in (self.recursive, self.resume, self.video, self.annotated):
            options.addWidget(box)
        form.addRow("Options", options)

        progress = QGroupBox("Progress")
        grid = QFormLayout(progress)
        self.file_label = QLabel("-")
        self.file_bar = QProgressBar()
        self.overall_bar = QProgressBar()
        self.overall_bar.setRange(0, 1000)
        self.eta_label = QLabel("-")
        grid.addRow("File", self.file_label)
        grid.addRow("", self.file_bar)
        grid.addRow("Overall", self.overall_bar)
        grid.addRow("", self.eta_label)
        self.results = QListWidget()
        self.results.setMinimumHeight(120)
        self.summary_label = QLabel()
        self.summary_label.setWordWrap(True)

        self.start_button = QPushButton("Start")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for b in (self.start_button, self.cancel_button, self.close_button):
            buttons.addWidget(b)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(progress)
        layout.addWidget(QLabel("Results"))
        layout.addWidget(self.results, 1)
        layout.addWidget(self.summary_label)
        layout.addLayout(buttons)

    # -- inputs ----------------------------------------------------------------------
    def _browse(self, edit: QLineEdit) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose a folder", edit.text())
        if path:
            edit.setText(path)

    def _on_pipeline_choice(self, index: int) -> None:
        if self.pipeline_combo.itemData(index) == "":
            path, _ = QFileDialog.getOpenFileName(self, "Pipeline for the batch", "", PIPELINE_FILTER)
            if path:
                self.pipeline_combo.insertItem(index, f"File: {Path(path).name}", path)
                self.pipeline_combo.setCurrentIndex(index)
            else:
                self.pipeline_combo.setCurrentIndex(0)

    def chosen_spec(self) -> PipelineSpec:
        path = self.pipeline_combo.currentData()
        return load_spec(path) if path else self.current_spec

    # -- running ---------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        input_dir, out_dir = Path(self.input_edit.text().strip()), Path(self.output_edit.text().strip())
        if not self.input_edit.text().strip() or not input_dir.is_dir():
            self._on_failed(f"The input folder '{input_dir}' does not exist; choose a folder of videos or images.")
            return
        try:
            spec = self.chosen_spec()
        except VisionDeskError as err:
            self._on_failed(str(err))
            return
        self.results.clear()
        self.summary_label.setText("")
        self.file_bar.setValue(0)
        self.overall_bar.setValue(0)
        self._cancel.clear()
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        options = dict(recursive=self.recursive.isChecked(), resume=self.resume.isChecked(), video=self.video.isChecked(),
                       annotated=self.annotated.isChecked())
        self._thread = threading.Thread(target=self._work, args=(input_dir, spec, out_dir, options), name="batch", daemon=True)
        self._thread.start()

    def _work(self, input_dir: Path, spec: PipelineSpec, out_dir: Path, options: dict) -> None:
        try:
            summary = run_batch(input_dir, spec, out_dir, on_progress=self.signals.progress.emit,
                                on_item_done=self.signals.item_done.emit, cancel=self._cancel, **options)
        except VisionDeskError as err:
            self.signals.failed.emit(str(err))
        except Exception as err:  # noqa: BLE001 - the dialog reports, the worker never dies silently
            self.signals.failed.emit(f"The batch stopped unexpectedly: {type(err).__name__}: {err}.")
        else:
            self.signals.finished.emit(summary)

    def cancel(self) -> None:
        self._cancel.set()
        self.cancel_button.setEnabled(False)
        self.eta_label.setText("Cancelling...")

    def shutdown(self, timeout: float = 10.0) -> bool:
        """Cancels a running batch and waits for its worker; True when it has stopped."""
        self._cancel.set()
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running

    # -- reports (GUI thread) ------------------------------------------------------------
    def _on_progress(self, p: BatchProgress) -> None:
        self.file_label.setText(f"{p.file_index + 1} of {p.file_count}: {p.item.rel}")
        if p.total_frames:
            self.file_bar.setRange(0, p.total_frames)
            self.file_bar.setValue(min(p.frame, p.total_frames))
        else:
            self.file_bar.setRange(0, 0)  # unknown length: busy indicator
        within = min(1.0, p.frame / p.total_frames) if p.total_frames else 0.0
        done = (p.file_index + within) / max(1, p.file_count)
        self.overall_bar.setValue(int(done * 1000))
        if done > 0.01:
            self.eta_label.setText(f"{p.elapsed_s:.0f} s elapsed, about {format_eta(p.elapsed_s * (1 - done) / done)} left")

    def _on_item_done(self, item: BatchItem) -> None:
        text = f"{item.status}: {item.rel}"
        if item.status == "done":
            text += f"  ({item.frames} frames, {item.seconds:.1f} s)"
        if item.error:
            text += f"  - {item.error}"
        self.results.addItem(text)
        self.results.scrollToBottom()

    def _on_finished(self, summary: BatchSummary) -> None:
        self.summary = summary
        self._idle()
        self.overall_bar.setValue(1000)
        self.file_bar.setRange(0, 1)
        self.file_bar.setValue(1)
        parts = [f"{summary.count('done')} done", f"{summary.count('failed')} failed"]
        for status in ("skipped", "cancelled"):
            if summary.count(status):
                parts.append(f"{summary.count(status)} {status}")
        text = f"<b>Finished in {summary.seconds:.1f} s</b>: " + ", ".join(parts) + f"; {summary.frames} frames at {summary.fps:.1f} fps."
        if summary.failed:
            text += "<br><b>Failures:</b><br>" + "<br>".join(f"{i.rel}: {i.error}" for i in summary.failed)
        self.summary_label.setText(text)
        self.eta_label.setText("Done." if not self._cancel.is_set() else "Cancelled.")

    def _on_failed(self, message: str) -> None:
        self._idle()
        self.summary_label.setText(f"<span style='color:#dc3c3c'>{message}</span>")

    def _idle(self) -> None:
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        if self.running:
            self.cancel()  # the worker finishes on its own; the main window joins it at exit
        super().closeEvent(event)
