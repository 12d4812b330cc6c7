"""The batch dialog's live progress: one row per file in progress, fed at most ten times a second.

Runners report progress about ten times a second per file, from however many
workers (processes or Ray tasks) are busy. Posting each report to the GUI
thread would grow its event queue with the number of workers, so reports go
into a :class:`ProgressMailbox` instead (the newest per file wins, as frames do
in :mod:`vision_desk.gui.bridge`), which the dialog empties on a 100 ms timer.
Finished files still travel through the job's ordered progress signal, so each
gets its line in the results list.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QScrollArea, QVBoxLayout, QWidget

from vision_desk.engine.batch import BatchItem, BatchProgress

#: How often the dialog empties the mailbox: at most this many updates a second per row.
UPDATES_PER_SECOND = 10
#: Rows shown before the list scrolls (a cluster may have hundreds of workers busy).
VISIBLE_ROWS = 6


class ProgressMailbox:
    """The newest progress report per file, from the batch's thread to the GUI thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: dict[int, BatchProgress] = {}  # id(file's item) -> its newest report
        self._finished: set[int] = set()

    def offer(self, report: BatchProgress) -> None:
        """Keeps ``report`` (any thread), replacing an older one for the same file not taken yet."""
        with self._lock:
            if id(report.item) not in self._finished:  # a worker's last report may arrive after the file is done
                self._latest[id(report.item)] = report

    def finish(self, item: BatchItem) -> None:
        """The file is done (any thread): its pending report is dropped and later ones are ignored."""
        with self._lock:
            self._finished.add(id(item))
            self._latest.pop(id(item), None)

    def take(self) -> list[BatchProgress]:
        """The reports that arrived since the last take, one per file (GUI thread)."""
        with self._lock:
            latest, self._latest = self._latest, {}
        return list(latest.values())


def row_height(label: QLabel) -> int:
    """A row is one line of text and its margins."""
    return label.sizeHint().height() + 4


class WorkRow(QWidget):
    """One file in progress: its name, frames done of all, and a bar."""

    def __init__(self, report: BatchProgress) -> None:
        super().__init__()
        self.index = report.file_index
        self.name = QLabel()
        self.name.setFixedWidth(260)
        text = str(report.item.rel)
        self.name.setText(self.name.fontMetrics().elidedText(text, Qt.TextElideMode.ElideMiddle, 256))
        self.name.setToolTip(f"{report.file_index + 1} of {report.file_count}: {text}")
        self.frames = QLabel()
        self.frames.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.frames.setMinimumWidth(self.frames.fontMetrics().horizontalAdvance("00000 / 00000 frames") + 8)
        self.bar = QProgressBar()
        self.bar.setTextVisible(False)
        self.bar.setMaximumHeight(12)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 2)
        layout.addWidget(self.name)
        layout.addWidget(self.frames)
        layout.addWidget(self.bar, 1)
        self.setFixedHeight(row_height(self.name))  # many rows scroll rather than squeeze
        self.fraction = 0.0
        self.show_report(report)

    def show_report(self, report: BatchProgress) -> None:
        total = report.total_frames
        if total:
            self.frames.setText(f"{report.frame} / {total} frames")
            self.bar.setRange(0, total)
            self.bar.setValue(min(report.frame, total))
            self.fraction = min(1.0, report.frame / total)
        else:  # a web video of unknown length: a busy bar
            self.frames.setText(f"{report.frame} frames")
            self.bar.setRange(0, 0)


class WorkRows(QScrollArea):
    """The files in progress, one :class:`WorkRow` each, in input order; a placeholder line when there are none."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: dict[int, WorkRow] = {}  # id(file's item) -> its row
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        inner = QWidget()
        self._layout = QVBoxLayout(inner)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(0)
        self.idle = QLabel("No file in progress.")
        self._layout.addWidget(self.idle)
        self._layout.addStretch(1)
        self.setWidget(inner)
        self.row_height = row_height(self.idle)
        self._fit()

    def show_report(self, report: BatchProgress) -> None:
        """Updates the file's row, adding it (in input order) if it is new."""
        row = self.rows.get(id(report.item))
        if row is not None:
            row.show_report(report)
            return
        row = self.rows[id(report.item)] = WorkRow(report)
        before = sum(1 for r in self.rows.values() if r.index < report.file_index)
        self._layout.insertWidget(1 + before, row)  # after the placeholder
        self._fit()

    def remove(self, item: BatchItem) -> None:
        """Drops the row of a finished file, if it has one."""
        row = self.rows.pop(id(item), None)
        if row is not None:
            row.deleteLater()
            self._fit()

    def clear(self) -> None:
        for row in self.rows.values():
            row.deleteLater()
        self.rows.clear()
        self._fit()

    def share_done(self) -> float:
        """How many files' worth of frames the files in progress have done (0.5 + 0.25 = 0.75)."""
        return sum(row.fraction for row in self.rows.values())

    def _fit(self) -> None:
        """As tall as the rows, up to VISIBLE_ROWS; beyond that the list scrolls."""
        self.idle.setVisible(not self.rows)
        shown = min(max(1, len(self.rows)), VISIBLE_ROWS)
        self.setFixedHeight(shown * self.row_height + 2)
