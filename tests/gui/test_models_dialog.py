"""File > Models...: the manifest as a table, a download with progress, Cancel, and the hint on a missing model."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import skimage
from PySide6.QtCore import Qt

import vision_desk.models as models
from tests.servers.http_files import FileHandler, serve_folder
from vision_desk.engine.frame import Frame
from vision_desk.engine.stage import Stage
from vision_desk.errors import MissingModel, ModelMissingError
from vision_desk.models import PULL_COMMAND, ModelEntry, sha256_of

#: A real file to serve (792 kB; the gated path sends 64 kB, then the rest only when the test releases it).
PAYLOAD = Path(skimage.__file__).parent / "data" / "astronaut.png"


class NeedsQuickStage(Stage):
    """Needs the served model 'quick', and says so in words that name no command, as a reworded message might."""

    id = "gui_test_needs_quick"

    def setup(self) -> None:
        quick = models.entry("quick")
        if not quick.present:
            raise ModelMissingError("its weights are not on this machine; fetch them from the model store.",
                                    [MissingModel("quick", "quick", str(quick.path.parent))])

    def process(self, frame: Frame) -> None:
        frame.values["quick weights"] = 1.0


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, models_dir: Path) -> Iterator[str]:
    """A manifest of two entries on a local HTTP server: 'quick' (checksummed) and 'slow' (gated after 64 kB)."""
    folder = tmp_path / "served"
    folder.mkdir()
    shutil.copy(PAYLOAD, folder / "weights.bin")
    with serve_folder(folder) as url:
        entries = [ModelEntry("quick", "detect", "quick.bin", f"{url}/weights.bin", sha256_of(PAYLOAD), PAYLOAD.stat().st_size,
                              "MIT", ("detect",), "a test file"),
                   ModelEntry("slow", "detect", "slow.bin", f"{url}/gated/weights.bin", "", 0, "MIT", ("detect",))]
        monkeypatch.setattr(models, "load_manifest", lambda: {e.name: e for e in entries})
        yield url


def open_dialog(qtbot):  # noqa: ANN001, ANN201
    from vision_desk.gui.models_dialog import ModelsDialog

    dialog = ModelsDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def cells(dialog, row: int) -> list[str]:  # noqa: ANN001
    return [dialog.table.item(row, c).text() for c in range(dialog.table.columnCount())]


def test_the_real_manifest_is_listed_with_sizes_and_nothing_downloaded(qtbot, models_dir: Path) -> None:
    dialog = open_dialog(qtbot)
    manifest = models.load_manifest()
    assert dialog.table.rowCount() == len(manifest)
    rows = {cells(dialog, r)[0]: cells(dialog, r) for r in range(dialog.table.rowCount())}
    assert rows["yolo11n"] == ["yolo11n", "detect", "5.6 MB", "no", "AGPL-3.0", "detect, track, count, privacy"]
    assert rows["yolo11n-seg"][2] == "?"  # no size in the manifest: not guessed
    assert not dialog.download_button.isEnabled()  # nothing selected
    dialog.select("yolo11n")
    assert dialog.download_button.isEnabled() and not dialog.cancel_button.isEnabled()


def test_a_malformed_manifest_is_a_sentence_in_the_dialog(qtbot, tmp_path: Path, models_dir: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A manifest entry with a typo: the dialog opens, lists nothing and says which file, entry and field."""
    import functools

    folder = tmp_path / "manifest"
    folder.mkdir()
    (folder / "mine.yaml").write_text("- name: mine\n  task: detect\n  file: mine.pt\n  url: https://example.org/mine.pt\n"
                                      "  sha256: ''\n  size: 0\n  licence: MIT\n  used-by: [detect]\n")
    monkeypatch.setattr(models, "load_manifest", functools.partial(models.load_manifest, folder))
    dialog = open_dialog(qtbot)
    assert dialog.table.rowCount() == 0 and not dialog.download_button.isEnabled()
    assert dialog.status.text() == (f"{folder / 'mine.yaml'}: entry 'mine': field 'used-by' is not one of its fields "
                                    "(a typo?); they are description, file, licence, name, needs, sha256, size, task, "
                                    "url, used_by.")


