"""The main window: source bar, the wall of video tiles, pipeline editor, monitor, teach panel, output and batch.

The video area is a :class:`~vision_desk.gui.wall.Wall`; the single-source view
is a 1 x 1 wall. The editor, monitor, playback bar, record, snapshot and export
act on the focused tile: ``session``, ``view`` and ``last_frame`` are its.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, QUrl
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (QApplication, QDockWidget, QInputDialog, QLabel, QMainWindow, QToolBar, QToolButton,
                               QVBoxLayout, QWidget)

from vision_desk.engine.pipeline import PipelineSpec
from vision_desk.engine.stats import StatsSnapshot
from vision_desk.errors import VisionDeskError
from vision_desk.gui.about import show_about
from vision_desk.gui.batch_dialog import BatchDialog
from vision_desk.gui.enrol import NO_FACE, NO_STAGE, FaceEnroller, face_at, faces_params
from vision_desk.gui.loop_probe import LoopProbe
from vision_desk.gui.models_dialog import ModelsDialog, with_gui_hint
from vision_desk.gui.monitor import MonitorPanel
from vision_desk.gui.output import OutputControls
from vision_desk.gui.pipeline_editor import PipelineEditor
from vision_desk.gui.playback import PlaybackBar
from vision_desk.gui.preferences import PreferencesDialog
from vision_desk.gui.settings import Settings
from vision_desk.gui.source_bar import SourceBar
from vision_desk.gui.teach_panel import TeachPanel
from vision_desk.gui.theme import apply_theme
from vision_desk.gui.wall import Wall
from vision_desk.gui.wall_menu import WallMenu
from vision_desk.gui.wall_tile import WallTile
from vision_desk.gui.wall_window import WallWindow

PIPELINE_SUFFIXES = (".yaml", ".yml")


class MainWindow(WallWindow, QMainWindow):
    """Vision Desk's window. Opens ``source`` (if any) through ``spec`` as soon as it is built."""

    def __init__(self, settings: Settings, source: str | None = "demo:", spec: PipelineSpec | None = None) -> None:
        super().__init__()
        self.setWindowTitle("Vision Desk")
        self.setObjectName("mainWindow")
        self.setAcceptDrops(True)
        self.settings = settings
        self.enroller = FaceEnroller(self)
        self._batch: BatchDialog | None = None
        self._models: ModelsDialog | None = None
        self._fullscreen_state: QByteArray | None = None
        self._source_said = ""  # what the status bar last said of the focused source's state (see _on_stats)

        self.wall = Wall()
        self.wall.realtime = settings.realtime
        self.playback = PlaybackBar()
        self.playback.set_realtime(settings.realtime)
        self.playback.hide()
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.wall, 1)
        layout.addWidget(self.playback)
        self.setCentralWidget(central)

        self.editor = PipelineEditor(picker=self.wall)  # picks happen on the focused tile
        self.editor.last_dir = settings.last_dir
        self.monitor = MonitorPanel()
        self.loop_probe = LoopProbe(parent=self)
        self.loop_probe.start()
        self.monitor.watch(self.loop_probe)
        self.editor_dock = self._dock("Pipeline", "pipelineDock", self.editor, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.monitor_dock = self._dock("Monitor", "monitorDock", self.monitor, Qt.DockWidgetArea.RightDockWidgetArea)
        self.teach = TeachPanel(lambda: self.last_frame, self.wall, self.editor, settings)
        self.teach_dock = self._dock("Teach", "teachDock", self.teach, Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.monitor_dock, self.teach_dock)
        self.teach_dock.hide()  # until Teach... (or a saved layout) shows it

        self.source_bar = SourceBar(settings, self)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.source_bar)
        self.output = OutputControls(settings, lambda: self.session, lambda: [t.session for t in self.wall.tiles],
                                     self.shown_image, self)
        self._build_actions()
        self._build_status_bar()
        self._build_menus()
        self._connect()
        self.apply_theme(settings.theme)
        self.resize(1500, 900)
        geometry, state = settings.window_state()
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is None or not self.restoreState(state):
            self.resizeDocks([self.editor_dock, self.monitor_dock], [340, 330], Qt.Orientation.Horizontal)
        self.wall.tile_added.connect(self._adopt)
        self.wall.focus_changed.connect(self._on_focus_changed)
        self.wall.tile_double_clicked.connect(self.toggle_solo)
        self.wall.set_grid(1, 1)
        self.editor.set_spec(spec or PipelineSpec("none"))
        if source:
            self.open_source(source)

    # -- construction ------------------------------------------------------------------
    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setMinimumWidth(300)
        self.addDockWidget(area, dock)
        return dock

    def _action(self, text: str, slot, shortcut: str | None = None, tip: str = "", checkable: bool = False) -> QAction:  # noqa: ANN001
        action = QAction(text, self, checkable=checkable)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(f"{tip} ({shortcut})" if shortcut and tip else tip or text)
        action.setStatusTip(tip)
        (action.toggled if checkable else action.triggered).connect(slot)
        self.addAction(action)  # shortcuts work even when tool bars are hidden (fullscreen)
        return action

    def _build_actions(self) -> None:
        self.pause_action = self._action("Pause", self.toggle_pause, "Space", "Pause or resume")
        self.step_action = self._action("Step", lambda: self.session.step(), ".", "Process one more frame while paused")
        self.overlay_action = self._action("Overlays", self.wall.set_overlays, "O", "Show or hide overlays", checkable=True)
        self.overlay_action.setChecked(True)
        self.fullscreen_action = self._action("Fullscreen", self.toggle_fullscreen, "F", "Video fullscreen")
        self.exit_fullscreen_action = self._action("Exit fullscreen", self.exit_fullscreen, "Esc")
        self.exit_fullscreen_action.setEnabled(False)
        self.open_action = self._action("Open file...", self.source_bar.ask_file, "Ctrl+O", "Open a video or image")
        self.quit_action = self._action("Quit", self.close, "Ctrl+Q", "Quit Vision Desk")
        self.batch_action = self._action("Batch...", self.show_batch, "Ctrl+B", "Process a folder of files")
        self.models_action = self._action("Models...", self.show_models, "", "See which models are downloaded and download more")
        self.teach_action = self._action("Teach...", self.show_teach, "Ctrl+T",
                                         "Capture your own classes from the video and train a classifier on them")
        self.enrol_action = self._action("Enrol face...", self.enrol_face, "E", "Click a face on the video and name it in the face gallery")
        for action in (self.output.record_action, self.output.record_all_action, self.output.snapshot_action):
            self.addAction(action)
        self.wall_menu = WallMenu(self)
        bar = QToolBar("Output", self)
        bar.setObjectName("outputBar")
        bar.addAction(self.pause_action)
        bar.addAction(self.output.record_action)
        bar.widgetForAction(self.output.record_action).setObjectName("recordButton")
        for action in (self.output.snapshot_action, self.output.export_action, self.overlay_action, self.fullscreen_action,
                       self.batch_action, self.wall_menu.menuAction()):
            bar.addAction(action)
        wall_button = bar.widgetForAction(self.wall_menu.menuAction())
        wall_button.setObjectName("wallButton")
        wall_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self.output_bar = bar

    def _build_menus(self) -> None:
        menu = self.menuBar().addMenu("&File")
        menu.addAction(self.open_action)
        menu.addAction(self.source_bar.folder_action)
        menu.addAction(self.source_bar.stream_action)
        menu.addAction(self.source_bar.demo_action)
        menu.addSeparator()
        menu.addAction("Load pipeline...", self.editor.ask_load)
        menu.addAction("Save pipeline...", self.editor.ask_save)
        menu.addSeparator()
        menu.addAction(self.batch_action)
        menu.addAction(self.models_action)
        menu.addAction(self.teach_action)
        menu.addAction("Preferences...", self.show_preferences)
        menu.addSeparator()
        menu.addAction(self.quit_action)
        menu = self.menuBar().addMenu("&Playback")
        for action in (self.pause_action, self.step_action, self.output.record_action, self.output.snapshot_action,
                       self.output.export_action):
            menu.addAction(action)
        menu = self.menuBar().addMenu("&View")
        for action in (self.overlay_action, self.fullscreen_action, self.editor_dock.toggleViewAction(),
                       self.monitor_dock.toggleViewAction(), self.teach_dock.toggleViewAction()):
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction("Dark theme", lambda: self.set_theme("dark"))
        menu.addAction("Light theme", lambda: self.set_theme("light"))
        self.menuBar().addMenu(self.wall_menu)
        menu = self.menuBar().addMenu("F&aces")
        menu.addAction(self.enrol_action)
        menu = self.menuBar().addMenu("&Help")
        menu.addAction("Open output folder", lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.settings.output_dir))))
        menu.addAction("About Vision Desk", lambda: show_about(self))

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.state_label = QLabel("-")
        self.device_label = QLabel("-")
        bar.addPermanentWidget(self.output.label)
        bar.addPermanentWidget(self.state_label)
        bar.addPermanentWidget(self.device_label)

    def _connect(self) -> None:
        self.output.message.connect(self.show_message)
        self.editor.message.connect(self.show_message)
        self.teach.message.connect(self.show_message)
        self.editor.spec_changed.connect(self._redraw_paused)
        self.editor.source_requested.connect(self.open_source)  # a pipeline file's source: key
        self.source_bar.source_chosen.connect(self.open_source)
        self.playback.play_pause.connect(self.toggle_pause)
        self.playback.step.connect(lambda: self.session.step())
        self.playback.seek.connect(self.seek)
        self.playback.speed_changed.connect(self.set_realtime)

    # -- sources -------------------------------------------------------------------------
    def open_source(self, uri: str, start_at: int | None = None) -> bool:
        """Runs ``uri`` on the focused tile through the editor's pipeline; a bad URI is reported in the status bar."""
        try:
            self.tile.open(uri, self.editor.spec(), start_at)
        except VisionDeskError as err:
            self.show_message(str(err))
            return False
        self._attach_editor()
        self.monitor.reset()
        self.show_tile_source()
        self._source_said = ""
        self.state_label.setText("connecting")  # until the first statistics: never the last source's "failed"
        self.playback.setVisible(self.session.seekable)
        self.playback.configure(None, None)
        self.playback.set_playing(True)
        self.settings.add_recent("sources", uri)
        self.output.refresh()
        return True

    def toggle_pause(self) -> None:
        if not self.session.running:
            if self.session.uri:
                self.open_source(self.session.uri)  # play again from the start
            return
        if self.session.at_end:  # as in any player, play at the end plays the file again
            self.session.seek(0)
            self.session.resume()
        elif self.session.paused:
            self.session.resume()
        else:
            self.session.pause()
        self.playback.set_playing(not self.session.paused)
        self.state_label.setText("paused" if self.session.paused else "running")

    def seek(self, index: int) -> None:
        if self.session.running:
            self.session.seek(index)
        elif self.session.seekable:
            self.open_source(self.session.uri, start_at=index)

    def _redraw_paused(self) -> None:
        """A pipeline edit while a file is paused: process the shown frame again so the edit shows now.

        The engine applies edits at its next frame, which while paused only comes
        with a step; a user tuning a threshold on a paused frame saw nothing change.
        A seek to the shown frame processes exactly that frame once (stateful stages
        such as trackers start afresh, as on any seek).
        """
        frame = self.last_frame
        if frame is not None and self.session.running and self.session.paused and self.session.seekable:
            self.session.seek(frame.index)

    def set_realtime(self, realtime: bool) -> None:
        """Real time or as fast as possible; a running file restarts where it is with the new pacing."""
        self.settings.realtime = realtime
        self.wall.set_realtime(realtime)
        if self.session.running and self.session.seekable:
            stats = self.session.last_stats
            paused = self.session.paused
            self.open_source(self.session.uri, start_at=(stats.position + 1) if stats else None)
            if paused:
                self.toggle_pause()

    # -- statistics ----------------------------------------------------------------------
    def shown_image(self):  # noqa: ANN201 - np.ndarray | None
        return self.view.image()

    def _on_stats(self, tile: WallTile, s: StatsSnapshot) -> None:
        pipeline = tile.pipeline
        while pipeline is not None and pipeline.errors:
            self.show_message(self._about(tile, with_gui_hint(pipeline.errors.popleft())))
        if tile is not self.tile:
            return  # its own caption shows it
        self.monitor.update_stats(s)
        frame = self.last_frame
        if frame is not None:
            self.monitor.update_results(len(frame.detections), frame.values)
        self.editor.sync_rows(list(s.stages))
        state = "paused" if self.session.paused and not self.session.at_end else s.source_state
        self.state_label.setText(state)
        self.device_label.setText(s.device)
        if s.source_state in ("connecting", "reconnecting", "failed"):
            # a failed source's whole sentence (its tile keeps it), not the few words of its state; said once per
            # change, so that it does not cover every later message in the status bar
            text = (tile.error if s.source_state == "failed" else "") or s.source_message
            if text and text != self._source_said:
                self._source_said = text
                self.show_message(text)
        if self.session.seekable:
            engine = self.session.engine
            fps = engine.source.fps if engine is not None else None
            if fps and self.playback.fps != fps:
                self.playback.configure(s.total, fps)
            self.playback.show_position(s.position, s.total)

    def _on_ended(self, tile: WallTile, error: str) -> None:
        """A tile's run ended; the tile shows an error in its view itself."""
        if tile is not self.tile:
            if error:
                self.show_message(self._about(tile, error))
            return
        self.playback.set_playing(False)
        if error:
            self.show_message(tile.error or error)
        else:
            self.show_message(f"End of {tile.name}; press Space or Play to play it again.")

    def show_message(self, text: str) -> None:
        """One sentence in the status bar (errors stay longer)."""
        self.statusBar().showMessage(text, 15000)

    # -- faces ---------------------------------------------------------------------------
    def enrol_face(self) -> None:
        """Lets the user click a face on the video, asks a name, and enrols it in the faces stage's gallery."""
        if faces_params(self.editor.spec()) is None:
            self.show_message(NO_STAGE)
            return
        if self.enroller.busy:
            self.show_message("An enrolment is still running; try again in a moment.")
            return
        self.view.begin_pick("point", self._enrol_at)
        self.show_message("Click a face on the video to enrol it (Esc cancels).")

    def _enrol_at(self, point: tuple[int, int] | None) -> None:
        if point is None:
            self.show_message("Enrolment cancelled.")
            return
        params = faces_params(self.editor.spec())
        frame = self.last_frame
        box = face_at(frame.detections, point) if frame is not None else None
        if params is None or box is None:
            self.show_message(NO_FACE)
            return
        name, ok = QInputDialog.getText(self, "Enrol face", "Name of this person:")
        name = name.strip() if ok else ""
        if not name:
            self.show_message("Enrolment cancelled.")
            return
        from vision_desk.stages.faces.detect import faces_image  # the faces modules load only when a face is enrolled

        backend = params.get("backend") or "dlib"
        job = self.enroller.start(params.get("gallery") or None, name, faces_image(frame), box, backend)
        if job is None:  # checked before the pick too, but the name dialog ran the event loop meanwhile
            self.show_message("An enrolment is still running; try again in a moment.")
            return
        job.succeeded.connect(self.show_message)
        job.failed.connect(self.show_message)
        self.show_message(f"Enrolling {name} ...")

    # -- teach -------------------------------------------------------------------------
    def show_teach(self) -> TeachPanel:
        """Shows the Teach panel (Teach...), in front of the docks it shares a place with."""
        self.teach_dock.show()
        self.teach_dock.raise_()
        return self.teach

    # -- window -------------------------------------------------------------------------
    def apply_theme(self, name: str) -> None:
        app = QApplication.instance()
        applied = apply_theme(app, name) if app is not None else name
        self.monitor.set_dark(applied == "dark")
        self.teach.train.curves.set_dark(applied == "dark")

    def set_theme(self, name: str) -> None:
        self.settings.theme = name
        self.apply_theme(name)

    def toggle_fullscreen(self) -> None:
        if self.isFullScreen():
            self.exit_fullscreen()
            return
        self._fullscreen_state = self.saveState()
        for w in (self.editor_dock, self.monitor_dock, self.teach_dock, self.source_bar, self.output_bar, self.menuBar(), self.statusBar()):
            w.hide()
        self.exit_fullscreen_action.setEnabled(True)
        self.showFullScreen()

    def exit_fullscreen(self) -> None:
        if not self.isFullScreen():
            return
        self.exit_fullscreen_action.setEnabled(False)
        self.wall.solo(None)
        self.menuBar().show()
        self.statusBar().show()
        if self._fullscreen_state is not None:
            self.restoreState(self._fullscreen_state)
        self.showNormal()

    def show_preferences(self) -> None:
        dialog = PreferencesDialog(self.settings, self)
        if dialog.exec():
            dialog.apply()
            self.apply_theme(self.settings.theme)

    def show_models(self) -> ModelsDialog:
        """Opens File > Models..., with the first model a stopped stage waits for selected, ready to download."""
        if self._models is None:
            self._models = ModelsDialog(self)
            self._models.downloaded.connect(self._retry_stages_missing)
        self._models.refresh()
        waiting = [name for name in self.editor.awaited_models() if name in self._models.names()]
        if waiting:
            self._models.select(waiting[0])
        self._models.show()
        self._models.raise_()
        return self._models

    def _retry_stages_missing(self, model: str) -> None:
        """A model was downloaded: the stages that stopped for want of it start again."""
        restarted = [self.editor.spec().stages[i].stage for i in self.editor.retry_stages_missing(model)]
        if restarted:
            self.show_message(f"Downloaded {model}; stage {', '.join(restarted)} started again.")

    def show_batch(self) -> BatchDialog:
        if self._batch is None or not self._batch.running:
            self._batch = BatchDialog(self.editor.spec(), self.settings.output_dir, self, settings=self.settings)
        self._batch.show()
        self._batch.raise_()
        return self._batch

    # -- drag and drop ------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        if not paths:
            return
        event.acceptProposedAction()
        path = paths[0]
        if path.suffix.lower() in PIPELINE_SUFFIXES:
            self.editor.load_file(path)
        else:
            self.open_source(str(path))

    # -- shutdown -------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self.wall.cancel_pick()
        self.enroller.join(10.0)
        self.teach.shutdown(10.0)  # a training in progress is cancelled; nothing half-written is left
        if self.isFullScreen():
            self.exit_fullscreen()
        self.settings.save_window_state(self.saveGeometry(), self.saveState())
        self.settings.last_dir = self.editor.last_dir or self.settings.last_dir
        self.settings.sync()
        if self._batch is not None:
            self._batch.shutdown(10.0)
        if self._models is not None:
            self._models.close()  # a download in progress is cancelled and its partial file removed
        if not self.wall.shutdown(15.0):  # every tile's engine, so every recording is finalised
            self.show_message("Some work did not stop in time; it is abandoned.")
        event.accept()
