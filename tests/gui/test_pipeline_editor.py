"""The pipeline editor on a running pipeline: add, remove, reorder, enable, presets, save and load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QModelIndex, Qt

from vision_desk.engine.frame import Frame
from vision_desk.engine.pipeline import Pipeline, PipelineSpec, StageSpec, load_spec
from vision_desk.engine.stage import Stage
from vision_desk.gui.pipeline_editor import PipelineEditor, preset_paths


class FailingStage(Stage):
    """Fails on every frame, as a stage whose model is missing does."""

    id = "gui_test_failing"

    def process(self, frame: Frame) -> None:
        raise RuntimeError("boom")


@pytest.fixture
def editor(qtbot) -> PipelineEditor:
    e = PipelineEditor()
    qtbot.addWidget(e)
    e.set_spec(PipelineSpec("three", [StageSpec("blur", {"ksize": 3}), StageSpec("canny"), StageSpec("threshold")]))
    e.attach(Pipeline(e.spec(), stage_errors="disable"))
    e.show()
    return e


def live_ids(editor: PipelineEditor) -> list[str]:
    editor.pipeline.apply_edits()  # what the engine does before its next frame
    return [s.stage for s in editor.pipeline.spec().stages]


def test_reorder_by_drag_moves_the_running_stage(editor) -> None:
    # A drop inside the list moves the model row; that is what the editor listens to.
    assert editor.list.model().moveRow(QModelIndex(), 2, QModelIndex(), 0)
    assert [s.stage for s in editor.spec().stages] == ["threshold", "blur", "canny"]
    assert live_ids(editor) == ["threshold", "blur", "canny"]
    assert editor.list.model().moveRow(QModelIndex(), 0, QModelIndex(), 3)
    assert live_ids(editor) == ["blur", "canny", "threshold"]
    assert [editor.list.item(i).text() for i in range(3)] == ["Blur", "Canny edges", "Threshold"]


def test_buttons_remove_and_move_and_checkbox_disables(qtbot, editor) -> None:
    editor.list.setCurrentRow(1)
    qtbot.mouseClick(editor.up_button, Qt.MouseButton.LeftButton)
    assert live_ids(editor) == ["canny", "blur", "threshold"]
    editor.list.item(2).setCheckState(Qt.CheckState.Unchecked)
    assert editor.spec().stages[2].enabled is False
    editor.pipeline.apply_edits()
    assert editor.pipeline.spec().stages[2].enabled is False
    editor.list.setCurrentRow(0)
    qtbot.mouseClick(editor.remove_button, Qt.MouseButton.LeftButton)
    assert live_ids(editor) == ["blur", "threshold"]


def run_one_frame(pipeline: Pipeline) -> None:
    """What the engine thread does for a frame: apply the edits, run the stages."""
    pipeline.process(Frame(np.zeros((24, 32, 3), np.uint8), 0, 0.0))


def test_failed_stage_is_marked_and_unchecked(qtbot, editor) -> None:
    editor.list.setCurrentRow(0)
    editor.add_stage("gui_test_failing")  # after blur, before canny: row 1
    editor.list.setCurrentRow(1)
    run_one_frame(editor.pipeline)
    editor.sync_rows(editor.pipeline.stage_rows())
    assert editor.list.item(1).checkState() == Qt.CheckState.Unchecked
    assert "boom" in editor.list.item(1).toolTip() and "boom" in editor.panel.error.text()
    assert all(editor.list.item(i).checkState() == Qt.CheckState.Checked for i in (0, 2, 3))
    editor.list.item(1).setCheckState(Qt.CheckState.Checked)  # the user tries again
    assert "boom" not in editor.list.item(1).toolTip()


def test_a_stats_snapshot_older_than_the_users_tick_does_not_untick_the_stage(editor) -> None:
    """Stats come from the engine thread a moment late: the failure they report is the one the tick just cleared."""
    editor.add_stage("gui_test_failing", 1)
    run_one_frame(editor.pipeline)
    stale = editor.pipeline.stage_rows()
    editor.sync_rows(stale)
    assert editor.list.item(1).checkState() == Qt.CheckState.Unchecked
    editor.list.item(1).setCheckState(Qt.CheckState.Checked)  # the user tries again
    editor.sync_rows(stale)  # the snapshot taken before the tick arrives now
    assert editor.list.item(1).checkState() == Qt.CheckState.Checked
    run_one_frame(editor.pipeline)  # and it fails again
    editor.sync_rows(editor.pipeline.stage_rows())
    assert editor.list.item(1).checkState() == Qt.CheckState.Unchecked


def test_stats_rows_reach_the_stage_they_name_after_the_rows_moved(editor) -> None:
    """A snapshot taken before a reorder lands names its stages by slot id, so the failure marks the failed stage."""
    editor.add_stage("gui_test_failing", 1)
    run_one_frame(editor.pipeline)
    snapshot = editor.pipeline.stage_rows()  # [blur, failing, canny, threshold]
    editor.move_stage(1, 3)  # the user moves it to the end before the snapshot is shown
    editor.sync_rows(snapshot)
    assert [editor.list.item(i).checkState() == Qt.CheckState.Checked for i in range(4)] == [True, True, True, False]
    assert "boom" in editor.list.item(3).toolTip()


def test_save_and_load_round_trip(qtbot, editor, tmp_path: Path) -> None:
    editor.list.setCurrentRow(0)
    editor.panel.controls["ksize"].spin.setValue(9)
    editor.panel.controls["method"].combo.setCurrentText("median")
    editor.list.item(2).setCheckState(Qt.CheckState.Unchecked)
    path = tmp_path / "mine.yaml"
    assert editor.save_file(path)
    saved = load_spec(path)  # the engine reads it back
    assert saved.as_dict() == editor.spec().as_dict()
    assert saved.stages[0].params == {"method": "median", "ksize": 9}
    assert saved.stages[2].enabled is False

    other = PipelineEditor()
    qtbot.addWidget(other)
    assert other.load_file(path)
    assert other.spec().as_dict() == editor.spec().as_dict()
    other.list.setCurrentRow(0)
    assert other.panel.controls["ksize"].spin.value() == 9
    assert other.list.item(2).checkState() == Qt.CheckState.Unchecked


def test_presets_menu_loads_a_preset_into_the_running_pipeline(editor) -> None:
    names = [a.text() for a in editor.presets_menu.actions()]
    assert {"edges", "motion", "sketch"} <= set(names)
    assert {p.stem for p in preset_paths()} == set(names)
    editor.presets_menu.actions()[names.index("edges")].trigger()
    assert editor.spec().name == "edges"
    assert live_ids(editor) == ["blur", "canny"]


def test_loading_a_broken_file_is_one_sentence(editor, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("stages:\n  - stage: blur\n    params: {ksize: 500}\n")
    messages = []
    editor.message.connect(messages.append)
    assert not editor.load_file(bad)
    assert len(messages) == 1 and "ksize" in messages[0] and "\n" not in messages[0]
    assert editor.spec().name == "three"


def test_loading_a_file_with_an_old_name_says_so_and_saving_updates_it(editor, tmp_path: Path) -> None:
    old = tmp_path / "old.yaml"
    old.write_text("name: old\nstages:\n  - stage: template\n    params: {threshold: 0.65}\n")
    messages = []
    editor.message.connect(messages.append)
    assert editor.load_file(old)
    [message] = messages
    assert message.startswith("Loaded pipeline 'old' from old.yaml. ") and "\n" not in message
    assert "parameter 'threshold' is now 'confidence'" in message
    editor.list.setCurrentRow(0)
    assert editor.panel.controls["confidence"].value() == pytest.approx(0.65)  # the control shows the file's value
    assert editor.save_file(old)
    assert "threshold" not in old.read_text() and load_spec(old).notices == []
    assert load_spec(old).stages[0].params["confidence"] == pytest.approx(0.65)


def test_search_filters_the_categorised_list(qtbot, editor) -> None:
    picker = editor.stage_picker
    everything = picker.visible_ids()
    assert {"blur", "canny", "motion", "grayscale"} <= set(everything)
    qtbot.keyClicks(picker.search, "edge")
    assert "canny" in picker.visible_ids() and "grayscale" not in picker.visible_ids()
    picker.search.clear()
    assert picker.visible_ids() == everything
