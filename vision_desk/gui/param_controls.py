"""One control class per parameter kind, built from a stage's parameter declaration.

Every control has the same small interface: ``value()``, ``set_value(v)``
(which never emits) and a ``changed(value)`` signal emitted only when the user
changes it. :func:`make_control` picks the class from ``ParamSpec.kind``;
optional parameters get a "none" check box around the control.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import yaml
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QCheckBox, QColorDialog, QComboBox, QDoubleSpinBox, QFileDialog, QHBoxLayout, QLineEdit,
                               QPushButton, QSlider, QSpinBox, QToolButton, QWidget)

from vision_desk.engine.params import AUTO, ParamSpec

INT_LIMIT = 2**31 - 1
SLIDER_STEPS = 1000
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.webp);;All files (*)"


class ParamControl(QWidget):
    """Base class: a row widget for one parameter."""

    changed = Signal(object)

    def __init__(self, spec: ParamSpec, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self.row = QHBoxLayout(self)
        self.row.setContentsMargins(0, 0, 0, 0)
        self.setToolTip(spec.help)

    def value(self) -> Any:
        raise NotImplementedError

    def set_value(self, value: Any) -> None:
        raise NotImplementedError

    def _emit(self, *_: Any) -> None:
        self.changed.emit(self.value())

    def set_invalid(self, invalid: bool) -> None:
        self.setProperty("invalid", invalid)
        for child in self.findChildren(QWidget):
            child.style().unpolish(child)
            child.style().polish(child)


class IntControl(ParamControl):
    """A spin box, with a slider beside it when both bounds are declared.

    A parameter that also takes ``auto`` gets one more position below its
    minimum, which the spin box shows as "auto".
    """

    def __init__(self, spec: ParamSpec, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.spin = QSpinBox()
        # Typed numbers are sent on Enter or leaving the box, not per keystroke: "320" would otherwise also
        # send 3 and 32 (each a new setting for a running stage, and 3 an invalid one).
        self.spin.setKeyboardTracking(False)
        lo = int(spec.minimum) if spec.minimum is not None else -INT_LIMIT
        hi = int(spec.maximum) if spec.maximum is not None else INT_LIMIT
        self._auto_at: int | None = None
        if spec.auto:
            lo = self._auto_at = lo - int(spec.step or 1)
            self.spin.setSpecialValueText(AUTO)
        self.spin.setRange(lo, hi)
        self.spin.setSingleStep(int(spec.step or 1))
        self.slider: QSlider | None = None
        if spec.minimum is not None and spec.maximum is not None:
            self.slider = QSlider(Qt.Orientation.Horizontal)
            self.slider.setRange(lo, hi)
            self.slider.setSingleStep(int(spec.step or 1))
            self.slider.setPageStep(max(1, (hi - lo) // 10))
            self.slider.valueChanged.connect(self.spin.setValue)
            self.row.addWidget(self.slider, 1)
        self.spin.valueChanged.connect(self._on_spin)
        self.row.addWidget(self.spin)

    def _on_spin(self, value: int) -> None:
        if self.slider is not None and self.slider.value() != value:
            self.slider.blockSignals(True)
            self.slider.setValue(value)
            self.slider.blockSignals(False)
        self._emit()

    def value(self) -> int | str:
        value = self.spin.value()
        return AUTO if value == self._auto_at else value

    def set_value(self, value: Any) -> None:
        position = self._auto_at if value == AUTO and self._auto_at is not None else int(value)
        for w in filter(None, (self.spin, self.slider)):
            w.blockSignals(True)
            w.setValue(position)
            w.blockSignals(False)


class FloatControl(ParamControl):
    """A double spin box, with a slider of 1000 steps beside it when both bounds are declared."""

    def __init__(self, spec: ParamSpec, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.spin = QDoubleSpinBox()
        self.spin.setKeyboardTracking(False)  # typed numbers are sent on Enter, as in IntControl
        step = float(spec.step) if spec.step else None
        decimals = max(2, min(6, -math.floor(math.log10(step)) + 1)) if step and step < 1 else 3
        self.spin.setDecimals(decimals)
        self.spin.setRange(spec.minimum if spec.minimum is not None else -1e9, spec.maximum if spec.maximum is not None else 1e9)
        self.spin.setSingleStep(step or self._default_step())
        self.slider: QSlider | None = None
        if spec.minimum is not None and spec.maximum is not None:
            self.slider = QSlider(Qt.Orientation.Horizontal)
            self.slider.setRange(0, SLIDER_STEPS)
            self.slider.valueChanged.connect(self._on_slider)
            self.row.addWidget(self.slider, 1)
        self.spin.valueChanged.connect(self._on_spin)
        self.row.addWidget(self.spin)

    def _default_step(self) -> float:
        if self.spec.minimum is not None and self.spec.maximum is not None:
            return max((self.spec.maximum - self.spec.minimum) / 100, 10 ** -self.spin.decimals())
        return 0.1

    def _to_slider(self, value: float) -> int:
        lo, hi = self.spec.minimum, self.spec.maximum
        return round((value - lo) / (hi - lo) * SLIDER_STEPS) if hi > lo else 0

    def _on_slider(self, position: int) -> None:
        lo, hi = self.spec.minimum, self.spec.maximum
        self.spin.setValue(lo + (hi - lo) * position / SLIDER_STEPS)

    def _on_spin(self, value: float) -> None:
        if self.slider is not None:
            self.slider.blockSignals(True)
            self.slider.setValue(self._to_slider(value))
            self.slider.blockSignals(False)
        self._emit()

    def value(self) -> float:
        return round(self.spin.value(), self.spin.decimals())

    def set_value(self, value: Any) -> None:
        self.spin.blockSignals(True)
        self.spin.setValue(float(value))
        self.spin.blockSignals(False)
        if self.slider is not None:
            self.slider.blockSignals(True)
            self.slider.setValue(self._to_slider(float(value)))
            self.slider.blockSignals(False)


class BoolControl(ParamControl):
    def __init__(self, spec: ParamSpec, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.check = QCheckBox()
        self.check.toggled.connect(self._emit)
        self.row.addWidget(self.check)
        self.row.addStretch(1)

    def value(self) -> bool:
        return self.check.isChecked()

    def set_value(self, value: Any) -> None:
        self.check.blockSignals(True)
        self.check.setChecked(bool(value))
        self.check.blockSignals(False)


class ChoiceControl(ParamControl):
    def __init__(self, spec: ParamSpec, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.combo = QComboBox()
        for choice in spec.choices or ():
            self.combo.addItem(str(choice), choice)
        self.combo.currentIndexChanged.connect(self._emit)
        self.row.addWidget(self.combo, 1)

    def value(self) -> Any:
        return self.combo.currentData()

    def set_value(self, value: Any) -> None:
        value = getattr(value, "value", value)  # an Enum member shows as its value
        index = self.combo.findData(value)
        self.combo.blockSignals(True)
        self.combo.setCurrentIndex(max(index, 0))
        self.combo.blockSignals(False)


class TextControl(ParamControl):
    """A line edit that emits when editing finishes; subclasses parse and format other shapes."""

    placeholder = ""

    def __init__(self, spec: ParamSpec, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.edit = QLineEdit()
        self.edit.setPlaceholderText(self.placeholder)
        self.edit.setToolTip(spec.help)
        self.edit.editingFinished.connect(self._on_edited)
        self.row.addWidget(self.edit, 1)
        self._value: Any = None

    def parse(self, text: str) -> Any:
        return text

    def format(self, value: Any) -> str:
        return "" if value is None else str(value)

    def _on_edited(self) -> None:
        try:
            value = self.parse(self.edit.text())
        except (ValueError, RecursionError, yaml.YAMLError):  # RecursionError: [[[[... nested past Python's limit
            self.set_invalid(True)
            return
        self.set_invalid(False)
        if value != self._value:
            self._value = value
            self._emit()

    def value(self) -> Any:
        return self._value

    def set_value(self, value: Any) -> None:
        self._value = self.parse(self.format(value))
        self.edit.setText(self.format(value))
        self.set_invalid(False)


class ListControl(TextControl):
    """A list typed as YAML flow text, e.g. ``[person, car]``."""

    placeholder = "[a, b, c]"

    def parse(self, text: str) -> list:
        value = yaml.safe_load(text) if text.strip() else []
        if not isinstance(value, list):
            raise ValueError("not a list")
        return value

    def format(self, value: Any) -> str:
        return yaml.safe_dump(list(value or []), default_flow_style=True).strip()


class PathControl(TextControl):
    """A path with a file picker (``file_filter`` from the declaration)."""

    placeholder = "no file"

    def __init__(self, spec: ParamSpec, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.button = QToolButton()
        self.button.setText("...")
        self.button.setToolTip("Choose a file")
        self.button.clicked.connect(self.browse)
        self.row.addWidget(self.button)
        self.dialog: QFileDialog | None = None

    def browse(self) -> None:
        default_filter = IMAGE_FILTER if self.spec.widget == "image_path" else "All files (*)"
        self.dialog = QFileDialog(self, f"Choose {self.spec.title.lower()}", self.edit.text(), self.spec.file_filter or default_filter)
        self.dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        self.dialog.setOption(QFileDialog.Option.DontUseNativeDialog)
        self.dialog.fileSelected.connect(self._on_file)
        self.dialog.open()

    def _on_file(self, path: str) -> None:
        self.edit.setText(path)
        self._on_edited()


class ColorControl(ParamControl):
    """A colour button (BGR tuple values) opening a colour dialog."""

    def __init__(self, spec: ParamSpec, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.button = QPushButton()
        self.button.clicked.connect(self.browse)
        self.row.addWidget(self.button, 1)
        self.dialog: QColorDialog | None = None
        self._bgr: tuple[int, int, int] = (0, 0, 0)

    def browse(self) -> None:
        b, g, r = self._bgr
        self.dialog = QColorDialog(QColor(r, g, b), self)
        self.dialog.setOption(QColorDialog.ColorDialogOption.DontUseNativeDialog)
        self.dialog.colorSelected.connect(self._on_color)
        self.dialog.open()

    def _on_color(self, color: QColor) -> None:
        if color.isValid():
            self._show((color.blue(), color.green(), color.red()))
            self._emit()

    def _show(self, bgr: tuple[int, int, int]) -> None:
        self._bgr = tuple(int(c) for c in bgr)  # type: ignore[assignment]
        b, g, r = self._bgr
        text_color = "#000" if (0.299 * r + 0.587 * g + 0.114 * b) > 140 else "#fff"
        self.button.setText(f"#{r:02x}{g:02x}{b:02x}")
        self.button.setStyleSheet(f"background-color: rgb({r},{g},{b}); color: {text_color};")

    def value(self) -> tuple[int, int, int]:
        return self._bgr

    def set_value(self, value: Any) -> None:
        self._show(tuple(value))


def _ints(text: str, count: int | None) -> tuple[int, ...]:
    parts = [p for p in text.replace(";", ",").replace(" ", ",").split(",") if p.strip()]
    values = tuple(int(round(float(p))) for p in parts)
    if count is not None and len(values) != count:
        raise ValueError(f"expected {count} numbers")
    return values


class PickControl(TextControl):
    """A point, polygon, rectangle or line: typed as numbers or picked on the video."""

    SHAPES = {"point": ("x, y", 2), "rect": ("x, y, w, h (0, 0, 0, 0 = whole frame)", 4), "line": ("x1, y1, x2, y2", 4),
              "points": ("x1, y1; x2, y2; ...", None)}

    def __init__(self, spec: ParamSpec, picker: Any = None, parent: QWidget | None = None) -> None:
        self.placeholder = self.SHAPES[spec.kind][0]
        super().__init__(spec, parent)
        self.picker = picker
        self.button = QToolButton()
        self.button.setText("Pick")
        self.button.setToolTip("Pick it on the video")
        self.button.setEnabled(picker is not None)
        self.button.clicked.connect(self.pick)
        self.row.addWidget(self.button)

    def pick(self) -> None:
        if self.picker is not None:
            self.picker.begin_pick(self.spec.kind, self._on_picked)

    def _on_picked(self, value: Any) -> None:
        if value is None:
            return
        self.set_value(value)
        self._emit()

    def parse(self, text: str) -> Any:
        if self.spec.kind == "points":
            pts = [_ints(p, 2) for p in text.split(";") if p.strip()]
            return [tuple(p) for p in pts]
        return _ints(text, self.SHAPES[self.spec.kind][1])

    def format(self, value: Any) -> str:
        if value is None:
            return ""
        if self.spec.kind == "points":
            return "; ".join(f"{int(x)}, {int(y)}" for x, y in value)
        return ", ".join(str(int(v)) for v in value)


class OptionalControl(ParamControl):
    """Wraps a control with a "none" check box for parameters that may be None."""

    def __init__(self, inner: ParamControl, parent: QWidget | None = None) -> None:
        super().__init__(inner.spec, parent)
        self.inner = inner
        self.none = QCheckBox("none")
        self.none.setToolTip("Leave this parameter unset (None)")
        self.none.toggled.connect(self._on_none)
        inner.changed.connect(self._emit)
        self.row.addWidget(inner, 1)
        self.row.addWidget(self.none)

    def _on_none(self, checked: bool) -> None:
        self.inner.setEnabled(not checked)
        self._emit()

    def value(self) -> Any:
        return None if self.none.isChecked() else self.inner.value()

    def set_value(self, value: Any) -> None:
        self.none.blockSignals(True)
        self.none.setChecked(value is None)
        self.none.blockSignals(False)
        self.inner.setEnabled(value is not None)
        if value is not None:
            self.inner.set_value(value)


CONTROLS: dict[str, Callable[..., ParamControl]] = {
    "int": IntControl, "float": FloatControl, "bool": BoolControl, "choice": ChoiceControl, "str": TextControl,
    "path": PathControl, "color": ColorControl, "list": ListControl,
}


def make_control(spec: ParamSpec, picker: Any = None) -> ParamControl:
    """The control for a parameter; ``picker`` (the video view) serves point/points/rect/line."""
    if spec.kind in PickControl.SHAPES:
        control: ParamControl = PickControl(spec, picker)
    else:
        control = CONTROLS.get(spec.kind, ListControl)(spec)
    if spec.default is not None:
        control.set_value(spec.default)
    return OptionalControl(control) if spec.optional else control