def test_download_shows_progress_checks_the_file_and_marks_it_downloaded(qtbot, served: str, models_dir: Path) -> None:
    dialog = open_dialog(qtbot)
    assert cells(dialog, 0)[:4] == ["quick", "detect", "0.8 MB", "no"]
    dialog.select("quick")
    qtbot.mouseClick(dialog.download_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.status.text().startswith("Downloaded quick"), timeout=20000)
    assert sha256_of(models_dir / "quick.bin") == sha256_of(PAYLOAD)
    assert cells(dialog, 0)[3] == "yes" and not dialog.download_button.isEnabled()
    assert not dialog.progress.isVisible()
    assert FileHandler.requests == ["/weights.bin"]


def test_cancel_stops_the_download_and_keeps_nothing(qtbot, served: str, models_dir: Path) -> None:
    dialog = open_dialog(qtbot)
    dialog.select("slow")
    qtbot.mouseClick(dialog.download_button, Qt.MouseButton.LeftButton)
    assert dialog.cancel_button.isEnabled() and not dialog.download_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.progress.value() > 0, timeout=10000)
    assert " of 0.8 MB" in dialog.progress.format()  # the server's announced length
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)  # the server holds the rest until released
    FileHandler.release.set()  # the next piece reaches the download, which sees the cancel
    qtbot.waitUntil(lambda: "cancelled" in dialog.status.text(), timeout=10000)
    assert dialog.status.text() == "Download of slow cancelled; nothing was kept."
    assert list(models_dir.iterdir()) == []
    assert cells(dialog, 1)[3] == "no" and dialog.download_button.isEnabled()


def test_a_stage_missing_its_model_points_to_the_dialog(qtbot, settings, models_dir: Path) -> None:
    from vision_desk.engine.pipeline import PipelineSpec, StageSpec
    from vision_desk.gui.main_window import MainWindow
    from vision_desk.gui.models_dialog import GUI_HINT, ModelsDialog

    window = MainWindow(settings, "demo:", PipelineSpec("detect", [StageSpec("detect", {"model": "yolo11n"})]))
    qtbot.addWidget(window)
    window.show()
    try:
        qtbot.waitUntil(lambda: "not downloaded" in window.statusBar().currentMessage(), timeout=30000)
        assert window.statusBar().currentMessage().endswith("fetch it with: vision-desk models pull yolo11n" + GUI_HINT + ".")
        assert "Models..." in [a.text() for a in window.menuBar().actions()[0].menu().actions()]
        dialog = window.show_models()
        assert isinstance(dialog, ModelsDialog) and dialog.isVisible()
        # the model the stage waits for is selected, one click from its download
        assert dialog.selected_name() == "yolo11n" and dialog.download_button.isEnabled()
    finally:
        window.close()


