"""Quick edits in the pipeline editor reach the running stage they were made on (issue 19, defect 1).

The user's way, in the main window on the demo source: rows are clicked,
stages added, moved and removed with the editor's buttons, numbers typed into
the parameter spin boxes. The pipeline starts with the hold stage, so the
engine waits inside a frame (as it does in OCR or denoise) while the user
edits; then the gate opens, the next frame applies the edits, and the running
stages must hold what the editor shows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSpinBox

from tests.holding import Gate, gate  # noqa: F401 - gate is a fixture
from vision_desk.engine.pipeline import PipelineSpec, StageSpec
from vision_desk.gui.pipeline_editor import PipelineEditor

WAIT_MS = 30000


@pytest.fixture
def held_window(qtbot, settings, gate: Gate) -> Iterator[Callable[..., PipelineEditor]]:
    """Opens the main window on [hold, *stages]; returns its editor once the engine waits inside the first frame."""
    from vision_desk.gui.main_window import MainWindow

    windows = []

    def open_window(*stages: str) -> PipelineEditor:
        spec = PipelineSpec("journey", [StageSpec(s) for s in ("test_hold", *stages)])
        window = MainWindow(settings, "demo:?fps=5", spec)
        qtbot.addWidget(window)
        windows.append(window)
        window.show()
        qtbot.waitUntil(lambda: gate.holding, timeout=WAIT_MS)
        return window.editor

    yield open_window
    gate.release()  # before closing: the window waits for the engine to stop
    for window in windows:
        window.close()


def click_row(qtbot, editor: PipelineEditor, row: int) -> None:  # noqa: ANN001
    rect = editor.list.visualItemRect(editor.list.item(row))
    qtbot.mouseClick(editor.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert editor.list.currentRow() == row


def spin(editor: PipelineEditor, name: str) -> QSpinBox:
    return editor.panel.controls[name].spin


def type_number(qtbot, box: QSpinBox, text: str) -> None:  # noqa: ANN001
    qtbot.keyClick(box, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(box, text)
    qtbot.keyClick(box, Qt.Key.Key_Return)
    assert box.value() == int(text)


def running(editor: PipelineEditor) -> list[str]:
    return [s.stage for s in editor.pipeline.spec().stages]


def params(editor: PipelineEditor, stage: str) -> dict[str, Any]:
    (found,) = [s.params for s in editor.pipeline.spec().stages if s.stage == stage]
    return found


def test_add_a_stage_then_at_once_change_the_next_ones_parameter(qtbot, held_window, gate: Gate) -> None:
    editor = held_window("blur", "canny")
    click_row(qtbot, editor, 1)
    qtbot.mouseClick(editor.add_button, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(editor.stage_picker.search, "grayscale")
    qtbot.keyClick(editor.stage_picker.search, Qt.Key.Key_Return)
    click_row(qtbot, editor, 3)
    type_number(qtbot, spin(editor, "high"), "700")
    gate.release()
    qtbot.waitUntil(lambda: running(editor) == ["test_hold", "blur", "grayscale", "canny"], timeout=WAIT_MS)
    assert params(editor, "canny") == {"low": 50, "high": 700}
    assert spin(editor, "high").value() == 700 and editor.panel.error.isHidden()


def test_move_a_stage_up_then_change_its_size(qtbot, held_window, gate: Gate) -> None:
    editor = held_window("blur", "morphology")
    click_row(qtbot, editor, 2)
    qtbot.mouseClick(editor.up_button, Qt.MouseButton.LeftButton)
    type_number(qtbot, spin(editor, "ksize"), "21")
    gate.release()
    qtbot.waitUntil(lambda: running(editor) == ["test_hold", "morphology", "blur"], timeout=WAIT_MS)
    assert params(editor, "morphology")["ksize"] == 21
    assert params(editor, "blur")["ksize"] == 5
    assert spin(editor, "ksize").value() == 21 and editor.panel.error.isHidden()


def test_remove_a_stage_then_change_the_next_ones_size(qtbot, held_window, gate: Gate) -> None:
    editor = held_window("gamma", "blur")
    click_row(qtbot, editor, 1)
    qtbot.mouseClick(editor.remove_button, Qt.MouseButton.LeftButton)
    click_row(qtbot, editor, 1)
    type_number(qtbot, spin(editor, "ksize"), "31")
    assert editor.panel.error.isHidden()  # not rejected as a parameter of the removed gamma
    gate.release()
    qtbot.waitUntil(lambda: running(editor) == ["test_hold", "blur"], timeout=WAIT_MS)
    assert params(editor, "blur")["ksize"] == 31
    assert spin(editor, "ksize").value() == 31


def test_two_parameters_typed_within_one_frame_both_reach_the_stage(qtbot, held_window, gate: Gate) -> None:
    editor = held_window("canny")
    click_row(qtbot, editor, 1)
    type_number(qtbot, spin(editor, "high"), "600")
    type_number(qtbot, spin(editor, "low"), "400")
    gate.release()
    qtbot.waitUntil(lambda: params(editor, "canny")["low"] == 400, timeout=WAIT_MS)
    assert params(editor, "canny") == {"low": 400, "high": 600}
    assert (spin(editor, "low").value(), spin(editor, "high").value()) == (400, 600)
