"""Shortcuts, drag and drop, settings, sources, themes, About and the error dialog."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from vision_desk.engine.uri import mask_uri
from vision_desk.errors import SourceError
from vision_desk.gui.about import library_versions
from vision_desk.gui.errors import ExceptionDialogHook, one_sentence
from vision_desk.gui.settings import Settings
from vision_desk.gui.source_bar import StreamDialog, camera_index, camera_uri


def test_space_pauses_and_f_goes_fullscreen(qtbot, window) -> None:
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert window.session.paused
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert not window.session.paused
    qtbot.keyClick(window, Qt.Key.Key_F)
    assert window.isFullScreen() and not window.editor_dock.isVisible()
    qtbot.keyClick(window, Qt.Key.Key_F)
    assert not window.isFullScreen() and window.editor_dock.isVisible() and window.source_bar.isVisible()
    shortcuts = {a.shortcut().toString() for a in window.actions()}
    assert {"Space", "R", "S", "F", "Ctrl+O", "Ctrl+Q"} <= shortcuts


def test_dropping_a_file_opens_it_and_a_yaml_loads_it(qtbot, window, small_clip, tmp_path) -> None:
    def drop(path) -> None:  # noqa: ANN001
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(path))])
        buttons, modifiers = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
        enter = QDragEnterEvent(QPoint(20, 20), Qt.DropAction.CopyAction, mime, buttons, modifiers)
        QApplication.sendEvent(window, enter)
        assert enter.isAccepted()
        QApplication.sendEvent(window, QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime, buttons, modifiers))

    drop(small_clip)
    assert window.session.uri == str(small_clip) and window.playback.isVisible()
    qtbot.waitUntil(lambda: window.last_frame is not None and window.last_frame.source_id.endswith("small40.mp4"),
                    timeout=20000)
    pipeline = tmp_path / "sketchy.yaml"
    pipeline.write_text("name: sketchy\nstages:\n  - stage: sketch\n")
    drop(pipeline)
    assert window.editor.spec().name == "sketchy"
    assert str(small_clip) in window.settings.recent("sources")


def test_settings_persist_between_runs(tmp_path) -> None:
    path = str(tmp_path / "s.ini")
    first = Settings(QSettings(path, QSettings.Format.IniFormat))
    first.theme = "light"
    first.record_annotated = False
    first.realtime = False
    for uri in ("demo:", "rtsp://bob:secret@cam/1", "demo:"):
        first.add_recent("sources", uri)
    first.sync()
    again = Settings(QSettings(path, QSettings.Format.IniFormat))
    assert (again.theme, again.record_annotated, again.realtime) == ("light", False, False)
    assert again.recent("sources") == ["demo:", "rtsp://bob:secret@cam/1"]


def test_the_settings_file_keeping_stream_passwords_is_the_users_alone(tmp_path, permissive_umask) -> None:
    """Recent URLs are stored whole (so a camera reopens from the menu): the file is 0600 whatever the umask."""
    path = tmp_path / "new-folder" / "s.ini"
    first = Settings(QSettings(str(path), QSettings.Format.IniFormat))
    first.add_recent("urls", "rtsp://bob:secret@cam/1")
    first.sync()
    assert "rtsp://bob:secret@cam/1" in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    path.chmod(0o644)  # as an older Vision Desk left it
    again = Settings(QSettings(str(path), QSettings.Format.IniFormat))
    again.add_recent("urls", "rtsp://eve:hunter2@cam/2")
    again.sync()  # Qt writes a new file and renames it over the old: the mode must survive that
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and "hunter2" in path.read_text()


def test_clear_recent_sources_forgets_the_stream_passwords_too(qtbot, settings) -> None:
    from vision_desk.gui.source_bar import SourceBar

    settings.add_recent("sources", "rtsp://bob:secret@cam/1")
    settings.add_recent("urls", "rtsp://bob:secret@cam/1")
    settings.add_recent("web", "https://bob:secret@example.org/watch?v=1")
    settings.sync()
    bar = SourceBar(settings)
    qtbot.addWidget(bar)
    bar.recent_menu.aboutToShow.emit()
    clear = next(a for a in bar.recent_menu.actions() if a.text() == "Clear recent sources")
    clear.trigger()
    assert [settings.recent(key) for key in ("sources", "urls", "web")] == [[], [], []]
    assert "secret" not in Path(settings.path).read_text()


def test_stream_dialog_masks_credentials_but_reopens_the_real_url(qtbot) -> None:
    url = "rtsp://bob:secret@10.0.0.5:554/live?token=abc"
    dialog = StreamDialog([url, "http://example.org/cam.mjpg"])
    qtbot.addWidget(dialog)
    shown = [dialog.combo.itemText(i) for i in range(dialog.combo.count())]
    assert all("secret" not in s and "abc" not in s for s in shown)
    dialog.combo.setCurrentIndex(0)
    assert dialog.url() == url
    dialog.combo.setEditText("rtsp://other/stream")
    assert dialog.url() == "rtsp://other/stream"


def test_stream_dialog_opens_the_url_typed_and_entered(qtbot) -> None:
    """Enter in the URL box used to add the typed text as an item with no URL behind it: nothing opened."""
    url = "rtsp://bob:secret@10.0.0.5:554/live"
    typed_and_expected = (("rtsp://cam.local/stream", "rtsp://cam.local/stream"), (mask_uri(url), url))  # new, recent
    for typed, expected in typed_and_expected:
        dialog = StreamDialog([url])
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.keyClicks(dialog.combo.lineEdit(), typed)
        qtbot.keyClick(dialog.combo.lineEdit(), Qt.Key.Key_Return)
        assert dialog.result() == StreamDialog.DialogCode.Accepted and dialog.url() == expected
        assert dialog.combo.count() == 1  # the typed URL was not added to the list


def test_camera_uris() -> None:
    assert camera_index(b"/dev/video2", 0) == 2
    assert camera_index(b"0x1234:usb", 3) == 3
    assert camera_uri(1) == "cam:1"
    assert camera_uri(0, 1280, 720, 30.0) == "cam:0?width=1280&height=720&fps=30"


def test_theme_switch_and_about_versions(window) -> None:
    window.set_theme("light")
    assert window.settings.theme == "light"
    assert "QToolBar" in QApplication.instance().styleSheet()
    window.set_theme("dark")
    versions = dict(library_versions())
    assert versions["Qt"] and versions["OpenCV"].startswith("4.") and versions["PyAV (FFmpeg)"] != "not installed"


def test_uncaught_errors_show_one_sentence_in_a_dialog(qtbot) -> None:
    hook = ExceptionDialogHook()
    try:
        raise SourceError("camera 3 is not connected; plug it in or pick another.")
    except SourceError as err:
        hook(type(err), err, err.__traceback__)
    assert isinstance(hook.dialog, QMessageBox) and hook.dialog.isVisible()
    assert hook.dialog.text() == "camera 3 is not connected; plug it in or pick another."
    try:
        {}["missing"]
    except KeyError as err:
        message = one_sentence(err)
    assert message.startswith("Something went wrong (KeyError") and "Traceback" not in message and "\n" not in message
    hook.dialog.close()


def test_engine_and_stages_never_import_qt() -> None:
    code = ("import sys; import vision_desk.engine.runner, vision_desk.engine.batch; "
            "from vision_desk.stages import load_all; load_all(); "
            "bad = [m for m in sys.modules if m.startswith(('PySide6', 'vision_desk.gui'))]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
