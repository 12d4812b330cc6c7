"""The batch dialog: a folder of videos and images (or a list of sources) through one pipeline, without freezing the window.

``run_batch`` runs as a background job (:mod:`vision_desk.gui.jobs`), in this
process, in worker processes or on a Ray cluster; joining the cluster happens
on the job's thread too. Each finished file comes to the GUI thread as the
job's progress; progress within files goes through a mailbox the dialog reads
ten times a second (:mod:`vision_desk.gui.batch_progress`), one row per file in
progress. Cancel cancels the job, whose flag is the batch's cancel event: the
files in progress stop, their partial outputs are removed, and the summary
(what was done, what was cancelled) arrives as usual.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
                               QLineEdit, QListWidget, QProgressBar, QPushButton, QSpinBox, QToolButton, QVBoxLayout,
                               QWidget)

from vision_desk.engine.batch import BatchItem, BatchSummary, run_batch
from vision_desk.engine.pipeline import PipelineSpec, load_spec
from vision_desk.errors import VisionDeskError
from vision_desk.gui.batch_progress import UPDATES_PER_SECOND, ProgressMailbox, WorkRows
from vision_desk.gui.jobs import Job, JobControl, start_job
from vision_desk.gui.pipeline_editor import PIPELINE_FILTER, preset_paths
from vision_desk.gui.settings import Settings
from vision_desk.wording import plural, sentence

#: Failures named under the summary when a batch ends; the Results list above holds every one.
FAILURES_SHOWN = 5


def format_eta(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else f"{seconds // 60}:{seconds % 60:02d}"


def process_folder(control: JobControl, input_dir: Path, spec: PipelineSpec, out_dir: Path, options: dict,
                   mailbox: ProgressMailbox) -> BatchSummary:
    """The batch job: ``run_batch``, its progress into ``mailbox``, each finished BatchItem as the job's progress."""
    def item_done(item: BatchItem) -> None:
        mailbox.finish(item)  # first, so the file's row cannot come back after its line
        control.report(item)

    try:
        return run_batch(input_dir, spec, out_dir, on_progress=mailbox.offer, on_item_done=item_done,
                         cancel=control.cancel_event, **options)
    finally:
        if options.get("ray"):
            from vision_desk.engine.batch_ray import disconnect

            disconnect()  # the next batch joins the address it is given, not the one this one joined


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

    def __init__(self, current_spec: PipelineSpec, output_dir: Path, parent: QWidget | None = None, *,
                 settings: Settings | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Batch processing")
        self.setMinimumWidth(680)
        self.current_spec = current_spec
        self.settings = settings  # where the fields are remembered between batches; None: not remembered
        self.summary: BatchSummary | None = None
        self._job: Job | None = None
        self._mailbox = ProgressMailbox()
        self._finished_files = 0  # files finished in the running batch (they finish in any order with workers)
        self._file_count = 0
        self._poll = QTimer(self)
        self._poll.setInterval(1000 // UPDATES_PER_SECOND)
        self._poll.timeout.connect(self._show_progress)

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
        self.ray_edit = QLineEdit()
        self.ray_edit.setPlaceholderText("empty = this machine; auto, HOST:PORT or ray://HOST:PORT")
        self.ray_edit.setToolTip("Run the files as tasks on a Ray cluster instead (the cluster decides how many run "
                                 "at once); every node must see the input, output and model folders at the same paths.")
        self.segment_minutes = QSpinBox()
        self.segment_minutes.setRange(0, 600)
        self.segment_minutes.setValue(5)
        self.segment_minutes.setPrefix("cut into segments of ")
        self.segment_minutes.setSuffix(" min")
        self.segment_minutes.setSpecialValueText("processed whole")  # 0: never cut
        self.segment_minutes.setToolTip(
            "With several workers or on Ray, a video at least 1.5 times this long is cut at keyframes into segments "
            "of about this length, processed in parallel and joined. Pipelines with a tracker, counter or other stage "
            "that remembers earlier frames are never cut.")
        self.ray_edit.textChanged.connect(self._update_enabled)
        self.workers.valueChanged.connect(self._update_enabled)
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
        form.addRow("Ray cluster", self.ray_edit)
        form.addRow("Long videos", self.segment_minutes)

        progress = QGroupBox("Progress")
        grid = QFormLayout(progress)
        self.work_rows = WorkRows()
        self.overall_bar = QProgressBar()
        self.overall_bar.setRange(0, 1000)
        self.eta_label = QLabel("-")
        files_label = QLabel("Files")
        files_label.setFixedHeight(self.work_rows.row_height)  # beside the first row, not the middle of many
        grid.addRow(files_label, self.work_rows)
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
        self._recall()
        self._update_enabled()

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

    def _update_enabled(self) -> None:
        on_ray = bool(self.ray_edit.text().strip())
        self.workers.setEnabled(not on_ray)  # the cluster decides how many tasks run at once
        self.segment_minutes.setEnabled(on_ray or self.workers.value() != 1)  # files are cut only to run in parallel

    def _remembered(self) -> dict[str, QLineEdit | QCheckBox | QSpinBox]:
        """The fields kept in the settings, by their Settings attribute."""
        return {"batch_input": self.input_edit, "batch_output": self.output_edit, "batch_recursive": self.recursive,
                "batch_video": self.video, "batch_annotated": self.annotated, "batch_workers": self.workers,
                "batch_ray": self.ray_edit, "batch_segment_minutes": self.segment_minutes}

    def _recall(self) -> None:
        if self.settings is None:
            return
        for name, widget in self._remembered().items():
            value = getattr(self.settings, name)
            if isinstance(widget, QLineEdit):
                if value:  # an empty output keeps the default folder
                    widget.setText(value)
            elif isinstance(widget, QCheckBox):
                widget.setChecked(value)
            else:
                widget.setValue(value)

    def _remember(self) -> None:
        if self.settings is None:
            return
        for name, widget in self._remembered().items():
            value = (widget.text().strip() if isinstance(widget, QLineEdit)
                     else widget.isChecked() if isinstance(widget, QCheckBox) else widget.value())
            setattr(self.settings, name, value)

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
        self._remember()
        self.results.clear()
        self.summary_label.setText("")
        self.work_rows.clear()
        self.overall_bar.setValue(0)
        ray = self.ray_edit.text().strip()
        self.eta_label.setText(f"Joining the Ray cluster at {ray}..." if ray else "Starting...")
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        options = dict(recursive=self.recursive.isChecked(), resume=self.resume.isChecked(), video=self.video.isChecked(),
                       annotated=self.annotated.isChecked(), workers=self.workers.value() or "auto", ray=ray or None,
                       segment_seconds=self.segment_minutes.value() * 60.0)
        self._finished_files = self._file_count = 0
        self._mailbox = ProgressMailbox()
        self._job = start_job(process_folder, input_dir, spec, out_dir, options, self._mailbox, name="batch",
                              parent=self)
        self._job.progress.connect(self._on_item_done)
        self._job.succeeded.connect(self._on_finished)
        self._job.failed.connect(self._on_failed)
        self._poll.start()

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
    def _show_progress(self) -> None:
        """The newest report of each file in progress, read from the mailbox ten times a second."""
        reports = self._mailbox.take()
        if not reports:
            return
        for report in reports:
            self.work_rows.show_report(report)
        self._file_count = reports[0].file_count
        elapsed = max(r.elapsed_s for r in reports)
        done = self._overall()
        if done > 0.01 and self.cancel_button.isEnabled():  # not once "Cancelling..." shows
            self.eta_label.setText(f"{elapsed:.0f} s elapsed, about {format_eta(elapsed * (1 - done) / done)} left")

    def _overall(self) -> float:
        """Files finish in any order when workers run in parallel: the finished ones plus the share done of the others."""
        done = min(1.0, (self._finished_files + self.work_rows.share_done()) / max(1, self._file_count))
        if self._file_count:
            self.overall_bar.setValue(int(done * 1000))
        return done

    def _on_item_done(self, item: BatchItem) -> None:
        self._finished_files += 1
        self.work_rows.remove(item)
        self._overall()
        if item.error:
            text = f"{item.status}: {item.failure}"
        else:
            text = f"{item.status}: {item.rel}"
            if item.status == "done":
                text += f"  ({plural(item.frames, 'frame')}, {item.seconds:.1f} s)"
        self.results.addItem(text)
        self.results.scrollToBottom()

    def _on_finished(self, summary: BatchSummary) -> None:
        self.summary = summary
        self._idle()
        self.overall_bar.setValue(1000)
        parts = [f"{summary.count('done')} done", f"{summary.count('failed')} failed"]
        for status in ("skipped", "cancelled"):
            if summary.count(status):
                parts.append(f"{summary.count(status)} {status}")
        text = f"<b>Finished in {summary.seconds:.1f} s</b>: " + ", ".join(parts) + f"; {plural(summary.frames, 'frame')} at {summary.fps:.1f} fps."
        if summary.failed:  # the first few; the list above has them all (a thousand would push the dialog off screen)
            shown = summary.failed[:FAILURES_SHOWN]
            text += "<br><b>Failures:</b><br>" + "<br>".join(html.escape(i.failure, quote=False) for i in shown)
            if len(summary.failed) > len(shown):
                text += f"<br>... and {len(summary.failed) - len(shown)} more, listed under Results."
        self.summary_label.setText(text)
        self.eta_label.setText("Cancelled." if summary.count("cancelled") else "Done.")

    def _on_failed(self, message: str) -> None:
        self._idle()
        self.eta_label.setText("-")
        # engine errors start in lower case, after the CLI's "error: "
        self.summary_label.setText(f"<span style='color:#dc3c3c'>{html.escape(sentence(message), quote=False)}</span>")

    def _idle(self) -> None:
        self._poll.stop()
        self.work_rows.clear()
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        if self.running:
            self.cancel()  # the worker finishes on its own; the main window joins it at exit
        super().closeEvent(event)
