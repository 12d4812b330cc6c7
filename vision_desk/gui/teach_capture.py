"""The Teach panel's capture controls: what a sample is cut from (frame, region, objects) and the Capture button.

Capture takes the newest processed frame (its image without overlays). Held
down, the button captures a burst: a QTimer on the GUI thread takes the newest
frame N times a second and skips a tick whose newest frame was already taken,
so a burst never saves the same frame twice (a paused video gives one sample).
While the controls are on screen in region mode, the region is drawn over the
video (the picker's guide), so what a capture cuts is always in view.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import QComboBox, QGridLayout, QGroupBox, QLabel, QPushButton, QSpinBox, QWidget

from vision_desk.engine.frame import Frame
from vision_desk.teach.capture import Region, crop_region, labels_in, object_crops, region_fractions

CAPTURE_MODES = (("frame", "Whole frame"), ("region", "Region of the frame"), ("objects", "Objects of a class"))
#: How often the objects combo looks for new labels in the newest frame while that mode is chosen.
LABELS_REFRESH_MS = 1000
MAX_RATE = 15


def frame_key(frame: Frame) -> tuple[str, int, float]:
    """What tells two frames apart: a seek that processes a frame again makes a new one."""
    return frame.source_id, frame.index, frame.capture_time


class CaptureBox(QGroupBox):
    """Chooses how samples are cut from the video and takes them.

    Signals:
        captured(list): the BGR images cut from one frame (the panel saves them into the selected class).
        message(str): one sentence on why nothing was captured.
    """

    captured = Signal(list)
    message = Signal(str)

    def __init__(self, latest_frame: Callable[[], Frame | None], picker: Any, parent: QWidget | None = None) -> None:
        super().__init__("Capture from the video", parent)
        self._latest_frame = latest_frame
        self._picker = picker
        self.region: Region | None = None
        self.ticks = 0  # burst timer ticks so far (tests wait on it)
        self._last_key: tuple[str, int, float] | None = None

        self.mode_combo = QComboBox()
        for key, text in CAPTURE_MODES:
            self.mode_combo.addItem(text, key)
        self.mode_combo.setToolTip("Whole frame: the frame as it is. Region: the part you draw on the video. "
                                   "Objects: the box of every object of one class, with a margin.")
        self.region_button = QPushButton("Draw region")
        self.region_button.setToolTip("Drag a rectangle on the video; captures use it until you draw another.")
        self.region_label = QLabel("no region yet")
        self.class_combo = QComboBox()
        self.class_combo.setEditable(True)
        self.class_combo.lineEdit().setPlaceholderText("all objects")
        self.class_combo.setToolTip("The label of the objects to capture (those found in the newest frame are "
                                    "listed); empty captures every object. Needs a detecting stage in the pipeline.")
        self.rate = QSpinBox()
        self.rate.setRange(1, MAX_RATE)
        self.rate.setValue(5)
        self.rate.setSuffix(" /s")
        self.rate.setToolTip("Captures per second while Capture is held down.")
        self.capture_button = QPushButton("Capture")
        self.capture_button.setToolTip("Click: one sample from the newest frame. Hold: a burst, at the rate beside it.")

        grid = QGridLayout(self)
        grid.addWidget(QLabel("From"), 0, 0)
        grid.addWidget(self.mode_combo, 0, 1, 1, 2)
        grid.addWidget(self.region_button, 1, 1)
        grid.addWidget(self.region_label, 1, 2)
        self.class_label = QLabel("Class")
        grid.addWidget(self.class_label, 2, 0)
        grid.addWidget(self.class_combo, 2, 1, 1, 2)
        grid.addWidget(self.capture_button, 3, 0, 1, 2)
        grid.addWidget(self.rate, 3, 2)
        grid.setColumnStretch(1, 1)

        self._burst = QTimer(self)
        self._burst.timeout.connect(self._tick)
        self._labels_timer = QTimer(self)
        self._labels_timer.setInterval(LABELS_REFRESH_MS)
        self._labels_timer.timeout.connect(self.refresh_labels)
        self.mode_combo.currentIndexChanged.connect(self._on_mode)
        self.region_button.clicked.connect(self.pick_region)
        self.capture_button.pressed.connect(self._on_pressed)
        self.capture_button.released.connect(self.stop_burst)
        self.rate.valueChanged.connect(lambda _: self._burst.setInterval(self._interval()))
        self._on_mode()

    # -- mode -------------------------------------------------------------------
    @property
    def mode(self) -> str:
        """``frame``, ``region`` or ``objects``: the classify stage's ``on``."""
        return self.mode_combo.currentData()

    def set_mode(self, mode: str) -> None:
        self.mode_combo.setCurrentIndex(self.mode_combo.findData(mode))

    @property
    def object_class(self) -> str:
        """The label of the objects captured in objects mode ('' for all)."""
        return self.class_combo.currentText().strip()

    def _on_mode(self) -> None:
        mode = self.mode
        for widget in (self.region_button, self.region_label):
            widget.setVisible(mode == "region")
        for widget in (self.class_label, self.class_combo):
            widget.setVisible(mode == "objects")
        if mode == "objects":
            self.refresh_labels()
            self._labels_timer.start()
        else:
            self._labels_timer.stop()
        self._show_guide()
        if mode == "region" and self.region is None and self._picker is not None and self._latest_frame() is not None:
            self.pick_region()

    def refresh_labels(self) -> None:
        """Adds the labels of the newest frame's objects to the class list (the typed or chosen one stays)."""
        frame = self._latest_frame()
        if frame is None or not self.isVisible():
            return
        known = {self.class_combo.itemText(i) for i in range(self.class_combo.count())}
        for label in labels_in(frame.detections):
            if label not in known:
                self.class_combo.addItem(label)
        if not self.object_class and self.class_combo.count():
            self.class_combo.setCurrentIndex(0)

    # -- region -----------------------------------------------------------------
    def pick_region(self) -> None:
        """Lets the user drag the region on the video."""
        if self._picker is None or self._picker.frame_size() is None:
            self.message.emit("No video frame yet; open a source, then draw the region on it.")
            return
        self._picker.begin_pick("rect", self._on_region_picked)

    def _on_region_picked(self, rect: tuple[int, int, int, int] | None) -> None:
        size = self._picker.frame_size() if self._picker is not None else None
        if rect is None or size is None:
            return  # cancelled: the region stays as it was
        region = region_fractions(rect, *size)
        if region is None or rect == (0, 0, 0, 0):
            self.message.emit("That was a click; drag a rectangle on the video to choose the region.")
            return
        self.set_region(region)

    def set_region(self, region: Region | None) -> None:
        """The region, as fractions of the frame ``(x, y, w, h)``."""
        self.region = region
        if region is None:
            self.region_label.setText("no region yet")
        else:
            x, y, w, h = region
            self.region_label.setText(f"at {x:.0%}, {y:.0%}, {w:.0%} x {h:.0%} of the frame")
        self._show_guide()

    def _show_guide(self) -> None:
        """Draws the region over the video while these controls are on screen in region mode, else nothing."""
        if self._picker is None:
            return
        shown = self.isVisible() and self.mode == "region" and self.region is not None
        self._picker.set_guide(self.region if shown else None, "capture")

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self._show_guide()

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802 - Qt override
        super().hideEvent(event)
        self._show_guide()

    # -- capturing ---------------------------------------------------------------
    def cut(self, frame: Frame) -> list[np.ndarray]:
        """The samples the current mode cuts from ``frame`` (maybe none)."""
        if self.mode == "region":
            crop = crop_region(frame.image, self.region) if self.region is not None else None
            return [] if crop is None else [crop]
        if self.mode == "objects":
            return object_crops(frame.image, frame.detections, self.object_class)
        return [frame.image]

    def take(self, *, burst: bool = False) -> int:
        """Cuts samples from the newest frame and emits them; returns how many.

        In a burst (``burst``) a frame already taken is skipped silently; a click always takes the newest frame.
        """
        frame = self._latest_frame()
        if frame is None:
            if not burst:
                self.message.emit("No video frame yet; open a source before capturing.")
            return 0
        key = frame_key(frame)
        if burst and key == self._last_key:
            return 0
        self._last_key = key
        if self.mode == "region" and self.region is None:
            if not burst:
                self.message.emit("No region yet; press Draw region and drag a rectangle on the video.")
            return 0
        images = self.cut(frame)
        if not images:
            if not burst:
                what = f"'{self.object_class}' objects" if self.object_class else "objects"
                self.message.emit(f"No {what} in the newest frame; add a detecting stage or wait until some show.")
            return 0
        self.captured.emit(images)
        return len(images)

    def _interval(self) -> int:
        return max(1, round(1000 / self.rate.value()))

    def _on_pressed(self) -> None:
        self.take()
        self._burst.start(self._interval())

    def _tick(self) -> None:
        self.ticks += 1
        self.take(burst=True)

    def stop_burst(self) -> None:
        self._burst.stop()

    @property
    def bursting(self) -> bool:
        return self._burst.isActive()
