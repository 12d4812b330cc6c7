"""Every generated control kind round-trips: widget -> running pipeline, and pipeline file -> widget.

A test stage declares one parameter of each kind the GUI generates; the editor
builds its panel, the test drives each control the way a user would (slider,
typing, check box, combo, file dialog, colour dialog, clicks and drags on the
video view) and reads the value back from the running pipeline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Literal

import cv2
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QCheckBox, QComboBox, QLineEdit

from tests.media import skimage_bgr
from vision_desk.engine.frame import Frame
from vision_desk.engine.params import StageParams, describe, int_or_auto, param
from vision_desk.engine.pipeline import Pipeline, PipelineSpec, StageSpec
from vision_desk.engine.stage import Stage
from vision_desk.gui.pipeline_editor import PipelineEditor
from vision_desk.gui.video_view import VideoView


class KindsParams(StageParams):
    count: int = param(5, ge=1, le=50, help="an int with bounds")
    ratio: float = param(0.5, ge=0.0, le=1.0, step=0.01, help="a float with bounds")
    flag: bool = param(False, help="a bool")
    name: str = param("x", help="a string")
    mode: Literal["fast", "exact", "auto"] = param("fast", help="a choice")
    colour: tuple[int, int, int] = param((0, 0, 255), widget="color", help="a BGR colour")
    anchor: tuple[int, int] = param((0, 0), widget="point", help="a point")
    zone: list[tuple[int, int]] = param([], widget="points", help="a polygon")
    region: tuple[int, int, int, int] = param((0, 0, 0, 0), widget="rect", help="a rectangle")
    tripwire: tuple[int, int, int, int] = param((0, 0, 1, 1), widget="line", help="a line")
    model: str = param("", widget="path", file_filter="Models (*.onnx *.pt)", help="a file")
    labels: list[str] = param(["person"], help="a list")
    limit: int | None = param(None, ge=0, help="an optional int")
    size: int_or_auto(32, 4096, 32) = param("auto", step=32, help="an int that also takes auto")  # type: ignore[valid-type]


class KindsStage(Stage):
    id = "gui_test_kinds"
    title = "Every parameter kind"
    category = "Tests"
    help = "Declares one parameter of each kind the GUI generates."
    Params = KindsParams

    def process(self, frame: Frame) -> None:
        pass


def test_the_test_stage_covers_every_kind() -> None:
    kinds = {s.kind for s in describe(KindsParams)}
    assert kinds == {"int", "float", "bool", "str", "choice", "color", "point", "points", "rect", "line", "path", "list"}
    assert any(s.optional for s in describe(KindsParams))


@pytest.fixture
def view(qtbot) -> VideoView:
    """The picker: a 160x120 real photo shown at exactly twice its size (one frame pixel = 2x2 widget pixels)."""
    v = VideoView()
    qtbot.addWidget(v)
    v.setFixedSize(320, 240)
    v.set_frame(cv2.resize(skimage_bgr("coffee"), (160, 120), interpolation=cv2.INTER_AREA))
    v.show()
    qtbot.waitExposed(v)
    return v


@pytest.fixture
def editor(qtbot, view) -> PipelineEditor:
    e = PipelineEditor(picker=view)
    qtbot.addWidget(e)
    e.set_spec(PipelineSpec("kinds", [StageSpec("gui_test_kinds", {})]))
    e.attach(Pipeline(e.spec(), stage_errors="disable"))
    e.show()
    return e


def at(view: VideoView, x: int, y: int) -> QPoint:
    return view.to_widget((x, y)).toPoint()


# -- drivers: change a control the way a user does ------------------------------------------
def drive_int(qtbot, c, view, tmp_path) -> None:  # noqa: ANN001
    c.slider.setValue(17)  # dragging the slider moves the spin box too


def drive_float(qtbot, c, view, tmp_path) -> None:  # noqa: ANN001
    c.spin.lineEdit().selectAll()
    qtbot.keyClicks(c.spin.lineEdit(), "0.25")
    qtbot.keyClick(c.spin.lineEdit(), Qt.Key.Key_Enter)


def drive_bool(qtbot, c, view, tmp_path) -> None:  # noqa: ANN001
    qtbot.mouseClick(c.check, Qt.MouseButton.LeftButton, pos=QPoint(6, c.check.height() // 2))


def drive_choice(qtbot, c, view, tmp_path) -> None:  # noqa: ANN001
    c.combo.setFocus()
    qtbot.keyClick(c.combo, Qt.Key.Key_Down)
    qtbot.keyClick(c.combo, Qt.Key.Key_Down)


def type_text(text: str) -> Callable:
    def drive(qtbot, c, view, tmp_path) -> None:  # noqa: ANN001
        c.edit.selectAll()
        qtbot.keyClicks(c.edit, text)
        qtbot.keyClick(c.edit, Qt.Key.Key_Return)

    return drive


def drive_path(qtbot, c, view, tmp_path) -> None:  # noqa: ANN001
    (tmp_path / "net.onnx").write_bytes(b"onnx")
    c.button.click()
    c.dialog.setDirectory(str(tmp_path))
    c.dialog.selectFile(str(tmp_path / "net.onnx"))
    c.dialog.accept()


def drive_colour(qtbot, c, view, tmp_path) -> None:  # noqa: ANN001
    c.button.click()
    c.dialog.setCurrentColor(QColor(10, 200, 30))  # RGB
    c.dialog.accept()


def drive_point(qtbot, c, view, tmp_path) -> None:  # noqa: ANN001
    c.button.click()
    assert view.picking == "point"
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=at(view, 40, 30))


def drive_points(qtbot, c, view, tmp_path) -> None:  # noqa: ANN001
    c.button.click()
    for x, y in ((10, 10), (100, 12), (60, 90)):
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=at(view, x, y))
    qtbot.mouseClick(view, Qt.MouseButton.RightButton, pos=at(view, 60, 90))  # right-click finishes


def drag(x1: int, y1: int, x2: int, y2: int) -> Callable:
    def drive(qtbot, c, view, tmp_path) -> None:  # noqa: ANN001
        c.button.click()
        qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=at(view, x1, y1))
        qtbot.mouseMove(view, at(view, (x1 + x2) // 2, (y1 + y2) // 2))
        qtbot.mouseMove(view, at(view, x2, y2))
        qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=at(view, x2, y2))

    return drive


def drive_size(qtbot, c, view, tmp_path) -> None:  # noqa: ANN001
    c.spin.lineEdit().selectAll()
    qtbot.keyClicks(c.spin.lineEdit(), "320")
    qtbot.keyClick(c.spin.lineEdit(), Qt.Key.Key_Enter)


def drive_optional(qtbot, c, view, tmp_path) -> None:  # noqa: ANN001
    c.none.click()  # untick "none": the spin box's value is used
    c.inner.spin.setValue(9)


def widget_state(c) -> Any:  # noqa: ANN001
    """What the control's own Qt widgets display (independent of its value() bookkeeping)."""
    inner = getattr(c, "inner", None)
    if inner is not None:
        return None if c.none.isChecked() else widget_state(inner)
    for attr in ("spin", "check", "combo", "edit", "button"):
        w = getattr(c, attr, None)
        if w is None:
            continue
        if isinstance(w, QCheckBox):
            return w.isChecked()
        if isinstance(w, QComboBox):
            return w.currentText()
        if isinstance(w, QLineEdit):
            return w.text()
        if attr == "spin":
            return w.specialValueText() if w.specialValueText() and w.value() == w.minimum() else w.value()
        return w.text()


