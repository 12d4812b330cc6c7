"""The source bar: demo, cameras by name, files, folders, stream URLs, web videos, the screen and recent sources.

Everything ends in one signal, ``source_chosen(uri)``, with a URI in the
engine's syntax (:mod:`vision_desk.engine.uri`). Stream and web URLs are shown
with their credentials masked; the full URL is kept only in the recent lists.
"""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QLabel, QMenu, QToolBar,
                               QToolButton, QVBoxLayout, QWidget)

from vision_desk.engine.uri import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, mask_uri, web_uri
from vision_desk.gui.settings import Settings

#: The recent lists: sources opened, and the URLs the Stream and Web video dialogs offer again.
RECENT_LISTS = ("sources", "urls", "web")
MEDIA_FILTER = (
    "Videos and images (" + " ".join(f"*{e}" for e in sorted(VIDEO_EXTENSIONS | IMAGE_EXTENSIONS)) + ");;All files (*)"
)


def camera_index(device_id: bytes | str, position: int) -> int:
    """The OpenCV index of a camera: the N of /dev/videoN on Linux, else its position in Qt's list."""
    text = device_id.decode(errors="replace") if isinstance(device_id, (bytes, bytearray)) else str(device_id)
    match = re.search(r"video(\d+)$", text)
    return int(match.group(1)) if match else position


def list_cameras() -> list[tuple[str, int, list[tuple[int, int, float]]]]:
    """(name, index, [(width, height, fps) ...]) for every camera Qt Multimedia sees."""
    try:
        from PySide6.QtMultimedia import QMediaDevices
    except ImportError:  # PySide6-Essentials has no QtMultimedia
        return []
    cameras = []
    for position, device in enumerate(QMediaDevices.videoInputs()):
        formats = {(f.resolution().width(), f.resolution().height(), round(f.maxFrameRate(), 2)) for f in device.videoFormats()}
        ordered = sorted((f for f in formats if f[0] > 0), key=lambda f: (-f[0] * f[1], -f[2]))
        cameras.append((device.description(), camera_index(device.id().data(), position), ordered))
    return cameras


def camera_uri(index: int, width: int | None = None, height: int | None = None, fps: float | None = None) -> str:
    if not width:
        return f"cam:{index}"
    return f"cam:{index}?width={width}&height={height}&fps={fps:g}"


#: The Web video dialog's qualities: (label, most lines; 0 for the best the site offers).
WEB_QUALITIES = (("Best offered", 0), ("2160p (4K)", 2160), ("1440p", 1440), ("1080p", 1080), ("720p", 720),
                 ("480p", 480), ("360p", 360))


class StreamDialog(QDialog):
    """Asks for a stream URL; recent URLs are offered with their credentials masked."""

    title = "Open stream"
    prompt = "Stream URL (RTSP, RTMP, HTTP, HLS ...):"
    placeholder = "rtsp://user:password@camera/stream  or  http(s)://..."

    def __init__(self, recent: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.title)
        self.combo = QComboBox()
        self.combo.setEditable(True)
        # Enter must not add the typed URL as an item: it would have no URL behind it (see url()).
        self.combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.combo.setMinimumWidth(460)
        for url in recent:
            self.combo.addItem(mask_uri(url), url)
        self.combo.setCurrentIndex(-1)
        self.combo.lineEdit().setPlaceholderText(self.placeholder)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.column = QVBoxLayout(self)
        self.column.addWidget(QLabel(self.prompt))
        self.column.addWidget(self.combo)
        self.column.addWidget(self.buttons)

    def url(self) -> str:
        """The full URL: a recent entry's real URL when its masked text was left as is."""
        text = self.combo.currentText().strip()
        index = self.combo.findText(text)
        return (self.combo.itemData(index) if index >= 0 else None) or text


class WebVideoDialog(StreamDialog):
    """Asks for a web video (a YouTube or other page, an HLS playlist) and the most lines to read it at."""

    title = "Open web video"
    prompt = "Page of a video (YouTube or any site yt-dlp supports) or an .m3u8 playlist:"
    placeholder = "https://www.youtube.com/watch?v=..."

    def __init__(self, recent: list[str], height: int = 720, parent: QWidget | None = None) -> None:
        super().__init__(recent, parent)
        self.quality = QComboBox()
        for label, lines in WEB_QUALITIES:
            self.quality.addItem(label, lines)
        self.quality.setCurrentIndex(max(0, self.quality.findData(height)))
        self.quality.setToolTip("The highest rendition up to this height; the smallest one when the site offers none that small.\n"
                                "Lower is lighter to decode and to process.")
        row = QFormLayout()
        row.addRow("Quality", self.quality)
        self.column.insertLayout(2, row)

    @property
    def height(self) -> int:
        """The chosen most lines; 0 for the best offered."""
        return int(self.quality.currentData())

    def uri(self) -> str:
        """The source URI: ``web:URL`` with the chosen height."""
        return web_uri(self.url(), self.height)


