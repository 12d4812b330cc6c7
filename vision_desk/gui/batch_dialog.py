"""The batch dialog: a folder of videos and images (or a list of sources) through one pipeline, without freezing the window.

``run_batch`` runs as a background job (:mod:`vision_desk.gui.jobs`); its
progress and finished-file callbacks come to the GUI thread as the job's
progress. Cancel cancels the job, whose flag is the batch's cancel event: the
file in progress stops, its partial outputs are removed, and the summary
(what was done, what was cancelled) arrives as usual.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
                               QLineEdit, QListWidget, QProgressBar, QPushButton, QSpinBox, QToolButton, QVBoxLayout,
                               QWidget)

from vision_desk.engine.batch import BatchItem, BatchProgress, BatchSummary, run_batch
from vision_desk.engine.pipeline import PipelineSpec, load_spec
from vision_desk.errors import VisionDeskError
from vision_desk.gui.jobs import Job, JobControl, start_job
from vision_desk.gui.pipeline_editor import PIPELINE_FILTER, preset_paths


def format_eta(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else f"{seconds // 60}:{seconds % 60:02d}"


def process_folder(control: JobControl, input_dir: Path, spec: PipelineSpec, out_dir: Path, options: dict) -> BatchSummary:
    """The batch job: ``run_batch`` reporting its BatchProgress and each finished BatchItem as progress."""
    return run_batch(input_dir, spec, out_dir, on_progress=control.report, on_item_done=control.report,
                     cancel=control.cancel_event, **options)


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
        self._job: Job | None = None
        self._finished_files = 0  # files finished in the running batch (they finish in any order with workers)

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
        self.workers = QSpinBox()
        self.workers.setRange(0, max(1, os.cpu_count() or 1) * 2)
        self.workers.setSpecialValueText("auto (one per core)")  # 0
        self.workers.setToolTip("Files processed in parallel, each in its own process with its own models; "
                                "1 runs the batch inside the app.")
        form = QFormLayout()
        self.input_edit.setPlaceholderText("a folder, or a .txt list of files and web video URLs")
        input_row = _path_row(self.input_edit, lambda: self._browse(self.input_edit))
        list_button = QToolButton()
        list_button.setText("List...")
        list_button.setToolTip("A text file with one source a line: file paths and web video URLs")
        list_button.clicked.connect(self._browse_list)
        input_row.layout().addWidget(list_button)
        form.addRow("Input", input_row)
        form.addRow("Pipeline", self.pipeline_combo)
        form.addRow("Output folder", _path_row(self.output_edit, lambda: self._browse(self.output_edit)))
        options = QVBoxLayout()
        for box in (self.recursive, self.resume, self.video, self.annotated):
            options.addWidget(box)
        form.addRow("Options", options)
        form.addRow("Workers", self.workers)

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

    def _browse_list(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a list of sources", self.input_edit.text(),
                                              "Lists of sources (*.txt);;All files (*)")
        if path:
            self.input_edit.setText(path)

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
        return self._job is not None and self._job.running()

    def start(self) -> None:
        if self.running:
            return
        input_dir, out_dir = Path(self.input_edit.text().strip()), Path(self.output_edit.text().strip())
        if not self.input_edit.text().strip() or not input_dir.exists():
            self._on_failed(f"The input '{input_dir}' does not exist; choose a folder of videos or images, "
                            "or a list of sources.")
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
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        options = dict(recursive=self.recursive.isChecked(), resume=self.resume.isChecked(), video=self.video.isChecked(),
                       annotated=self.annotated.isChecked(), workers=self.workers.value() or "auto")
        self._finished_files = 0
        self._job = start_job(process_folder, input_dir, spec, out_dir, options, name="batch", parent=self)
        self._job.progress.connect(self._on_report)
        self._job.succeeded.connect(self._on_finished)
        self._job.failed.connect(self._on_failed)

    def cancel(self) -> None:
        if self._job is not None:
            self._job.cancel()
        self.cancel_button.setEnabled(False)
        self.eta_label.setText("Cancelling...")

    def shutdown(self, timeout: float = 10.0) -> bool:
        """Cancels a running batch and waits for its worker; True when it has stopped."""
        if self._job is None:
            return True
        self._job.cancel()
        return self._job.wait(timeout)

    # -- reports (GUI thread) ------------------------------------------------------------
    def _on_report(self, report: BatchProgress | BatchItem) -> None:
        if isinstance(report, BatchItem):
            self._on_item_done(report)
        else:
            self._on_progress(report)

    def _on_progress(self, p: BatchProgress) -> None:
        self.file_label.setText(f"{p.file_index + 1} of {p.file_count}: {p.item.rel}")
        if p.total_frames:
            self.file_bar.setRange(0, p.total_frames)
            self.file_bar.setValue(min(p.frame, p.total_frames))
        else:
            self.file_bar.setRange(0, 0)  # unknown length: busy indicator
        within = min(1.0, p.frame / p.total_frames) if p.total_frames else 0.0
        # files finish in any order when workers run in parallel: count the finished ones, plus this one's share
        done = min(1.0, (self._finished_files + within) / max(1, p.file_count))
        self.overall_bar.setValue(int(done * 1000))
        if done > 0.01:
            self.eta_label.setText(f"{p.elapsed_s:.0f} s elapsed, about {format_eta(p.elapsed_s * (1 - done) / done)} left")

    def _on_item_done(self, item: BatchItem) -> None:
        self._finished_files += 1
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
        self.eta_label.setText("Cancelled." if summary.count("cancelled") else "Done.")

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