# name, driver, value in the pipeline after driving, a value loaded from a file, what the widget then shows
CASES = [
    ("count", drive_int, 17, 42, 42),
    ("ratio", drive_float, 0.25, 0.75, 0.75),
    ("flag", drive_bool, True, True, True),
    ("mode", drive_choice, "auto", "exact", "exact"),
    ("name", type_text("hello"), "hello", "from file", "from file"),
    ("colour", drive_colour, [30, 200, 10], [255, 128, 0], "#0080ff"),
    ("anchor", drive_point, [40, 30], [7, 8], "7, 8"),
    ("zone", drive_points, [[10, 10], [100, 12], [60, 90]], [[1, 2], [3, 4], [5, 6]], "1, 2; 3, 4; 5, 6"),
    ("region", drag(20, 30, 90, 100), [20, 30, 70, 70], [5, 6, 7, 8], "5, 6, 7, 8"),
    ("tripwire", drag(5, 100, 150, 10), [5, 100, 150, 10], [1, 2, 3, 4], "1, 2, 3, 4"),
    ("model", drive_path, "{tmp}/net.onnx", "/models/yolo.pt", "/models/yolo.pt"),
    ("labels", type_text("[car, bus]"), ["car", "bus"], ["dog"], "[dog]"),
    ("limit", drive_optional, 9, 3, 3),
    ("size", drive_size, 320, "auto", "auto"),
]


