"""The source bar's Web video entry: the dialog, and a web page opened from it while the window stays responsive."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from tests.gui.test_journeys import WAIT_MS, answer_next_modal, click_tool_button
from tests.servers.web_video import WebVideoHandler
from vision_desk.engine.uri import mask_uri
from vision_desk.gui.source_bar import WebVideoDialog


def test_web_video_dialog_builds_the_uri_with_the_quality_and_masks_recent_urls(qtbot) -> None:
    url = "https://bob:secret@example.org/watch?v=abc&token=xyz"
    dialog = WebVideoDialog([url, "https://www.youtube.com/watch?v=aqz-KE-bpKQ"], height=480)
    qtbot.addWidget(dialog)
    shown = [dialog.combo.itemText(i) for i in range(dialog.combo.count())]
    assert shown[0] == mask_uri(url) and all("secret" not in s and "xyz" not in s for s in shown)
    assert dialog.quality.currentText() == "480p" and dialog.height == 480  # the height asked for is preselected
    dialog.combo.setCurrentIndex(0)
    assert dialog.uri() == f"web:{url}&height=480"  # the real URL behind the masked entry
    dialog.quality.setCurrentIndex(dialog.quality.findData(0))
    dialog.combo.setEditText("https://example.org/live.m3u8")
    assert dialog.uri() == "web:https://example.org/live.m3u8"  # best offered: no height


def test_a_web_video_opens_from_the_source_bar_without_freezing_the_window(qtbot, window, web_base) -> None:
    """The page takes its time to answer (held until released); the window keeps painting and ticking meanwhile."""
    page = f"{web_base}/slow/hls/master.m3u8"

    def answer(dialog) -> None:  # noqa: ANN001
        dialog.quality.setCurrentIndex(dialog.quality.findData(360))
        line = dialog.combo.lineEdit()
        QTest.keyClicks(line, page)
        QTest.keyClick(line, Qt.Key.Key_Return)

    answer_next_modal(answer)
    click_tool_button(qtbot, window.source_bar, window.source_bar.web_action)
    assert window.session.uri == f"web:{page}?height=360"
    assert window.settings.recent("web") == [page] and window.settings.web_height == 360
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(10)
    qtbot.waitUntil(lambda: len(ticks) >= 20 and any(r.startswith("/slow/") for r in WebVideoHandler.requests),
                    timeout=WAIT_MS)  # the event loop runs while the reader thread waits for the page
    assert window.state_label.text() == "connecting" and window.last_frame is None
    WebVideoHandler.gate.set()  # the site answers
    qtbot.waitUntil(lambda: window.last_frame is not None, timeout=WAIT_MS)
    timer.stop()
    assert window.last_frame.image.shape == (360, 640, 3)  # the 360-line rendition
    assert window.last_frame.source_id == f"web:{page}?height=360"
    assert not window.playback.isVisible() and QApplication.activeModalWidget() is None
    qtbot.waitUntil(lambda: window.state_label.text() in ("running", "ended"), timeout=WAIT_MS)