def test_a_stage_waiting_for_its_model_starts_once_the_dialog_downloaded_it(qtbot, settings, tmp_path: Path, models_dir: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole way a user takes: the stage stops for want of its model, Models... fetches it, the stage runs."""
    import torch

    from vision_desk.engine.pipeline import PipelineSpec, StageSpec
    from vision_desk.gui.main_window import MainWindow
    from vision_desk.stages.detection.model_cache import ultralytics_offline

    folder = tmp_path / "served"
    folder.mkdir()
    torch.manual_seed(1)
    ultralytics_offline()("yolo11n.yaml").save(str(folder / "tiny.pt"))  # a real (untrained) YOLO11n
    with serve_folder(folder) as url:
        entry = ModelEntry("tiny-yolo", "detect", "tiny-yolo.pt", f"{url}/tiny.pt", sha256_of(folder / "tiny.pt"), 0, "AGPL-3.0", ("detect",))
        other = ModelEntry("tiny-yolo-seg", "segment", "tiny-yolo-seg.pt", f"{url}/none.pt", "", 0, "AGPL-3.0", ("detect",))
        monkeypatch.setattr(models, "load_manifest", lambda: {entry.name: entry, other.name: other})
        params = {"backend": "pytorch", "imgsz": 160}
        spec = PipelineSpec("detect", [StageSpec("detect", {"model": "tiny-yolo", **params}),
                                       StageSpec("detect", {"model": "tiny-yolo-seg", **params})])
        window = MainWindow(settings, "demo:", spec)
        qtbot.addWidget(window)
        window.show()
        try:
            qtbot.waitUntil(lambda: all(r["error"] for r in window.editor.pipeline.stage_rows()), timeout=30000)
            qtbot.waitUntil(lambda: window.editor.list.item(1).checkState() == Qt.CheckState.Unchecked, timeout=10000)
            item = window.editor.list.item(0)
            assert item.checkState() == Qt.CheckState.Unchecked
            dialog = window.show_models()
            dialog.select("tiny-yolo")
            qtbot.mouseClick(dialog.download_button, Qt.MouseButton.LeftButton)
            qtbot.waitUntil(lambda: dialog.status.text().startswith("Downloaded tiny-yolo"), timeout=20000)
            dialog.close()
            # the stage that stopped for want of it is switched on again, and says so
            assert item.checkState() == Qt.CheckState.Checked
            assert window.editor.list.item(1).checkState() == Qt.CheckState.Unchecked  # tiny-yolo-seg is still missing
            assert window.statusBar().currentMessage() == "Downloaded tiny-yolo; stage detect started again."
            qtbot.waitUntil(lambda: window.last_frame is not None and "detect" in window.last_frame.extras, timeout=60000)
            assert window.last_frame.extras["detect"]["task"] == "detect"
            rows = window.editor.pipeline.stage_rows()
            assert rows[0]["error"] is None and rows[0]["missing_models"] == []
            assert [m["pull"] for m in rows[1]["missing_models"]] == ["tiny-yolo-seg"]
        finally:
            window.close()


def test_the_download_is_offered_from_the_missing_model_field_whatever_the_message_says(
        qtbot, settings, served: str, models_dir: Path) -> None:
    """Nothing reads the sentence: a message with no pull command in it still gets the hint, the selection and the retry."""
    from vision_desk.engine.pipeline import PipelineSpec, StageSpec
    from vision_desk.gui.main_window import MainWindow
    from vision_desk.gui.models_dialog import GUI_HINT

    window = MainWindow(settings, "demo:", PipelineSpec("quick", [StageSpec("gui_test_needs_quick"), StageSpec("grayscale")]))
    qtbot.addWidget(window)
    window.show()
    try:
        qtbot.waitUntil(lambda: "not on this machine" in window.statusBar().currentMessage(), timeout=30000)
        message = window.statusBar().currentMessage()
        assert PULL_COMMAND not in message
        assert message == "stage 'gui_test_needs_quick' could not start: its weights are not on this machine; " \
                          "fetch them from the model store" + GUI_HINT + "."
        item = window.editor.list.item(0)
        qtbot.waitUntil(lambda: item.checkState() == Qt.CheckState.Unchecked, timeout=10000)
        dialog = window.show_models()
        assert dialog.selected_name() == "quick" and dialog.download_button.isEnabled()
        qtbot.mouseClick(dialog.download_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dialog.status.text().startswith("Downloaded quick"), timeout=20000)
        dialog.close()
        assert item.checkState() == Qt.CheckState.Checked
        assert window.statusBar().currentMessage() == "Downloaded quick; stage gui_test_needs_quick started again."
        qtbot.waitUntil(lambda: window.last_frame is not None and "quick weights" in window.last_frame.values, timeout=30000)
        assert window.editor.pipeline.stage_rows()[0]["missing_models"] == []
    finally:
        window.close()