@pytest.mark.parametrize(("name", "drive", "expected", "_loaded", "_shown"), CASES, ids=[c[0] for c in CASES])
def test_widget_to_running_pipeline(qtbot, editor, view, tmp_path: Path, name, drive, expected, _loaded, _shown) -> None:
    editor.list.setCurrentRow(0)
    control = editor.panel.controls[name]
    drive(qtbot, control, view, tmp_path)
    if isinstance(expected, str):
        expected = expected.format(tmp=tmp_path)
    assert view.picking is None
    assert editor.spec().stages[0].params[name] == expected
    editor.pipeline.apply_edits()  # what the engine thread does before its next frame
    assert editor.pipeline.spec().stages[0].params[name] == expected


@pytest.mark.parametrize(("name", "_drive", "_expected", "loaded", "shown"), CASES, ids=[c[0] for c in CASES])
def test_pipeline_values_to_widget(qtbot, editor, tmp_path: Path, name, _drive, _expected, loaded, shown) -> None:
    path = tmp_path / "p.yaml"
    PipelineSpec("loaded", [StageSpec("gui_test_kinds", {name: loaded})]).save(path)
    assert editor.load_file(path)
    control = editor.panel.controls[name]
    assert widget_state(control) == shown
    normalised = control.value()
    normalised = [list(v) if isinstance(v, tuple) else v for v in normalised] if isinstance(normalised, list) else normalised
    assert (list(normalised) if isinstance(normalised, tuple) else normalised) == loaded


def test_rejected_value_is_explained_and_reverted(qtbot, editor) -> None:
    editor.list.setCurrentRow(0)
    control = editor.panel.controls["labels"]
    control.edit.setText("[1, [2]]")  # a nested list is not a list of strings
    messages = []
    editor.message.connect(messages.append)
    qtbot.keyClick(control.edit, Qt.Key.Key_Return)
    assert messages and "labels" in messages[0]
    assert editor.panel.error.isVisibleTo(editor.panel) and "labels" in editor.panel.error.text()
    assert editor.spec().stages[0].params["labels"] == ["person"]
    assert control.edit.text() == "[person]"


def test_picking_can_be_cancelled_with_escape(qtbot, editor, view) -> None:
    editor.list.setCurrentRow(0)
    editor.panel.controls["region"].button.click()
    assert view.picking == "rect"
    qtbot.keyClick(view, Qt.Key.Key_Escape)
    assert view.picking is None
    assert editor.spec().stages[0].params["region"] == [0, 0, 0, 0]


def test_an_auto_int_goes_back_to_auto_at_the_bottom_of_its_range(qtbot, editor) -> None:
    control = editor.panel.controls["size"]
    control.set_value(64)
    assert control.spin.text() == "64" and control.value() == 64
    qtbot.keyClick(control.spin, Qt.Key.Key_Down)
    assert control.value() == 32
    qtbot.keyClick(control.spin, Qt.Key.Key_Down)  # one step below the smallest size: auto
    assert control.spin.text() == "auto" and control.value() == "auto"
