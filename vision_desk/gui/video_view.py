"""The video view: the newest processed frame, scaled to fit, plus region picking.

The frame is painted straight from its numpy buffer (a QImage that wraps the
array, no copy) in ``paintEvent``, scaled with its aspect ratio kept. Stage
parameters that need a place in the frame (point, points, rect, line) are
picked here by clicking or dragging; values are in frame pixels, shaped as
documented in :mod:`vision_desk.engine.params`. A guide (a labelled rectangle
in fractions of the frame) stays drawn over the video for as long as it is set:
the Teach panel shows the region its captures are cut from.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QKeyEvent, QMouseEvent, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

PICK_HINTS = {
    "point": "Click a point on the video (Esc cancels).",
    "rect": "Drag a rectangle on the video; a click without dragging means the whole frame (Esc cancels).",
    "line": "Drag a line on the video (Esc cancels).",
    "points": "Click points on the video; double-click, right-click or Enter finishes (Esc cancels).",
}

#: The amber of a pick as it is drawn (dashed) and of a guide once it is set (solid): what was drawn stays drawn.
GUIDE_COLOUR = QColor(255, 200, 0)


def qimage_view(image: np.ndarray) -> QImage:
    """A QImage sharing the memory of an HxWx3 uint8 BGR array (keep the array alive while it is used)."""
    h, w = image.shape[:2]
    return QImage(image.data, w, h, image.strides[0], QImage.Format.Format_BGR888)


class VideoView(QWidget):
    """Paints frames with the aspect ratio kept and lets the user pick regions on them.

    Signals:
        double_clicked: a double click outside picking (the window toggles fullscreen).
        pick_finished: a pick ended (value or None when cancelled), after its callback ran.
    """

    double_clicked = Signal()
    pick_finished = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("videoView")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 180)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._array: np.ndarray | None = None
        self._qimage: QImage | None = None
        self._message = "Waiting for frames..."
        self._pick_kind: str | None = None
        self._pick_callback: Callable[[Any], None] | None = None
        self._pick_points: list[tuple[int, int]] = []
        self._drag_from: tuple[int, int] | None = None
        self._drag_to: tuple[int, int] | None = None
        self._guide: tuple[tuple[float, float, float, float], str] | None = None
        self.paints = 0

    # -- frames ------------------------------------------------------------------
    def set_frame(self, image: np.ndarray) -> None:
        """Shows an HxWx3 uint8 BGR image (kept by reference, painted on the next repaint)."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            return
        self._array = np.ascontiguousarray(image)
        self._qimage = qimage_view(self._array)
        self._message = ""
        self.update()

    def image(self) -> np.ndarray | None:
        """The array currently shown (None before the first frame)."""
        return self._array

    def frame_size(self) -> tuple[int, int] | None:
        """(width, height) of the shown frame."""
        return None if self._array is None else (self._array.shape[1], self._array.shape[0])

    def message(self) -> str:
        """The line shown over the view ('' when none)."""
        return self._message

    def set_message(self, text: str) -> None:
        """A line shown over the view (or instead of it before any frame)."""
        self._message = text
        self.update()

    def clear(self, message: str = "Waiting for frames...") -> None:
        self._array = self._qimage = None
        self.set_message(message)

    def set_guide(self, region: tuple[float, float, float, float] | None, label: str = "") -> None:
        """Draws ``region`` (x, y, w, h as fractions of the frame) with ``label`` over the video until it is set
        to None. It follows the frame as the view is resized, and is not part of the frame: recordings and
        snapshots do not have it."""
        self._guide = None if region is None else (tuple(float(v) for v in region), label)
        self.update()

    def guide(self) -> tuple[tuple[float, float, float, float], str] | None:
        """The guide drawn over the video, as set (None when none)."""
        return self._guide

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(960, 540)

    # -- geometry ------------------------------------------------------------------
    def target_rect(self) -> QRectF:
        """Where the frame is drawn: fitted into the widget, aspect ratio kept, centred."""
        size = self.frame_size()
        if size is None:
            return QRectF()
        fw, fh = size
        scale = min(self.width() / fw, self.height() / fh)
        w, h = fw * scale, fh * scale
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def to_frame(self, pos: QPoint | QPointF) -> tuple[int, int] | None:
        """Widget coordinates to frame pixels (clamped to the frame); None before the first frame."""
        size, rect = self.frame_size(), self.target_rect()
        if size is None or rect.width() <= 0:
            return None
        x = (pos.x() - rect.x()) * size[0] / rect.width()
        y = (pos.y() - rect.y()) * size[1] / rect.height()
        return int(min(max(x, 0), size[0] - 1)), int(min(max(y, 0), size[1] - 1))

    def to_widget(self, point: tuple[float, float]) -> QPointF:
        """Frame pixels to widget coordinates (for drawing picks and for tests that click on the frame)."""
        size, rect = self.frame_size(), self.target_rect()
        if size is None:
            return QPointF(0, 0)
        return QPointF(rect.x() + (point[0] + 0.5) * rect.width() / size[0], rect.y() + (point[1] + 0.5) * rect.height() / size[1])

    # -- painting ------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(18, 18, 20))
        if self._qimage is not None:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(self.target_rect(), self._qimage)
            if self._guide is not None:
                self._paint_guide(painter, *self._guide)
        if self._pick_kind:
            self._paint_pick(painter)
        text = PICK_HINTS.get(self._pick_kind or "", self._message)
        if text:
            self._paint_banner(painter, text, centred=self._qimage is None and not self._pick_kind)
        painter.end()
        self.paints += 1

    def _paint_banner(self, painter: QPainter, text: str, centred: bool) -> None:
        metrics = painter.fontMetrics()
        w = min(self.width() - 20, metrics.horizontalAdvance(text) + 24)
        h = metrics.height() + 12
        x = (self.width() - w) / 2
        y = (self.height() - h) / 2 if centred else 10
        painter.fillRect(QRectF(x, y, w, h), QColor(0, 0, 0, 170))
        painter.setPen(QColor(240, 240, 240))
        painter.drawText(QRectF(x, y, w, h), Qt.AlignmentFlag.AlignCenter, text)

    def _paint_guide(self, painter: QPainter, region: tuple[float, float, float, float], label: str) -> None:
        frame = self.target_rect()
        x, y, w, h = region
        rect = QRectF(frame.x() + x * frame.width(), frame.y() + y * frame.height(), w * frame.width(),
                      h * frame.height())
        painter.setPen(QPen(GUIDE_COLOUR, 2))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(rect)
        if label:
            metrics = painter.fontMetrics()
            tag = QRectF(rect.x(), rect.y() - metrics.height() - 4, metrics.horizontalAdvance(label) + 10,
                         metrics.height() + 4)
            if tag.y() < frame.y():  # no room above: inside the top edge
                tag.moveTop(rect.y())
            painter.fillRect(tag, GUIDE_COLOUR)
            painter.setPen(QColor(0, 0, 0))
            painter.drawText(tag, Qt.AlignmentFlag.AlignCenter, label)

    def _paint_pick(self, painter: QPainter) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(GUIDE_COLOUR, 2, Qt.PenStyle.DashLine))
        painter.setBrush(QColor(GUIDE_COLOUR.red(), GUIDE_COLOUR.green(), GUIDE_COLOUR.blue(), 40))
        if self._pick_kind == "points" and self._pick_points:
            pts = [self.to_widget(p) for p in self._pick_points]
            painter.drawPolygon(QPolygonF(pts)) if len(pts) > 2 else painter.drawPolyline(QPolygonF(pts))
            for p in pts:
                painter.drawEllipse(p, 3, 3)
        elif self._drag_from and self._drag_to:
            a, b = self.to_widget(self._drag_from), self.to_widget(self._drag_to)
            if self._pick_kind == "rect":
                painter.drawRect(QRectF(a, b).normalized())
            else:
                painter.drawLine(a, b)

    # -- picking ------------------------------------------------------------------
    @property
    def picking(self) -> str | None:
        """The kind being picked (point, points, rect, line) or None."""
        return self._pick_kind

    def begin_pick(self, kind: str, callback: Callable[[Any], None]) -> None:
        """Lets the user pick a value of ``kind``; ``callback(value)`` gets it, or None when cancelled."""
        if kind not in PICK_HINTS:
            raise ValueError(f"cannot pick a {kind!r} on the video")
        self.cancel_pick()
        self._pick_kind, self._pick_callback = kind, callback
        self._pick_points, self._drag_from, self._drag_to = [], None, None
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setFocus()
        self.update()

    def cancel_pick(self) -> None:
        if self._pick_kind:
            self._finish_pick(None)

    def _finish_pick(self, value: Any) -> None:
        callback = self._pick_callback
        self._pick_kind = self._pick_callback = None
        self._pick_points, self._drag_from, self._drag_to = [], None, None
        self.unsetCursor()
        self.update()
        if callback is not None:
            callback(value)
        self.pick_finished.emit(value)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        pos = self.to_frame(event.position())
        if not self._pick_kind or pos is None:
            return super().mousePressEvent(event)
        if event.button() == Qt.MouseButton.RightButton:
            if self._pick_kind == "points":
                self._finish_pick(list(self._pick_points) if self._pick_points else None)
            else:
                self._finish_pick(None)
        elif self._pick_kind == "point":
            self._finish_pick(pos)
        elif self._pick_kind == "points":
            self._pick_points.append(pos)
            self.update()
        else:
            self._drag_from = self._drag_to = pos
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self._drag_from is not None:
            self._drag_to = self.to_frame(event.position()) or self._drag_to
            self.update()
            event.accept()
        else:
            super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self._drag_from is None or self._pick_kind not in ("rect", "line"):
            return super().mouseReleaseEvent(event)
        end = self.to_frame(event.position()) or self._drag_to or self._drag_from
        (x1, y1), (x2, y2) = self._drag_from, end
        if self._pick_kind == "line":
            self._finish_pick((x1, y1, x2, y2))
        elif abs(x2 - x1) < 3 and abs(y2 - y1) < 3:
            self._finish_pick((0, 0, 0, 0))
        else:
            self._finish_pick((min(x1, x2), min(y1, y2), abs(x2 - x1), abs(y2 - y1)))
        event.accept()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self._pick_kind == "points":
            # The double click's first press already added this point.
            self._finish_pick(list(self._pick_points) if self._pick_points else None)
        elif not self._pick_kind:
            self.double_clicked.emit()
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        if self._pick_kind and event.key() == Qt.Key.Key_Escape:
            self._finish_pick(None)
        elif self._pick_kind == "points" and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._finish_pick(list(self._pick_points) if self._pick_points else None)
        else:
            super().keyPressEvent(event)
