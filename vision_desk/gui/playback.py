"""Playback controls for files and image folders: play/pause, step, seek and speed."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSlider, QStyle, QToolButton, QWidget


def format_position(index: int, fps: float | None) -> str:
    if not fps:
        return f"frame {index}"
    seconds = index / fps
    return f"{int(seconds // 60):02d}:{seconds % 60:05.2f}"


class PlaybackBar(QWidget):
    """Seek bar and buttons shown under the video for seekable sources.

    Signals:
        play_pause(): the play/pause button.
        step(): the step-one-frame button.
        seek(index): the user moved the seek bar to this frame.
        speed_changed(realtime): real time (True) or as fast as possible (False).
    """

    play_pause = Signal()
    step = Signal()
    seek = Signal(int)
    speed_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        style = self.style()
        self._play_icon = style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay)
        self._pause_icon = style.standardIcon(QStyle.StandardPixmap.SP_MediaPause)
        self.play_button = QToolButton()
        self.play_button.setIcon(self._pause_icon)
        self.play_button.setToolTip("Play / pause (Space)")
        self.play_button.clicked.connect(self.play_pause)
        self.step_button = QToolButton()
        self.step_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_MediaSkipForward))
        self.step_button.setToolTip("Step one frame (pauses; period key)")
        self.step_button.clicked.connect(self.step)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setToolTip("Seek")
        self.slider.sliderReleased.connect(lambda: self.seek.emit(self.slider.value()))
        self.slider.actionTriggered.connect(self._on_action)
        self.position = QLabel("-")
        self.position.setMinimumWidth(150)
        self.position.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.speed = QComboBox()
        self.speed.addItem("Real time", True)
        self.speed.addItem("As fast as possible", False)
        self.speed.setToolTip("Play files at their frame rate, or process them as fast as the pipeline can")
        self.speed.currentIndexChanged.connect(lambda _i: self.speed_changed.emit(bool(self.speed.currentData())))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        layout.addWidget(self.play_button)
        layout.addWidget(self.step_button)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.position)
        layout.addWidget(self.speed)
        self._fps: float | None = None

    def _on_action(self, action: int) -> None:
        # Clicks on the groove and keyboard steps (not drags, which report on release).
        # actionTriggered passes a plain int, and PySide6 enums never compare equal to ints,
        # so convert it first: comparing directly made every mouse move of a drag seek.
        if QSlider.SliderAction(action) != QSlider.SliderAction.SliderMove:
            self.seek.emit(self.slider.sliderPosition())

    @property
    def fps(self) -> float | None:
        return self._fps

    def configure(self, total: int | None, fps: float | None) -> None:
        """A new source: its length in frames (None when unknown) and frame rate."""
        self._fps = fps
        self.slider.setRange(0, max(0, (total or 1) - 1))
        self.slider.setEnabled(bool(total))

    def set_playing(self, playing: bool) -> None:
        self.play_button.setIcon(self._pause_icon if playing else self._play_icon)

    def set_realtime(self, realtime: bool) -> None:
        self.speed.blockSignals(True)
        self.speed.setCurrentIndex(0 if realtime else 1)
        self.speed.blockSignals(False)

    def show_position(self, index: int, total: int | None) -> None:
        if total and self.slider.maximum() != total - 1:
            self.configure(total, self._fps)
        if not self.slider.isSliderDown():
            self.slider.blockSignals(True)
            self.slider.setValue(index)
            self.slider.blockSignals(False)
        end = f" / {format_position(total - 1, self._fps)}" if total else ""
        self.position.setText(f"{format_position(index, self._fps)}{end}  (#{index})")
