"""The Teach panel's classes: the project's classes with their sample counts; add, rename, delete."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QInputDialog, QListWidget, QMessageBox, QPushButton, QVBoxLayout, QWidget

from vision_desk.errors import VisionDeskError
from vision_desk.teach.dataset import TeachSet
from vision_desk.teach.project import rename_class
from vision_desk.wording import plural, sentence

NAME_ROLE = Qt.ItemDataRole.UserRole


class ClassList(QWidget):
    """The classes of a teach set, each shown as "name  (samples)", and the buttons that edit them.

    Counts are read from disk when the set is (re)listed and kept up to date by :meth:`bump` as samples are
    saved or deleted, so a burst of captures lists no folders.

    Signals:
        current_changed(): another class (or none) is selected.
        message(str, bool): one sentence, and whether it is for the status bar too.
    """

    current_changed = Signal()
    message = Signal(str, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.teach_set: TeachSet | None = None
        self._counts: dict[str, int] = {}
        self.list = QListWidget()
        self.list.setMaximumHeight(130)
        self.add_button = QPushButton("Add...")
        self.rename_button = QPushButton("Rename...")
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip("Delete the selected class and all its images.")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list, 1)
        buttons = QVBoxLayout()
        for button in (self.add_button, self.rename_button, self.delete_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.list.currentItemChanged.connect(lambda *_: self._on_current())
        self.add_button.clicked.connect(self.ask_add)
        self.rename_button.clicked.connect(self.ask_rename)
        self.delete_button.clicked.connect(lambda: self.delete(self.current or ""))
        self._on_current()

    @property
    def current(self) -> str | None:
        """The selected class."""
        item = self.list.currentItem()
        return item.data(NAME_ROLE) if item is not None else None

    def counts(self) -> dict[str, int]:
        """Samples per class, as shown."""
        return dict(self._counts)

    def texts(self) -> list[str]:
        """The rows as shown."""
        return [self.list.item(i).text() for i in range(self.list.count())]

    def set_teach_set(self, teach_set: TeachSet | None) -> None:
        self.teach_set = teach_set
        self.refresh()

    def refresh(self, select: str | None = None) -> None:
        """Lists the classes from disk and selects ``select`` (default: the selected one, else the first)."""
        select = select or self.current
        self._counts = self.teach_set.counts() if self.teach_set is not None else {}
        names = list(self._counts)
        self.list.blockSignals(True)
        self.list.clear()
        for name in names:
            self.list.addItem(name)
            self.list.item(self.list.count() - 1).setData(NAME_ROLE, name)
            self._show_count(name)
        self.list.setCurrentRow(names.index(select) if select in names else 0 if names else -1)
        self.list.blockSignals(False)
        self._on_current()

    def bump(self, name: str, delta: int) -> int:
        """Changes the count of ``name`` by ``delta`` (samples saved or deleted); returns the new count."""
        self._counts[name] = max(0, self._counts.get(name, 0) + delta)
        self._show_count(name)
        return self._counts[name]

    def _show_count(self, name: str) -> None:
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.data(NAME_ROLE) == name:
                item.setText(f"{name}  ({self._counts.get(name, 0)})")

    def _on_current(self) -> None:
        has_set, has_class = self.teach_set is not None, self.current is not None
        self.list.setEnabled(has_set)
        self.add_button.setEnabled(has_set)
        self.rename_button.setEnabled(has_class)
        self.delete_button.setEnabled(has_class)
        self.current_changed.emit()

    # -- edits --------------------------------------------------------------------
    def add(self, name: str) -> bool:
        """Adds a class and selects it; the sentence from the name check when it cannot be one."""
        if self.teach_set is None:
            self.message.emit("Choose or create a project first.", True)
            return False
        try:
            name = self.teach_set.add_class(name)
        except VisionDeskError as err:
            self.message.emit(sentence(str(err)), True)
            return False
        self.refresh(select=name)
        self.message.emit(f"Added class '{name}'; capture or import at least a few dozen images of it.", False)
        return True

    def ask_add(self) -> None:
        name, ok = QInputDialog.getText(self, "Add class", "Name of the class:")
        if ok and name.strip():
            self.add(name)

    def rename(self, old: str, new: str) -> bool:
        """Renames a class (its folder); one sentence when the name is bad or taken."""
        if self.teach_set is None or not old:
            return False
        try:
            new = rename_class(self.teach_set, old, new)
        except VisionDeskError as err:
            self.message.emit(sentence(str(err)), True)
            return False
        self.refresh(select=new)
        return True

    def ask_rename(self) -> None:
        old = self.current
        if old is None:
            return
        new, ok = QInputDialog.getText(self, "Rename class", f"New name of '{old}':", text=old)
        if ok and new.strip():
            self.rename(old, new)

    def delete(self, name: str, confirm: bool = True) -> bool:
        """Deletes a class and its images, after asking (unless ``confirm`` is False)."""
        if self.teach_set is None or not name:
            return False
        images = plural(self._counts.get(name, 0), "image")
        if confirm:
            answer = QMessageBox.question(self, "Delete class", f"Delete class '{name}' and its {images}? "
                                          "This cannot be undone.")
            if answer != QMessageBox.StandardButton.Yes:
                return False
        self.teach_set.remove_class(name)
        self.refresh()
        self.message.emit(f"Deleted class '{name}' ({images}).", False)
        return True
