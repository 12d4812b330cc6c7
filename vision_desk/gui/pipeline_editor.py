"""The pipeline editor: the chain of stages, their parameters, presets and pipeline files.

The editor keeps the pipeline as the user sees it (a list of stage specs) and
mirrors every edit onto the running :class:`~vision_desk.engine.pipeline.Pipeline`
through its thread-safe edit methods, which the engine applies at the next
frame. Each row remembers its stage's slot id in that pipeline: edits and the
engine's stats rows name a stage by it, never by its position, which until the
next frame differs between the chain as edited and the chain that runs. When
the engine is replaced (a new source), the new engine's pipeline is built from
:meth:`PipelineEditor.spec` and handed back with :meth:`attach`.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QAbstractItemView, QFileDialog, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QMenu,
                               QPushButton, QScrollArea, QSplitter, QTabWidget, QToolButton, QVBoxLayout, QWidget)

from vision_desk.engine.pipeline import Pipeline, PipelineSpec, StageSpec, load_spec, preset_source, validate_params
from vision_desk.engine.stage import stage_class
from vision_desk.errors import VisionDeskError
from vision_desk.gui.param_panel import ParamPanel
from vision_desk.gui.stage_picker import StagePicker, stage_label
from vision_desk.resources import pipelines_dir

PIPELINE_FILTER = "Pipelines (*.yaml *.yml);;All files (*)"


def preset_paths() -> list[Path]:
    """The YAML presets shipped in pipelines/, by name."""
    try:
        folder = pipelines_dir()
    except FileNotFoundError:
        return []
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in (".yaml", ".yml"))


class PipelineEditor(QWidget):
    """Edits the stage chain; every change goes to the running pipeline at once.

    Signals:
        message(str): a one-sentence error or notice for the status bar.
        spec_changed(): the chain or a parameter changed (saved state is stale).
        source_requested(str): a pipeline file was loaded that names its source (``source:``); open it.
    """

    message = Signal(str)
    spec_changed = Signal()
    source_requested = Signal(str)

    def __init__(self, picker: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.picker = picker
        self.pipeline: Pipeline | None = None
        self.last_dir = ""
        self._name = "untitled"
        self._stages: list[StageSpec] = []
        self._ids: list[int | None] = []  # each row's slot id in self.pipeline (None without one)
        self._failed: dict[int, dict[str, Any]] = {}  # the engine's stats row of each stage it switched off, by slot id
        self._syncing = False
        self.panel: ParamPanel | None = None
        self._build()

    # -- layout ------------------------------------------------------------------
    def _build(self) -> None:
        self.name_label = QLabel()
        self.name_label.setObjectName("pipelineName")
        self.presets_button = QToolButton()
        self.presets_button.setText("Presets")
        self.presets_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.presets_menu = QMenu(self.presets_button)
        for path in preset_paths():
            self.presets_menu.addAction(path.stem, lambda p=path: self.load_file(p))
        self.presets_button.setMenu(self.presets_menu)
        self.load_button = QToolButton()
        self.load_button.setText("Load...")
        self.load_button.clicked.connect(self.ask_load)
        self.save_button = QToolButton()
        self.save_button.setText("Save...")
        self.save_button.clicked.connect(self.ask_save)
        top = QHBoxLayout()
        top.addWidget(self.name_label, 1)
        for w in (self.presets_button, self.load_button, self.save_button):
            top.addWidget(w)

        self.list = QListWidget()
        self.list.setObjectName("stageList")
        self.list.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.list.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.list.setToolTip("Drag to reorder; the check box turns a stage on or off.")
        self.list.model().rowsMoved.connect(self._on_rows_moved)
        self.list.itemChanged.connect(self._on_item_changed)
        self.list.currentRowChanged.connect(self._show_params)

        self.add_button = QPushButton("Add stage...")
        self.add_button.clicked.connect(self.show_picker)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(lambda: self.remove_stage(self.list.currentRow()))
        self.up_button = QToolButton()
        self.up_button.setArrowType(Qt.ArrowType.UpArrow)
        self.up_button.setToolTip("Move the stage up")
        self.up_button.clicked.connect(lambda: self._nudge(-1))
        self.down_button = QToolButton()
        self.down_button.setArrowType(Qt.ArrowType.DownArrow)
        self.down_button.setToolTip("Move the stage down")
        self.down_button.clicked.connect(lambda: self._nudge(1))
        buttons = QHBoxLayout()
        for w in (self.add_button, self.remove_button):
            buttons.addWidget(w)
        buttons.addStretch(1)
        buttons.addWidget(self.up_button)
        buttons.addWidget(self.down_button)

        upper = QWidget()
        upper_layout = QVBoxLayout(upper)
        upper_layout.setContentsMargins(0, 0, 0, 0)
        upper_layout.addLayout(top)
        upper_layout.addWidget(self.list, 1)
        upper_layout.addLayout(buttons)

        self.stage_picker = StagePicker()
        self.stage_picker.chosen.connect(lambda sid: self.add_stage(sid))
        self.params_scroll = QScrollArea()
        self.params_scroll.setWidgetResizable(True)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.params_scroll, "Parameters")
        self.tabs.addTab(self.stage_picker, "Add stage")

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(upper)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([220, 440])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(splitter)
        self._refresh()

    # -- the model -----------------------------------------------------------------
    def spec(self) -> PipelineSpec:
        """The pipeline as shown (including edits the engine has not applied yet)."""
        return PipelineSpec(self._name, copy.deepcopy(self._stages))

    def attach(self, pipeline: Pipeline | None) -> None:
        """Mirrors future edits onto this running pipeline (built from :meth:`spec`)."""
        self.pipeline = pipeline
        self._ids = pipeline.slot_ids() if pipeline is not None else [None] * len(self._stages)
        self._failed.clear()
        self._refresh(keep_row=True)

    def retarget(self, spec: PipelineSpec, pipeline: Pipeline | None) -> None:
        """Shows another running pipeline (a wall tile was focused): its chain, and edits go to it from now on."""
        self._name = spec.name
        self._stages = [StageSpec(s.stage, self._full_params(s.stage, s.params), s.enabled) for s in spec.stages]
        self.pipeline = None
        self.attach(pipeline)
        self.list.setCurrentRow(0 if self._stages else -1)
        self._show_params(self.list.currentRow())  # the row may be the same number while the stage is another

    def set_spec(self, spec: PipelineSpec) -> None:
        """Replaces the whole chain (a preset or a file)."""
        stages = [StageSpec(s.stage, self._full_params(s.stage, s.params), s.enabled) for s in spec.stages]
        self._ids = self.pipeline.replace(spec) if self.pipeline is not None else [None] * len(stages)
        self._name = spec.name
        self._stages = stages
        self._failed.clear()
        self._refresh()
        self.list.setCurrentRow(0 if self._stages else -1)
        self.spec_changed.emit()

    def _full_params(self, stage_id: str, params: dict[str, Any], where: str = "") -> dict[str, Any]:
        model = validate_params(stage_class(stage_id), params, where or f"stage '{stage_id}'")
        return model.model_dump(mode="json")

    # -- edits ---------------------------------------------------------------------
    def add_stage(self, stage_id: str, index: int | None = None, params: dict[str, Any] | None = None) -> bool:
        """Inserts a stage after the selected one (or at ``index``) with ``params`` over its defaults.

        Returns False (and emits the reason) when the stage or its parameters are rejected.
        """
        if index is None:
            index = self.list.currentRow() + 1 if self.list.currentRow() >= 0 else len(self._stages)
        try:
            params = self._full_params(stage_id, params or {})
            slot_id = self.pipeline.insert(index, stage_id, params) if self.pipeline is not None else None
        except VisionDeskError as err:
            self.message.emit(str(err))
            return False
        self._stages.insert(index, StageSpec(stage_id, params))
        self._ids.insert(index, slot_id)
        self._refresh()
        self.list.setCurrentRow(index)
        self.tabs.setCurrentIndex(0)
        self.spec_changed.emit()
        return True

    def remove_stage(self, index: int) -> None:
        if not 0 <= index < len(self._stages):
            return
        if self.pipeline is not None:
            self.pipeline.remove(self._ids[index])
        del self._stages[index]
        self._failed.pop(self._ids.pop(index), None)
        self._refresh()
        self.list.setCurrentRow(min(index, len(self._stages) - 1))
        self.spec_changed.emit()

    def move_stage(self, src: int, dst: int, *, list_moved: bool = False) -> None:
        """Moves a stage; ``list_moved`` when the list widget already moved its row (drag and drop)."""
        n = len(self._stages)
        if not (0 <= src < n and 0 <= dst < n) or src == dst:
            return
        if self.pipeline is not None:
            self.pipeline.move(self._ids[src], dst)
        self._stages.insert(dst, self._stages.pop(src))
        self._ids.insert(dst, self._ids.pop(src))
        if not list_moved:
            self._refresh()
        else:
            for i in range(n):
                self._decorate(i)
        self.list.setCurrentRow(dst)
        self._show_params(dst)  # the panel's row index changed even when the current row did not
        self.spec_changed.emit()

    def set_stage_enabled(self, index: int, enabled: bool) -> None:
        if not 0 <= index < len(self._stages) or self._stages[index].enabled == enabled:
            return
        self._stages[index].enabled = enabled
        if enabled:
            self._failed.pop(self._ids[index], None)
        if self.pipeline is not None:
            self.pipeline.set_enabled(self._ids[index], enabled)
        self._decorate(index)
        self.spec_changed.emit()

    def set_param(self, index: int, name: str, value: Any) -> bool:
        """Validates and applies one parameter; a rejected value is explained in the panel and reverted."""
        entry = self._stages[index]
        try:
            entry_params = self._full_params(entry.stage, {**entry.params, name: value}, f"stage {index + 1} '{entry.stage}'")
            if self.pipeline is not None:
                self.pipeline.set_params(self._ids[index], **{name: value})
        except VisionDeskError as err:
            self.message.emit(str(err))
            if self.panel is not None and self.list.currentRow() == index:
                self.panel.set_values(entry.params)
                self.panel.show_error(str(err))
            return False
        entry.params = entry_params
        if self.panel is not None and self.list.currentRow() == index:
            self.panel.show_error("")
        self.spec_changed.emit()
        return True

    def sync_rows(self, rows: list[dict[str, Any]]) -> None:
        """Marks stages the engine switched off after an error (rows from ``Engine.stats().stages``, matched by slot id)."""
        if self.pipeline is None:
            return
        for row in rows:
            if not row.get("error") or row["enabled"] or row["id"] not in self._ids:
                continue  # no failure, or a stage removed since
            i = self._ids.index(row["id"])
            # The rows are a snapshot from the engine thread, a moment old: when the pipeline has the stage on
            # again, the user ticked it after the failure and the error shown here is the one that tick cleared.
            if not self._stages[i].enabled or self.pipeline.is_enabled(row["id"]):
                continue
            self._stages[i].enabled = False
            self._failed[row["id"]] = row
            self._decorate(i)
            if self.panel is not None and self.list.currentRow() == i:
                self.panel.show_error(row["error"])

    def _error(self, slot_id: int | None) -> str | None:
        return self._failed[slot_id]["error"] if slot_id in self._failed else None

    def _awaits(self, slot_id: int | None) -> list[str]:
        """The manifest names of the models a stopped stage waits for (from its stats row, never its message)."""
        missing = self._failed[slot_id]["missing_models"] if slot_id in self._failed else []
        return [m["pull"] for m in missing if m["pull"]]

    def awaited_models(self) -> list[str]:
        """The downloadable models the stopped stages wait for, in stage order, each once."""
        return list(dict.fromkeys(name for slot_id in self._ids for name in self._awaits(slot_id)))

    def retry_stages_missing(self, model: str) -> list[int]:
        """Switches back on the stages that stopped because ``model`` was not downloaded; their row indices."""
        waiting = [i for i, slot_id in enumerate(self._ids) if model in self._awaits(slot_id) and not self._stages[i].enabled]
        for i in waiting:
            self.set_stage_enabled(i, True)
        return waiting

    def _nudge(self, delta: int) -> None:
        row = self.list.currentRow()
        self.move_stage(row, row + delta)

    # -- list widget -----------------------------------------------------------------
    def _refresh(self, keep_row: bool = False) -> None:
        row = self.list.currentRow()
        self._syncing = True
        self.list.clear()
        for i, entry in enumerate(self._stages):
            item = QListWidgetItem(stage_label(stage_class(entry.stage)))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsDragEnabled)
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsDropEnabled)
            self.list.addItem(item)
            self._decorate(i)
        self._syncing = False
        self.name_label.setText(f"Pipeline: <b>{self._name}</b>")
        if keep_row and 0 <= row < len(self._stages):
            self.list.setCurrentRow(row)
        self.remove_button.setEnabled(bool(self._stages))

    def _decorate(self, i: int) -> None:
        """Updates one row's check box, colour and tooltip in place (safe inside itemChanged)."""
        item, entry, error = self.list.item(i), self._stages[i], self._error(self._ids[i])
        cls = stage_class(entry.stage)
        syncing, self._syncing = self._syncing, True
        item.setCheckState(Qt.CheckState.Checked if entry.enabled else Qt.CheckState.Unchecked)
        tip = f"<b>{cls.title or cls.id}</b> ({cls.id})<br>{cls.help}"
        if error:
            item.setForeground(QBrush(QColor(220, 60, 60)))
            tip += f"<br><span style='color:#dc3c3c'>{error}</span>"
        else:
            item.setData(Qt.ItemDataRole.ForegroundRole, None)
        item.setToolTip(tip)
        self._syncing = syncing

    def _on_item_changed(self, item: QListWidgetItem) -> None:
        if not self._syncing:
            self.set_stage_enabled(self.list.row(item), item.checkState() == Qt.CheckState.Checked)

    def _on_rows_moved(self, _parent: QModelIndex, start: int, _end: int, _dest: QModelIndex, row: int) -> None:
        if self._syncing:
            return
        self.move_stage(start, row if row < start else row - 1, list_moved=True)

    def _show_params(self, row: int) -> None:
        if self.picker is not None and getattr(self.picker, "picking", None):
            self.picker.cancel_pick()
        self.panel = None
        if not 0 <= row < len(self._stages):
            self.params_scroll.setWidget(QLabel("Select a stage to edit its parameters."))
            return
        entry = self._stages[row]
        self.panel = ParamPanel(stage_class(entry.stage), entry.params, self.picker)
        if error := self._error(self._ids[row]):
            self.panel.show_error(error)
        self.panel.changed.connect(lambda name, value, i=row: self.set_param(i, name, value))
        self.params_scroll.setWidget(self.panel)

    def show_picker(self) -> None:
        self.tabs.setCurrentWidget(self.stage_picker)
        self.stage_picker.search.setFocus()
        self.stage_picker.search.selectAll()

    # -- files ---------------------------------------------------------------------
    def load_file(self, path: str | Path) -> bool:
        try:
            spec = load_spec(path)
            self.set_spec(spec)
        except VisionDeskError as err:
            self.message.emit(str(err))
            return False
        self.last_dir = str(Path(path).parent)
        if spec.source:
            self.source_requested.emit(preset_source(spec.source, Path(path)))
        # the notices of a file written with old parameter names follow, so saving it is the obvious next step
        self.message.emit(" ".join([f"Loaded pipeline '{self._name}' from {Path(path).name}.", *spec.notices]))
        return True

    def save_file(self, path: str | Path) -> bool:
        path = Path(path)
        if path.suffix.lower() not in (".yaml", ".yml"):
            path = path.with_suffix(".yaml")
        spec = self.spec()
        if spec.name == "untitled":
            spec.name = path.stem
        try:
            spec.save(path)
        except OSError as err:
            self.message.emit(f"Could not save the pipeline to {path}: {err.strerror or err}.")
            return False
        self._name = spec.name
        self._refresh(keep_row=True)
        self.last_dir = str(path.parent)
        self.message.emit(f"Saved pipeline '{spec.name}' to {path}.")
        return True

    def ask_load(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load pipeline", self.last_dir or str(preset_dir_or_home()), PIPELINE_FILTER)
        if path:
            self.load_file(path)

    def ask_save(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save pipeline", str(Path(self.last_dir or Path.home()) / f"{self._name}.yaml"), PIPELINE_FILTER)
        if path:
            self.save_file(path)


def preset_dir_or_home() -> Path:
    try:
        return pipelines_dir()
    except FileNotFoundError:
        return Path.home()
