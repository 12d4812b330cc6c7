"""File > Models...: every model the manifest lists, which are downloaded, and downloads with a progress bar.

This dialog and ``vision-desk models pull NAME`` are the only places a model
is ever downloaded, and only when the user asks. The download runs
:func:`vision_desk.models.pull` as a background job (:mod:`vision_desk.gui.jobs`;
length and checksum checked, ``.part`` file renamed only when complete); its
progress comes back as the job's progress, and Cancel stops it from the
progress callback at the next chunk.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QCloseEvent, QDesktopServices
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QHBoxLayout, QHeaderView, QLabel, QProgressBar, QPushButton,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from vision_desk.errors import ModelMissingError, VisionDeskError
from vision_desk.gui.jobs import Job, JobControl, start_job
from vision_desk.models import PULL_COMMAND

COLUMNS = ("Model", "Task", "Size", "Downloaded", "Licence", "Used by")
#: Added to a stage's missing-model error in the GUI, where no terminal is at hand.
GUI_HINT = " (or with File > Models...)"


def with_gui_hint(error: VisionDeskError) -> str:
    """The error's sentence, naming the dialog too where it is a model the dialog can download."""
    if not isinstance(error, ModelMissingError) or not any(m.pull for m in error.missing):
        return str(error)
    return str(error).removesuffix(".") + GUI_HINT + "."


def download_model(control: JobControl, name: str) -> Path:
    """The download job: ``pull`` reporting (bytes done, total; 0 when unknown) as progress, stopping when cancelled."""
    from vision_desk.models import pull

    def on_chunk(done: int, total: int) -> None:
        control.check()  # JobCancelled goes up through pull, which removes its .part file
        control.report((done, total))

    return pull(name, progress=on_chunk)


class ModelsDialog(QDialog):
    """The manifest as a table; Download fetches the selected model.

    Signals:
        downloaded(str): a model's name, once its file is in place.
    """

    downloaded = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Models")
        self.setMinimumSize(760, 420)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.status = QLabel(f"Models are downloaded only from here or with '{PULL_COMMAND} NAME'.")
        self.status.setWordWrap(True)
        self.download_button = QPushButton("Download")
        self.download_button.clicked.connect(self.download_selected)
        self.cancel_button = QPushButton("Cancel download")
        self.cancel_button.clicked.connect(self.cancel)
        folder = QPushButton("Open folder")
        folder.clicked.connect(self._open_folder)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        for b in (self.download_button, self.cancel_button, folder):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self._job: Job | None = None
        self._job_model = ""  # the model the job downloads, for its outcome's sentence
        self.refresh()

    @property
    def downloading(self) -> bool:
        return self._job is not None and self._job.running()

    def refresh(self) -> None:
        """Reads the manifest and the models folder again."""
        from vision_desk.models import load_manifest

        selected = self.selected_name()
        try:
            entries = list(load_manifest().values())
        except VisionDeskError as err:  # a malformed manifest file: its sentence here, the dialog still opens
            entries = []
            self.status.setText(str(err))
        self.table.setRowCount(len(entries))
        for row, e in enumerate(entries):
            cells = (e.name, e.task, e.size_label, "yes" if e.present else "no", e.licence, ", ".join(e.used_by))
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(f"{e.description}\n{e.url}" if e.description else e.url)
                if col == 2:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, col, item)
            if e.name == selected:
                self.table.selectRow(row)
        self._update_buttons()

    def _selected_row(self) -> int | None:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].row() if rows else None

    def selected_name(self) -> str | None:
        row = self._selected_row()
        return None if row is None else self.table.item(row, 0).text()

    def names(self) -> list[str]:
        """The models listed, in table order."""
        return [self.table.item(row, 0).text() for row in range(self.table.rowCount())]

    def select(self, name: str) -> None:
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).text() == name:
                self.table.selectRow(row)
                return
        raise KeyError(name)

    def _update_buttons(self) -> None:
        row = self._selected_row()
        missing = row is not None and self.table.item(row, 3).text() == "no"
        self.download_button.setEnabled(missing and not self.downloading)
        self.cancel_button.setEnabled(self.downloading)

    def download_selected(self) -> bool:
        """Starts downloading the selected model on a worker thread; False when none is selected or one is running."""
        name = self.selected_name()
        if name is None or self.downloading:
            return False
        self.progress.setRange(0, 0)  # busy until the first bytes tell the size
        self.progress.setVisible(True)
        self.status.setText(f"Downloading {name} ...")
        self._job_model = name
        self._job = start_job(download_model, name, name="model-download", parent=self)
        self._job.progress.connect(self._on_progress)
        self._job.succeeded.connect(self._on_downloaded)
        self._job.failed.connect(self._end_download)
        self._job.cancelled.connect(self._on_cancelled)
        self._update_buttons()
        return True

    def cancel(self) -> None:
        if self._job is not None:
            self._job.cancel()

    def _on_progress(self, bytes_done_and_total: tuple[int, int]) -> None:
        done, total = bytes_done_and_total
        if total > 0:
            # QProgressBar holds ints: count in kB so files over 2 GB fit
            self.progress.setRange(0, max(1, total // 1000))
            self.progress.setValue(min(done, total) // 1000)
            self.progress.setFormat(f"{done / 1e6:.1f} of {total / 1e6:.1f} MB")
        else:
            self.progress.setFormat(f"{done / 1e6:.1f} MB")

    def _on_downloaded(self, path: Path) -> None:
        self._end_download(f"Downloaded {self._job_model} to {path}.")
        self.downloaded.emit(self._job_model)

    def _on_cancelled(self) -> None:
        self._end_download(f"Download of {self._job_model} cancelled; nothing was kept.")

    def _end_download(self, sentence: str) -> None:
        self.progress.setVisible(False)
        self.status.setText(sentence)
        self.refresh()

    def _open_folder(self) -> None:
        from vision_desk.weights import models_dir

        QDesktopServices.openUrl(QUrl.fromLocalFile(str(models_dir())))

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        if self.downloading:  # the worker stops at its next chunk and removes its .part file
            self.cancel()
            self._job.wait(5)
        super().closeEvent(event)
