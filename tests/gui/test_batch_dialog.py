"""The batch dialog processes a folder on a worker thread and lists the file it could not read."""

from __future__ import annotations

import html
import importlib.util
import re
import shutil
from pathlib import Path

import av
import pytest
from PySide6.QtCore import Qt

from vision_desk.engine.pipeline import PipelineSpec, StageSpec
from vision_desk.gui.batch_dialog import BatchDialog


@pytest.mark.parametrize("workers", [1, 0], ids=["in-the-app", "auto-workers"])
def test_batch_processes_a_folder_and_reports_the_bad_file(qtbot, tmp_path: Path, small_clip: Path, workers: int) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(small_clip, inputs / "good.mp4")
    (inputs / "broken.mp4").write_bytes(b"")
    out = tmp_path / "results"
    dialog = BatchDialog(PipelineSpec("gray", [StageSpec("grayscale")]), tmp_path)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.input_edit.setText(str(inputs))
    dialog.output_edit.setText(str(out))
    dialog.workers.setValue(workers)
    assert dialog.workers.text() == ("auto (one per core)" if workers == 0 else "1")
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert dialog.running and not dialog.start_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.summary is not None, timeout=60000)
    summary = dialog.summary
    assert summary.count("done") == 1 and summary.count("failed") == 1
    assert summary.failed[0].input.name == "broken.mp4"
    rows = [dialog.results.item(i).text() for i in range(dialog.results.count())]
    assert any(r.startswith("failed: broken.mp4") and "empty" in r for r in rows)
    assert any(r.startswith("done: good.mp4") for r in rows)
    assert "Failures" in dialog.summary_label.text() and "broken.mp4" in dialog.summary_label.text()
    assert dialog.overall_bar.value() == dialog.overall_bar.maximum()
    with av.open(str(out / "good.mp4")) as container:
        assert sum(1 for _ in container.decode(video=0)) == 40
    assert (out / "good.jsonl").read_text().count("\n") == 40
    assert dialog.start_button.isEnabled() and not dialog.running


def test_many_failures_name_each_file_once_and_the_summary_shows_the_first_few(qtbot, tmp_path: Path) -> None:
    """Seven broken files, one named like HTML: each result names its file once, the summary under the list names
    five and counts the rest, and a name is shown as text, never as markup."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    names = ["a<b>c.mp4"] + [f"broken{i}.mp4" for i in range(6)]
    for name in names:
        (inputs / name).write_bytes(b"")
    dialog = BatchDialog(PipelineSpec("none"), tmp_path)
    qtbot.addWidget(dialog)
    dialog.input_edit.setText(str(inputs))
    dialog.output_edit.setText(str(tmp_path / "out"))
    dialog.workers.setValue(1)
    dialog.start()
    qtbot.waitUntil(lambda: dialog.summary is not None, timeout=60000)
    rows = sorted(dialog.results.item(i).text() for i in range(dialog.results.count()))
    assert rows == sorted(f"failed: {n} is empty (0 bytes); it is not a video." for n in names)
    label = dialog.summary_label.text()
    assert label.count("is empty (0 bytes)") == 5 and "... and 2 more, listed under Results." in label
    assert "a&lt;b&gt;c.mp4 is empty" in label and "a<b>c" not in label


def test_missing_input_folder_is_one_sentence(qtbot, tmp_path: Path) -> None:
    dialog = BatchDialog(PipelineSpec("none"), tmp_path)
    qtbot.addWidget(dialog)
    dialog.input_edit.setText(str(tmp_path / "nope"))
    dialog.start()
    assert not dialog.running
    assert "does not exist" in dialog.summary_label.text()


def test_batch_processes_a_list_of_a_file_and_a_web_video(qtbot, tmp_path: Path, small_clip: Path, web_base: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from PySide6.QtWidgets import QFileDialog, QToolButton

    listing = tmp_path / "sources.txt"
    listing.write_text(f"{small_clip}\n{web_base}/video.html\n")
    out = tmp_path / "results"
    dialog = BatchDialog(PipelineSpec("gray", [StageSpec("grayscale")]), tmp_path)
    qtbot.addWidget(dialog)
    dialog.show()
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args, **kwargs: (str(listing), ""))
    list_button = next(b for b in dialog.findChildren(QToolButton) if b.text() == "List...")
    qtbot.mouseClick(list_button, Qt.MouseButton.LeftButton)
    assert dialog.input_edit.text() == str(listing)
    dialog.output_edit.setText(str(out))
    dialog.workers.setValue(1)
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.summary is not None, timeout=60000)
    assert [i.status for i in dialog.summary.items] == ["done", "done"]
    page = dialog.summary.items[1]
    with av.open(str(page.outputs[0])) as container:
        assert sum(1 for _ in container.decode(video=0)) == 20  # every frame of the page's clip
    rows = [dialog.results.item(i).text() for i in range(dialog.results.count())]
    assert any(r.startswith("done: ") and "-video-html  (20 frames" in r for r in rows)  # named after its URL


def test_an_unreachable_ray_cluster_is_one_sentence_and_the_dialog_goes_on(qtbot, tmp_path: Path, small_clip: Path,
                                                                           settings) -> None:  # noqa: ANN001
    from vision_desk.benchmarks.servers.rtsp import free_port

    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(small_clip, inputs / "clip.mp4")
    address = f"127.0.0.2:{free_port()}"  # nothing listens there
    dialog = BatchDialog(PipelineSpec("gray", [StageSpec("grayscale")]), tmp_path, settings=settings)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.input_edit.setText(str(inputs))
    dialog.output_edit.setText(str(tmp_path / "out"))
    assert not dialog.segment_minutes.isEnabled() or dialog.workers.value() != 1
    qtbot.keyClicks(dialog.ray_edit, address)
    assert not dialog.workers.isEnabled() and dialog.segment_minutes.isEnabled()  # the cluster decides; files may be cut
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert dialog.summary_label.text() == "" and dialog.cancel_button.isEnabled()  # joining is the worker's business
    qtbot.waitUntil(lambda: dialog.start_button.isEnabled(), timeout=60000)
    if importlib.util.find_spec("ray") is None:
        expected = ("Running a batch on a Ray cluster needs Ray, which is not installed; install it with "
                    "pip install 'vision-desk[cluster]' (or pip install 'ray[default]').")
    else:
        expected = (f"Cannot reach the Ray cluster at {address} (Connection refused); start its head with "
                    "`ray start --head` and give the address it prints, or check the host and port.")
    assert html.unescape(re.sub("<[^>]+>", "", dialog.summary_label.text())) == expected
    assert dialog.summary is None and not dialog.running and not dialog.cancel_button.isEnabled()
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())

    again = BatchDialog(PipelineSpec("gray", [StageSpec("grayscale")]), tmp_path, settings=settings)
    qtbot.addWidget(again)
    assert again.ray_edit.text() == address and again.input_edit.text() == str(inputs)  # remembered

    dialog.ray_edit.clear()  # the same dialog, on this machine now
    dialog.workers.setValue(1)
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.summary is not None, timeout=60000)
    assert [i.status for i in dialog.summary.items] == ["done"]
    assert dialog.summary_label.text().startswith("<b>Finished")

