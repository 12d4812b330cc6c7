"""The window's side of the wall: the panels follow the focused tile, and the wall's grid and one-pipeline switch.

:class:`WallWindow` is mixed into :class:`~vision_desk.gui.main_window.MainWindow`:
``session``, ``view`` and ``last_frame`` are the focused tile's, so what acted
on the single source acts on the focused tile, and the editor is pointed at
the tile's pipeline (at every tile's, through :class:`MirroredPipeline`, when
one pipeline serves all).
"""

from __future__ import annotations

import copy

from vision_desk.gui.session import EngineSession
from vision_desk.gui.shared_pipeline import MirroredPipeline
from vision_desk.gui.video_view import VideoView
from vision_desk.gui.wall_tile import WallTile


class WallWindow:
    """Mixin of the main window (``self`` is the :class:`MainWindow`, with its wall, editor, monitor and output)."""

    @property
    def tile(self) -> WallTile:
        """The focused tile: what the editor, monitor, playback, record and snapshot act on."""
        return self.wall.focused

    @property
    def session(self) -> EngineSession:
        return self.wall.focused.session

    @property
    def view(self) -> VideoView:
        return self.wall.focused.view

    @property
    def last_frame(self):  # noqa: ANN201 - Frame | None
        return self.wall.focused.last_frame

    @property
    def frames_shown(self) -> int:
        return self.wall.focused.frames_shown

    # -- tiles and focus ---------------------------------------------------------------
    def _adopt(self, tile: WallTile) -> None:
        """A new tile: its engine's statistics, end and messages reach the window (the focused one's drive the panels)."""
        tile.session.stats.connect(lambda s, t=tile: self._on_stats(t, s))
        tile.session.ended.connect(lambda error, t=tile: self._on_ended(t, error))
        tile.session.message.connect(lambda text, t=tile: self.show_message(self._about(t, text)))
        self.output.watch(tile.session)

    def _about(self, tile: WallTile, text: str) -> str:
        """A message of a tile other than the focused one says which tile it is about."""
        return text if tile is self.tile else f"Tile {tile.number} ({tile.name or 'empty'}): {text}"

    def store_specs(self, focused: WallTile | None = None) -> None:
        """Writes the editor's pipeline into the focused tile, or ``focused`` as it was (every tile when one pipeline
        serves all): tiles hold their pipeline while the editor shows another's."""
        spec = self.editor.spec()
        for tile in self.wall.tiles if self.wall.shared else [focused or self.tile]:
            tile.spec = copy.deepcopy(spec)

    def _on_focus_changed(self, old: WallTile | None, _new: WallTile) -> None:
        if old is not None:
            self.store_specs(old)
        self.refocus()

    def refocus(self) -> None:
        """Points the editor, monitor, playback bar and output at the focused tile as it is now."""
        tile = self.tile
        self.editor.retarget(tile.spec, None)
        self._attach_editor()
        self.monitor.reset()
        self.show_tile_source()
        self._source_said = ""
        self.state_label.setText(tile.state())
        self.playback.setVisible(tile.session.seekable)
        self.playback.configure(None, None)
        self.playback.set_playing(not tile.session.paused)
        if tile.session.last_stats is not None:
            self._on_stats(tile, tile.session.last_stats)
        self.output.refresh()

    def show_tile_source(self) -> None:
        """The focused tile's source in the source bar (with its number on a wall of several)."""
        tile = self.tile
        self.source_bar.show_source(tile.source, tile.number if len(self.wall.tiles) > 1 else None)

    def _attach_editor(self) -> None:
        """The editor edits the focused tile's pipeline, and every tile's when one pipeline serves all."""
        tile = self.tile
        pipeline = tile.pipeline
        if pipeline is not None and self.wall.shared:
            pipeline = MirroredPipeline(pipeline, [t.pipeline for t in self.wall.tiles if t is not tile and t.pipeline is not None])
        self.editor.attach(pipeline)

    def set_grid(self, rows: int, cols: int) -> None:
        """Resizes the wall; tiles past the new end stop (their recordings are finalised)."""
        self.store_specs()
        self.wall.set_grid(rows, cols)
        if self.wall.shared:
            self.store_specs()  # new tiles run the one pipeline too
        self._attach_editor()
        self.show_tile_source()
        self.output.refresh()

    def set_shared_pipeline(self, shared: bool) -> None:
        """One pipeline for all tiles (the focused tile's, from now on), or each tile its own."""
        self.wall.shared = shared
        if shared:
            spec = self.editor.spec()
            for tile in self.wall.tiles:
                tile.spec = copy.deepcopy(spec)
                if tile is not self.tile and tile.pipeline is not None:
                    tile.pipeline.replace(spec)
        self._attach_editor()
        self.wall_menu.sync()
        self.show_message("Every tile now runs the pipeline in the editor." if shared else
                          "Each tile now has its own pipeline: click a tile to edit it.")

    def toggle_solo(self, tile: WallTile) -> None:
        """A double-clicked tile: alone and full screen; double-click (or Esc) again for the whole wall."""
        if self.isFullScreen():
            self.exit_fullscreen()
            return
        self.wall.focus(tile)
        self.wall.solo(tile)
        self.toggle_fullscreen()
