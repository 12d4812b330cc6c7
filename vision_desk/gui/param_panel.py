"""The parameter panel of one stage, generated from its parameter declaration.

Rows come from :func:`vision_desk.engine.params.describe`; each row's control
is made by :func:`vision_desk.gui.param_controls.make_control`, with the
parameter's help as its tooltip. The panel only reports changes
(``changed(name, value)``); the pipeline editor applies them to the running
pipeline, and shows a rejected value's reason with :meth:`show_error`.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFormLayout, QLabel, QVBoxLayout, QWidget

from vision_desk.engine.params import describe
from vision_desk.engine.stage import Stage
from vision_desk.gui.param_controls import ParamControl, make_control


class ParamPanel(QWidget):
    """Controls for every parameter of one stage.

    Args:
        stage_cls: the stage class (its ``Params`` declare the rows).
        values: current parameter values (defaults fill the rest).
        picker: the video view, for point/points/rect/line parameters.

    Signals:
        changed(name, value): the user changed a parameter.
    """

    changed = Signal(str, object)

    def __init__(self, stage_cls: type[Stage], values: dict[str, Any] | None = None, picker: Any = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.stage_cls = stage_cls
        self.specs = describe(stage_cls.Params)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        title = QLabel(f"<b>{stage_cls.title or stage_cls.id}</b>" + (" <i>(heavy on CPU)</i>" if stage_cls.heavy else ""))
        layout.addWidget(title)
        if stage_cls.help:
            help_label = QLabel(stage_cls.help)
            help_label.setWordWrap(True)
            help_label.setObjectName("helpText")
            layout.addWidget(help_label)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.controls: dict[str, ParamControl] = {}
        for spec in self.specs:
            control = make_control(spec, picker)
            control.setObjectName(f"param_{spec.name}")
            control.changed.connect(lambda value, name=spec.name: self.changed.emit(name, value))
            label = QLabel(spec.title)
            label.setToolTip(spec.help)
            form.addRow(label, control)
            self.controls[spec.name] = control
        if not self.specs:
            form.addRow(QLabel("This stage has no parameters."))
        layout.addLayout(form)
        self.error = QLabel()
        self.error.setObjectName("errorText")
        self.error.setWordWrap(True)
        self.error.hide()
        layout.addWidget(self.error)
        layout.addStretch(1)
        if values:
            self.set_values(values)

    def set_values(self, values: dict[str, Any]) -> None:
        """Shows these values (without emitting ``changed``)."""
        for name, value in values.items():
            if name in self.controls:
                self.controls[name].set_value(value)
        self.show_error("")

    def values(self) -> dict[str, Any]:
        return {name: control.value() for name, control in self.controls.items()}

    def show_error(self, message: str) -> None:
        """One line under the controls saying why a value was rejected ('' hides it)."""
        self.error.setText(message)
        self.error.setVisible(bool(message))
