"""The Wall menu: the grid (1, 2 x 2, 3 x 3 or any rows x columns), one pipeline for all, record all, and layouts.

Layouts are saved to and opened from the layouts folder in the user data folder
(:mod:`vision_desk.gui.layouts`); the recent ones are listed by name.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QInputDialog, QMenu, QSpinBox, QWidget

from vision_desk.errors import VisionDeskError
from vision_desk.gui.layouts import MAX_SIDE, WallSetup, layouts_dir, load_layout, save_layout
from vision_desk.gui.wall import PRESET_GRIDS

if TYPE_CHECKING:
    from vision_desk.gui.main_window import MainWindow

LAYOUT_FILTER = "Wall layouts (*.yaml *.yml);;All files (*)"


class GridDialog(QDialog):
    """Asks for a free grid: rows and columns."""

    def __init__(self, rows: int, cols: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Wall grid")
        self.rows, self.cols = QSpinBox(), QSpinBox()
        for box, value in ((self.rows, rows), (self.cols, cols)):
            box.setRange(1, MAX_SIDE)
            box.setValue(value)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Rows", self.rows)
        form.addRow("Columns", self.cols)
        form.addRow(buttons)


class WallMenu(QMenu):
    """The Wall menu of ``window``, and the layouts it saves, opens and lists."""

    def __init__(self, window: "MainWindow") -> None:
        super().__init__("&Wall", window)
        self.window = window
        self.layout_name = ""
        self.menuAction().setToolTip("The wall of tiles: grid, one pipeline for all, record all, layouts")
        self.grid_group = QActionGroup(self)
        self.grid_actions: dict[tuple[int, int], QAction] = {}
        for rows, cols in PRESET_GRIDS:
            text = "Single view" if rows * cols == 1 else f"{rows} \u00d7 {cols}"
            action = self.addAction(text, lambda r=rows, c=cols: window.set_grid(r, c))
            self.grid_actions[(rows, cols)] = action
        self.free_action = self.addAction("Grid...", self.ask_grid)
        self.free_action.setToolTip("Any number of rows and columns")
        for action in (*self.grid_actions.values(), self.free_action):
            action.setCheckable(True)
            self.grid_group.addAction(action)
        self.addSeparator()
        self.shared_action = self.addAction("One pipeline for all tiles")
        self.shared_action.setCheckable(True)
        self.shared_action.setToolTip("Every tile runs the pipeline in the editor (each with its own trackers and counters)")
        self.shared_action.toggled.connect(window.set_shared_pipeline)
        self.addAction(window.output.record_all_action)
        self.addSeparator()
        self.addAction("Save layout...", self.ask_save)
        self.addAction("Open layout...", self.ask_open)
        self.recent_menu = self.addMenu("Recent layouts")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self.aboutToShow.connect(self.sync)

    def sync(self) -> None:
        """Ticks the current grid and the one-pipeline switch."""
        wall = self.window.wall
        (self.grid_actions.get((wall.rows, wall.cols)) or self.free_action).setChecked(True)
        self.shared_action.blockSignals(True)
        self.shared_action.setChecked(wall.shared)
        self.shared_action.blockSignals(False)

    def ask_grid(self) -> None:
        wall = self.window.wall
        dialog = GridDialog(wall.rows, wall.cols, self.window)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.window.set_grid(dialog.rows.value(), dialog.cols.value())
        self.sync()

    # -- layouts -----------------------------------------------------------------------
    def save_layout(self, name: str, path: str | Path | None = None) -> Path | None:
        """Saves the wall as layout ``name`` (in the layouts folder unless ``path``); None when it could not."""
        self.window.store_specs()
        try:
            saved = save_layout(self.window.wall.setup(name), path)
        except VisionDeskError as err:
            self.window.show_message(str(err))
            return None
        self.layout_name = name
        self.window.settings.add_recent("layouts", str(saved))
        self.window.show_message(f"Saved layout '{name}' to {saved}.")
        return saved

    def open_layout(self, path: str | Path) -> bool:
        """Opens a layout file; a malformed one is one sentence in the status bar and the wall stays as it was."""
        try:
            setup = load_layout(path)
        except VisionDeskError as err:
            self.window.show_message(str(err))
            return False
        failed = self.apply(setup)
        self.window.settings.add_recent("layouts", str(Path(path)))
        note = f"; {failed} source(s) could not be opened (see their tiles)" if failed else ""
        self.window.show_message(f"Opened layout '{setup.name}'{note}.")
        return True

    def apply(self, setup: WallSetup) -> int:
        """Rebuilds the wall from a layout; returns how many sources could not be opened (their tiles say why)."""
        window, wall = self.window, self.window.wall
        wall.focus(wall.tiles[0])
        for tile in wall.tiles:
            tile.close()  # a recording of the old wall is finalised on its engine's thread
        wall.shared = setup.shared
        wall.set_grid(setup.rows, setup.cols)
        failed = 0
        for tile, plan in zip(wall.tiles, setup.tiles):
            tile.spec = plan.spec
            if plan.source:
                try:
                    tile.open(plan.source, plan.spec)
                except VisionDeskError as err:
                    tile.fail(plan.source, plan.spec, str(err))
                    failed += 1
        self.layout_name = setup.name
        window.refocus()
        self.sync()
        return failed

    def ask_save(self) -> None:
        name, ok = QInputDialog.getText(self.window, "Save layout", "Name of this layout:", text=self.layout_name or "wall")
        if ok and name.strip():
            self.save_layout(name.strip())

    def ask_open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open layout", str(layouts_dir()), LAYOUT_FILTER)
        if path:
            self.open_layout(path)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        paths = [Path(p) for p in self.window.settings.recent("layouts") if Path(p).is_file()]
        for path in paths:
            self.recent_menu.addAction(path.stem, lambda p=path: self.open_layout(p)).setToolTip(str(path))
        if not paths:
            self.recent_menu.addAction("No recent layouts").setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear recent layouts", lambda: self.window.settings.clear_recent("layouts"))
