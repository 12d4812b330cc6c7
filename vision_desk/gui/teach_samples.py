"""The Teach panel's thumbnails: the newest samples of one class, loaded a few at a time, deletable."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QIcon, QKeyEvent, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListView, QListWidget, QListWidgetItem, QWidget

from vision_desk.gui.video_view import qimage_view
from vision_desk.teach.dataset import TeachSet, read_image

#: At most this many thumbnails are shown (the newest); a class may hold many more.
MAX_SHOWN = 200
THUMB = 88
#: Thumbnails are read from disk in slices of about this many milliseconds per event-loop turn,
#: so that opening a class of a few hundred camera frames never freezes the window.
LOAD_SLICE_MS = 12
PATH_ROLE = Qt.ItemDataRole.UserRole


def thumbnail(image: np.ndarray, size: int = THUMB) -> QIcon:
    """A square-bounded icon of a BGR image (a copy: the image may go)."""
    h, w = image.shape[:2]
    scale = size / max(h, w)
    if scale < 1:
        image = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    image = np.ascontiguousarray(image)
    return QIcon(QPixmap.fromImage(qimage_view(image).copy()))


class SampleGallery(QListWidget):
    """The selected class's samples, newest first, as thumbnails; Delete removes the selected files.

    Signals:
        deleted(int): how many files were deleted.
    """

    deleted = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setIconSize(QSize(THUMB, THUMB))
        self.setGridSize(QSize(THUMB + 8, THUMB + 8))
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setToolTip("The newest samples of the selected class. Select and press Delete to remove them.")
        self._pending: list[QListWidgetItem] = []
        self._loader = QTimer(self)
        self._loader.setInterval(0)
        self._loader.timeout.connect(self._load_some)
        blank = QPixmap(THUMB, THUMB)
        blank.fill(Qt.GlobalColor.transparent)
        self._blank = QIcon(blank)

    def show_class(self, teach_set: TeachSet | None, name: str | None) -> None:
        """Lists ``name``'s newest samples; their pictures arrive over the next event-loop turns."""
        self._loader.stop()
        self._pending = []
        self.clear()
        if teach_set is None or not name:
            return
        for path in reversed(teach_set.samples(name)[-MAX_SHOWN:]):
            item = QListWidgetItem(self._blank, "")
            item.setData(PATH_ROLE, str(path))
            item.setToolTip(path.name)
            self.addItem(item)
            self._pending.append(item)
        if self._pending:
            self._loader.start()

    def add_sample(self, path: Path, image: np.ndarray) -> None:
        """Puts a sample just saved first, its picture made from the image in memory."""
        item = QListWidgetItem(thumbnail(image), "")
        item.setData(PATH_ROLE, str(path))
        item.setToolTip(Path(path).name)
        self.insertItem(0, item)
        while self.count() > MAX_SHOWN:
            last = self.takeItem(self.count() - 1)
            if last in self._pending:
                self._pending.remove(last)

    def loading(self) -> bool:
        """True while thumbnails are still being read."""
        return bool(self._pending)

    def paths(self) -> list[Path]:
        """The files shown, in order (newest first)."""
        return [Path(self.item(i).data(PATH_ROLE)) for i in range(self.count())]

    def delete_selected(self) -> int:
        """Deletes the selected samples' files; returns how many went."""
        gone = 0
        for item in self.selectedItems():
            try:
                Path(item.data(PATH_ROLE)).unlink(missing_ok=True)
            except OSError:
                continue  # read-only or in use: it stays listed, as it stays on disk
            if item in self._pending:
                self._pending.remove(item)
            self.takeItem(self.row(item))
            gone += 1
        if gone:
            self.deleted.emit(gone)
        return gone

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and self.selectedItems():
            self.delete_selected()
            event.accept()
        else:
            super().keyPressEvent(event)

    def _load_some(self) -> None:
        deadline = time.perf_counter() + LOAD_SLICE_MS / 1000
        while self._pending and time.perf_counter() < deadline:
            item = self._pending.pop(0)
            image = read_image(Path(item.data(PATH_ROLE)))
            if image is not None:
                item.setIcon(thumbnail(image))
        if not self._pending:
            self._loader.stop()