class SourceBar(QToolBar):
    """Tool bar of source choices.

    Signals:
        source_chosen(uri): the user picked a source.
    """

    source_chosen = Signal(str)

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__("Source", parent)
        self.setObjectName("sourceBar")
        self.settings = settings
        self.demo_action = self.addAction("Demo", lambda: self.source_chosen.emit("demo:"))
        self.demo_action.setToolTip("The built-in demo scene (real photos, gently moving)")
        self.camera_menu = QMenu("Camera", self)
        self.camera_menu.aboutToShow.connect(self._fill_cameras)
        self._menu_button("Camera", self.camera_menu, "Webcams by name, with resolution and frame rate")
        self.file_action = self.addAction("File...", self.ask_file)
        self.file_action.setToolTip("Open a video or image file (Ctrl+O)")
        self.folder_action = self.addAction("Folder...", self.ask_folder)
        self.folder_action.setToolTip("Open a folder of images")
        self.stream_action = self.addAction("Stream...", self.ask_stream)
        self.stream_action.setToolTip("Open an RTSP, RTMP or HTTP stream")
        self.web_action = self.addAction("Web video...", self.ask_web_video)
        self.web_action.setToolTip("Open a YouTube video, a video on any page yt-dlp supports, or an HLS (.m3u8) playlist")
        self.screen_menu = QMenu("Screen", self)
        self.screen_menu.aboutToShow.connect(self._fill_screens)
        self._menu_button("Screen", self.screen_menu, "Capture the screen")
        self.recent_menu = QMenu("Recent", self)
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self._menu_button("Recent", self.recent_menu, "Sources opened before")
        self.label = QLabel()
        self.label.setObjectName("sourceLabel")
        self.addWidget(self.label)

    def _menu_button(self, text: str, menu: QMenu, tip: str) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.setMenu(menu)
        button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.addWidget(button)
        return button

    def show_source(self, uri: str, tile: int | None = None) -> None:
        """Shows the current source masked; on a wall, the focused ``tile``'s number before it."""
        self.label.setText(f"{'Source' if tile is None else f'Tile {tile}'}: {mask_uri(uri) or '-'}")

    # -- menus ---------------------------------------------------------------------
    def _fill_cameras(self) -> None:
        self.camera_menu.clear()
        cameras = list_cameras()
        if not cameras:
            action = self.camera_menu.addAction("No cameras found")
            action.setEnabled(False)
        for name, index, formats in cameras:
            sub = self.camera_menu.addMenu(f"{name}  (cam:{index})")
            sub.addAction("Default format", lambda i=index: self.source_chosen.emit(camera_uri(i)))
            sub.addSeparator()
            for w, h, fps in formats[:24]:
                sub.addAction(f"{w} x {h} @ {fps:g} fps", lambda i=index, w=w, h=h, f=fps: self.source_chosen.emit(camera_uri(i, w, h, f)))
        self.camera_menu.addSeparator()
        self.camera_menu.addAction("Camera by index...", self._ask_camera_index)

    def _ask_camera_index(self) -> None:
        from PySide6.QtWidgets import QInputDialog

        index, ok = QInputDialog.getInt(self, "Open camera", "Camera index:", 0, 0, 63)
        if ok:
            self.source_chosen.emit(camera_uri(index))

    def _fill_screens(self) -> None:
        self.screen_menu.clear()
        screens = QGuiApplication.screens()
        for i, screen in enumerate(screens, start=1):
            geo = screen.geometry()
            self.screen_menu.addAction(f"Screen {i}: {screen.name()} ({geo.width()} x {geo.height()})",
                                       lambda i=i: self.source_chosen.emit(f"screen:{i}"))
        if len(screens) > 1:
            self.screen_menu.addAction("All screens", lambda: self.source_chosen.emit("screen:0"))
        if not screens:
            self.screen_menu.addAction("Primary screen", lambda: self.source_chosen.emit("screen:"))

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        recent = self.settings.recent("sources")
        for uri in recent:
            action: QAction = self.recent_menu.addAction(mask_uri(uri), lambda u=uri: self.source_chosen.emit(u))
            action.setToolTip(mask_uri(uri))
        if not recent:
            self.recent_menu.addAction("No recent sources").setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear recent sources", self.clear_recent)

    def clear_recent(self) -> None:
        """Forgets every recent source, and the stream and web URLs the dialogs offer (passwords with them)."""
        for key in RECENT_LISTS:
            self.settings.clear_recent(key)
        self.settings.sync()

    # -- dialogs -------------------------------------------------------------------
    def ask_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open video or image", self.settings.last_dir, MEDIA_FILTER)
        if path:
            self.settings.last_dir = str(Path(path).parent)
            self.source_chosen.emit(path)

    def ask_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a folder of images", self.settings.last_dir)
        if path:
            self.settings.last_dir = path
            self.source_chosen.emit(path)

    def ask_stream(self) -> None:
        dialog = StreamDialog(self.settings.recent("urls"), self)
        if dialog.exec() == QDialog.DialogCode.Accepted and dialog.url():
            self.settings.add_recent("urls", dialog.url())
            self.source_chosen.emit(dialog.url())

    def ask_web_video(self) -> None:
        dialog = WebVideoDialog(self.settings.recent("web"), self.settings.web_height, self)
        if dialog.exec() == QDialog.DialogCode.Accepted and dialog.url():
            self.settings.add_recent("web", dialog.url())
            self.settings.web_height = dialog.height
            self.source_chosen.emit(dialog.uri())
