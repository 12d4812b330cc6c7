"""The searchable, categorised list of stages the pipeline editor adds from."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QPushButton, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from vision_desk.engine.stage import Stage, all_stages

STAGE_ROLE = Qt.ItemDataRole.UserRole


def stage_label(cls: type[Stage]) -> str:
    return (cls.title or cls.id) + ("  (heavy)" if cls.heavy else "")


class StagePicker(QWidget):
    """Stages grouped by category, filtered as the user types.

    Signals:
        chosen(stage_id): double-click, Enter or the Add button on a stage.
    """

    chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search stages (name, category, help)...")
        self.search.setClearButtonEnabled(True)
        self.tree = QTreeWidget()
        self.tree.setHeaderHidden(True)
        self.tree.setRootIsDecorated(True)
        self.add_button = QPushButton("Add to pipeline")
        self.add_button.setEnabled(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.search)
        layout.addWidget(self.tree, 1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.add_button)
        layout.addLayout(row)
        self._populate()
        self.search.textChanged.connect(self.filter)
        self.search.returnPressed.connect(self._choose_best_match)
        self.tree.itemDoubleClicked.connect(lambda item, _col: self._choose(item))
        self.tree.itemActivated.connect(lambda item, _col: self._choose(item))
        self.tree.currentItemChanged.connect(lambda item, _old: self.add_button.setEnabled(bool(item and item.data(0, STAGE_ROLE))))
        self.add_button.clicked.connect(lambda: self._choose(self.tree.currentItem()))

    def _populate(self) -> None:
        groups: dict[str, QTreeWidgetItem] = {}
        for sid, cls in all_stages().items():
            group = groups.get(cls.category)
            if group is None:
                group = groups[cls.category] = QTreeWidgetItem(self.tree, [cls.category])
                group.setFlags(Qt.ItemFlag.ItemIsEnabled)
                font = group.font(0)
                font.setBold(True)
                group.setFont(0, font)
            item = QTreeWidgetItem(group, [stage_label(cls)])
            item.setData(0, STAGE_ROLE, sid)
            item.setToolTip(0, f"<b>{cls.title or sid}</b> ({sid})<br>{cls.help}")
        self.tree.expandAll()

    def stage_items(self) -> list[QTreeWidgetItem]:
        out = []
        for g in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(g)
            out.extend(group.child(i) for i in range(group.childCount()))
        return out

    def visible_ids(self) -> list[str]:
        return [item.data(0, STAGE_ROLE) for item in self.stage_items() if not item.isHidden()]

    def filter(self, text: str) -> None:
        """Shows the stages whose id, title, category or help contain every word typed."""
        words = text.lower().split()
        stages = all_stages()
        for g in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(g)
            shown = 0
            for i in range(group.childCount()):
                item = group.child(i)
                cls = stages[item.data(0, STAGE_ROLE)]
                haystack = f"{cls.id} {cls.title} {cls.category} {cls.help}".lower()
                match = all(w in haystack for w in words)
                item.setHidden(not match)
                shown += match
            group.setHidden(shown == 0)
        # highlight what Enter will add, which need not be the first row shown
        best = self.best_match() if words else None
        for item in self.stage_items():
            if item.data(0, STAGE_ROLE) == best:
                self.tree.setCurrentItem(item)

    def best_match(self) -> str | None:
        """The visible stage Enter adds: an exact id or title match, else a prefix match, else the first shown.

        Without the ranking, category order decides: "blur" added "Blur detection"
        (Analysis comes before Filters), not "Blur".
        """
        text = self.search.text().strip().lower()
        stages = all_stages()

        def rank(sid: str) -> int:
            names = (sid.lower(), (stages[sid].title or "").lower())
            if text in names:
                return 0
            return 1 if any(name.startswith(text) for name in names) else 2

        ids = self.visible_ids()
        return min(ids, key=rank) if ids else None  # min keeps the first of equal ranks: category order

    def _choose_best_match(self) -> None:
        sid = self.best_match()
        if sid is not None:
            self.chosen.emit(sid)

    def _choose(self, item: QTreeWidgetItem | None) -> None:
        if item is not None and item.data(0, STAGE_ROLE):
            self.chosen.emit(item.data(0, STAGE_ROLE))
