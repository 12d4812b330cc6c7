"""The wall: tiles in a grid of rows x columns, one of them focused; the single-source view is a 1 x 1 wall.

The window's pipeline editor, monitor, record and snapshot act on the focused
tile. Tiles taken off the wall (a smaller grid) stop at once but are kept until
their engines have wound down, so a recording they were making is finalised;
:meth:`Wall.shutdown` waits for every engine at exit.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QGridLayout, QWidget

from vision_desk.gui.layouts import MAX_SIDE, TileSetup, WallSetup
from vision_desk.gui.wall_tile import WallTile

#: The grids the Wall menu offers (rows, columns); any other is a free grid.
PRESET_GRIDS = ((1, 1), (2, 2), (3, 3))
REAP_MS = 1000


class Wall(QWidget):
    """Tiles in a grid; clicking one focuses it, and the focused tile's view is where picks are made.

    The wall stands in for the video view wherever a picker is wanted
    (``begin_pick``, ``cancel_pick``, ``picking``, ``frame_size``): those act on
    the focused tile, so a parameter panel built once keeps working as the focus moves.

    Signals:
        tile_added(tile): a new tile (the window connects to its session).
        focus_changed(old, new): the focused tile changed (old is None the first time).
        tile_double_clicked(tile): the window shows it full screen, or back.
    """

    tile_added = Signal(object)
    focus_changed = Signal(object, object)
    tile_double_clicked = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("wall")
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(2)
        self.tiles: list[WallTile] = []
        self.rows = self.cols = 0
        self.focused: WallTile | None = None
        self.solo_tile: WallTile | None = None
        self.shared = False  # one pipeline for all tiles (the window mirrors the editor's edits onto each)
        self.overlays = True
        self.realtime = True
        self._retired: list[WallTile] = []
        self._guide: tuple[tuple[float, float, float, float], str] | None = None
        self._reaper = QTimer(self)
        self._reaper.setInterval(REAP_MS)
        self._reaper.timeout.connect(self._reap)

    # -- grid ------------------------------------------------------------------------
    def set_grid(self, rows: int, cols: int) -> None:
        """Resizes the grid; tiles keep their order (row by row), those past the end stop, new ones are empty."""
        if not (1 <= rows <= MAX_SIDE and 1 <= cols <= MAX_SIDE):
            raise ValueError(f"a wall has 1 to {MAX_SIDE} rows and columns, not {rows} x {cols}")
        self.solo(None)
        count = rows * cols
        for tile in self.tiles[count:]:
            self._retire(tile)
        del self.tiles[count:]
        self.rows, self.cols = rows, cols
        while len(self.tiles) < count:
            tile = WallTile(len(self.tiles) + 1, self)
            tile.set_overlays(self.overlays)
            tile.session.realtime = self.realtime
            tile.clicked.connect(self.focus)
            tile.double_clicked.connect(self.tile_double_clicked)
            self.tiles.append(tile)
            self.tile_added.emit(tile)
        self._place()
        if self.focused not in self.tiles:
            self.focused = None
            self.focus(self.tiles[0])

    def _place(self) -> None:
        for tile in self.tiles:
            self.grid.removeWidget(tile)
        for i, tile in enumerate(self.tiles):
            tile.number = i + 1
            tile.set_decorated(len(self.tiles) > 1)
            tile.setVisible(self.solo_tile in (None, tile))
            if self.solo_tile is None:
                self.grid.addWidget(tile, i // self.cols, i % self.cols)
        if self.solo_tile is not None:
            self.grid.addWidget(self.solo_tile, 0, 0, self.rows, self.cols)
        for i in range(MAX_SIDE):  # equal shares; rows and columns past the grid take none
            self.grid.setRowStretch(i, 1 if i < self.rows else 0)
            self.grid.setColumnStretch(i, 1 if i < self.cols else 0)

    def position(self, tile: WallTile) -> tuple[int, int]:
        """(row, column) of a tile."""
        i = self.tiles.index(tile)
        return i // self.cols, i % self.cols

    def tile_at(self, row: int, col: int) -> WallTile:
        return self.tiles[row * self.cols + col]

    # -- focus and full screen -------------------------------------------------------
    def focus(self, tile: WallTile) -> None:
        """Makes ``tile`` the one the editor, monitor, record and snapshot act on."""
        old = self.focused
        if tile is old or tile not in self.tiles:
            return
        if old is not None:
            old.view.cancel_pick()
            old.set_focused(False)
        self.focused = tile
        tile.set_focused(True)
        self._show_guide()
        self.focus_changed.emit(old, tile)

    def solo(self, tile: WallTile | None) -> None:
        """Shows only ``tile``, over the whole wall (None: every tile again)."""
        if tile is self.solo_tile:
            return
        self.solo_tile = tile
        self._place()

    # -- picking on the focused tile (the editor's and teach panel's picker) ---------
    def begin_pick(self, kind: str, callback: Callable[[Any], None]) -> None:
        self.focused.view.begin_pick(kind, callback)

    def cancel_pick(self) -> None:
        for tile in self.tiles:
            tile.view.cancel_pick()

    @property
    def picking(self) -> str | None:
        return self.focused.view.picking if self.focused is not None else None

    def frame_size(self) -> tuple[int, int] | None:
        return self.focused.view.frame_size() if self.focused is not None else None

    def set_guide(self, region: tuple[float, float, float, float] | None, label: str = "") -> None:
        """Draws a guide over the focused tile's video (see VideoView.set_guide); it moves with the focus."""
        self._guide = None if region is None else (region, label)
        self._show_guide()

    def _show_guide(self) -> None:
        for tile in self.tiles:
            tile.view.set_guide(*(self._guide if self._guide is not None and tile is self.focused else (None,)))

    # -- every tile --------------------------------------------------------------------
    def set_overlays(self, on: bool) -> None:
        self.overlays = on
        for tile in self.tiles:
            tile.set_overlays(on)

    def set_realtime(self, realtime: bool) -> None:
        """The pacing of files opened from now on."""
        self.realtime = realtime
        for tile in self.tiles:
            tile.session.realtime = realtime

    def setup(self, name: str) -> WallSetup:
        """The wall as a layout (each tile's ``spec`` as stored: the window stores the editor's first)."""
        tiles = [TileSetup(tile.source, tile.spec) for tile in self.tiles]
        return WallSetup(name, self.rows, self.cols, self.shared, tiles)

    # -- shutdown ---------------------------------------------------------------------
    def _retire(self, tile: WallTile) -> None:
        self.grid.removeWidget(tile)
        tile.hide()
        tile.session.close_engine()
        self._retired.append(tile)
        self._reaper.start()

    def _reap(self) -> None:
        """Forgets retired tiles whose engines have finished (and whose recordings are finalised)."""
        for tile in list(self._retired):
            if tile.session.shutdown(0.0):
                self._retired.remove(tile)
                tile.deleteLater()
        if not self._retired:
            self._reaper.stop()

    def shutdown(self, timeout: float = 15.0) -> bool:
        """Stops every engine at once, then waits for all (at exit, so recordings are finalised); True if all stopped."""
        self._reaper.stop()
        tiles = self.tiles + self._retired
        for tile in tiles:
            tile.session.close_engine()  # all asked first: they wind down side by side
        deadline = time.monotonic() + timeout
        return all([tile.session.shutdown(max(0.0, deadline - time.monotonic())) for tile in tiles])
