"""One tile of the wall: a source with its own engine and pipeline, its view, and a caption saying how it is.

Each tile has its own :class:`~vision_desk.gui.bridge.FrameBridge` and
:class:`~vision_desk.gui.session.EngineSession`, so its engine thread hands
frames only to it (newest wins) and a source that hangs, fails or reconnects
holds up nothing but its own tile. Models are shared between tiles by the
stages' own model cache, not here.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from vision_desk.engine.frame import Frame
from vision_desk.engine.pipeline import Pipeline, PipelineSpec
from vision_desk.engine.stats import StatsSnapshot
from vision_desk.engine.uri import mask_uri, mask_uris_in
from vision_desk.gui.bridge import FrameBridge
from vision_desk.gui.monitor import format_rate
from vision_desk.gui.preload import preloader
from vision_desk.gui.session import EngineSession
from vision_desk.gui.video_view import VideoView

EMPTY_HINT = "Click here, then choose a source above."
FOCUS_COLOUR = QColor(61, 123, 217)
FRAME_COLOUR = QColor(40, 42, 46)
#: The colour of the dot before each state in the caption.
STATE_COLOURS = {"running": "#3cba54", "connecting": "#f4a000", "reconnecting": "#f4a000", "paused": "#aab0b8",
                 "ended": "#aab0b8", "failed": "#ff5c5c", "empty": "#6b7078"}


class WallTile(QWidget):
    """A source, its pipeline and engine, shown in a video view with a caption (state, fps, latency).

    Signals:
        clicked(tile): a click on the tile (the wall focuses it).
        double_clicked(tile): a double click (the window shows the tile full screen).
    """

    clicked = Signal(object)
    double_clicked = Signal(object)

    def __init__(self, number: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("wallTile")
        self.number = number
        self.source = ""  # as the user typed it, credentials too (a layout needs them); shown only masked
        self.spec = PipelineSpec("none")  # what the tile runs; the editor holds the newer one while the tile is focused
        self.pipeline: Pipeline | None = None
        self.error = ""
        self.last_frame: Frame | None = None
        self.frames_shown = 0
        self.overlays = True
        self.focused = False
        self.decorated = True
        self.bridge = FrameBridge(self)
        self.session = EngineSession(self.bridge, self)
        self.view = VideoView()
        self.view.setMinimumSize(160, 90)
        self.view.clear(EMPTY_HINT)
        self.caption = QLabel()
        self.caption.setObjectName("tileCaption")
        self.caption.setTextFormat(Qt.TextFormat.RichText)
        # Ignored: a long source name is cut at the tile's edge instead of widening the tile
        self.caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.caption.setStyleSheet("background: #16181b; color: #d0d4da; padding: 2px 6px;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(0)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.caption)
        self.bridge.connect_view(self._on_frame_ready)
        self.session.stats.connect(self._on_stats)
        self.session.ended.connect(self._on_ended)
        self.view.double_clicked.connect(lambda: self.double_clicked.emit(self))
        self._set_caption("empty")

    # -- source ---------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The source as shown: masked."""
        return mask_uri(self.source)

    def open(self, uri: str, spec: PipelineSpec, start_at: int | None = None) -> Pipeline:
        """Runs ``uri`` through a new pipeline built from ``spec``; raises VisionDeskError for a bad URI (and keeps
        what ran before)."""
        pipeline = self.session.open(uri, spec, start_at)
        self.source, self.spec, self.pipeline, self.error = uri, spec, pipeline, ""
        if not start_at:
            # a new source: the previous source's frame is no longer what the tile shows
            self.last_frame = None
            self.view.clear(f"Opening {self.name} ...")
        self._set_caption("connecting")
        return pipeline

    def fail(self, uri: str, spec: PipelineSpec, message: str) -> None:
        """Shows a source that could not be opened (from a layout): kept, so the layout still names it."""
        self.close()
        self.source, self.spec, self.error = uri, spec, mask_uris_in(message)
        self.view.clear(self.error)
        self._set_caption("failed", self.error)

    def close(self) -> None:
        """Stops the engine without waiting (it finalises its recording on its own thread); the tile is empty."""
        self.session.close_engine()
        self.source, self.pipeline, self.error, self.last_frame = "", None, "", None
        self.view.clear(EMPTY_HINT)
        self._set_caption("empty")

    # -- frames ---------------------------------------------------------------------
    def _on_frame_ready(self) -> None:
        frame = self.bridge.take()
        if frame is None:
            return
        self.last_frame = frame
        self.frames_shown += 1
        self.show_frame()
        if not preloader.started:
            # The first frame is up: import torch & co. now, not when the user adds a stage (see gui/preload.py).
            preloader.start()

    def show_frame(self) -> None:
        """Shows the newest frame, with or without overlays."""
        frame = self.last_frame
        if frame is not None:
            self.view.set_frame(frame.display if self.overlays else frame.image)

    def set_overlays(self, on: bool) -> None:
        self.overlays = on
        self.show_frame()

    # -- state ----------------------------------------------------------------------
    def state(self) -> str:
        """The tile's state in a word: empty, connecting, running, reconnecting, paused, ended or failed."""
        if self.error:
            return "failed"
        if not self.source:
            return "empty"
        s = self.session.last_stats
        if s is None:
            return "connecting"
        if self.session.paused and not self.session.at_end:
            return "paused"
        return s.source_state or "connecting"

    def _on_stats(self, s: StatsSnapshot) -> None:
        state = self.state()
        if state in ("running", "paused", "ended"):
            rate = format_rate(s.fps_out)  # "12.5", or "1 frame per 2.7 s" for slow pipelines
            detail = f"{rate if 'per' in rate else rate + ' fps'} · {s.latency_ms:.0f} ms"
        else:
            detail = self.error or (s.source_message if state in ("connecting", "reconnecting", "failed") else "")
        self._set_caption(state, detail)

    def _on_ended(self, error: str) -> None:
        if error:
            self.error = mask_uris_in(error)
            # Always in the view too: centred where no frame came, over the last frame otherwise.
            self.view.set_message(self.error)
            self._set_caption("failed", self.error)

    def caption_text(self) -> str:
        """The caption as plain text (what the user reads under the tile)."""
        return self.caption.toolTip()

    def _set_caption(self, state: str, detail: str = "") -> None:
        name = self.name or "no source"
        text = " · ".join(part for part in (f"{self.number}  {name}", state, mask_uris_in(detail)) if part)
        dot = f"<span style='color:{STATE_COLOURS.get(state, '#aab0b8')}'>&#9679;</span>"
        self.caption.setText(f"{dot} {html.escape(text)}")
        self.caption.setToolTip(text)

    # -- focus and mouse ------------------------------------------------------------
    def set_focused(self, focused: bool) -> None:
        self.focused = focused
        self.update()

    def set_decorated(self, decorated: bool) -> None:
        """The caption and the focus frame: on walls of several tiles (one tile is the plain single view)."""
        self.decorated = decorated
        self.caption.setVisible(decorated)
        self.update()
        self.layout().setContentsMargins(*([2] * 4 if decorated else [0] * 4))

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.fillRect(self.rect(), FOCUS_COLOUR if self.focused and self.decorated else FRAME_COLOUR)
        painter.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        # A click on the video reaches here too: the view passes on clicks it does not use for picking.
        self.clicked.emit(self)
        event.accept()
