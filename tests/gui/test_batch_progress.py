"""Batch progress in the dialog: a row per file in progress from real worker processes; the newest-report mailbox."""

from __future__ import annotations

import re
import shutil
import threading
from pathlib import Path

from PySide6.QtCore import Qt, QTimer

from vision_desk.engine.batch import BatchItem, BatchProgress
from vision_desk.engine.pipeline import PipelineSpec, StageSpec
from vision_desk.gui.batch_dialog import BatchDialog
from vision_desk.gui.batch_progress import ProgressMailbox


def test_two_workers_show_a_row_per_file_in_progress(qtbot, tmp_path: Path, clip_300: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    names = ["one.mp4", "two.mp4", "three.mp4"]
    for name in names:
        shutil.copy(clip_300, inputs / name)
    dialog = BatchDialog(PipelineSpec("gray", [StageSpec("grayscale")]), tmp_path)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.input_edit.setText(str(inputs))
    dialog.output_edit.setText(str(tmp_path / "out"))
    dialog.workers.setValue(2)
    seen: list[list[tuple[str, str]]] = []  # the rows on screen, sampled faster than they change
    sampler = QTimer()
    sampler.timeout.connect(lambda: seen.append([(r.name.text(), r.frames.text()) for r in dialog.work_rows.rows.values()]))
    sampler.start(20)
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.summary is not None, timeout=60000)
    sampler.stop()
    assert max(len(rows) for rows in seen) == 2  # both workers busy at once, one row each
    shown = {name for rows in seen for name, _ in rows}
    assert shown == set(names)
    for rows in seen:
        for _, frames in rows:
            done, total = re.fullmatch(r"(\d+) / (\d+) frames", frames).groups()
            assert total == "300" and 0 <= int(done) <= 300
    assert dialog.work_rows.rows == {} and dialog.work_rows.idle.isVisibleTo(dialog)
    assert dialog.summary.count("done") == 3
    lines = sorted(dialog.results.item(i).text() for i in range(dialog.results.count()))
    assert [line.split("  (")[0] for line in lines] == ["done: one.mp4", "done: three.mp4", "done: two.mp4"]
    assert all("(300 frames" in line for line in lines)
    assert dialog.overall_bar.value() == dialog.overall_bar.maximum()
    assert "Finished" in dialog.summary_label.text() and "3 done, 0 failed; 900 frames" in dialog.summary_label.text()


def test_the_mailbox_keeps_the_newest_report_per_file_and_none_after_it_is_done() -> None:
    mailbox = ProgressMailbox()
    a, b = BatchItem(Path("a.mp4"), Path("a.mp4"), []), BatchItem(Path("b.mp4"), Path("b.mp4"), [])

    def worker(item: BatchItem, index: int) -> None:
        for frame in range(1, 501):
            mailbox.offer(BatchProgress(index, 2, item, frame, 500, frame / 100))

    threads = [threading.Thread(target=worker, args=(item, n)) for n, item in enumerate((a, b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted((r.item.rel.name, r.frame) for r in mailbox.take()) == [("a.mp4", 500), ("b.mp4", 500)]
    assert mailbox.take() == []
    mailbox.offer(BatchProgress(0, 2, a, 10, 500, 1.0))
    mailbox.finish(a)  # its pending report goes, and a worker's late one is ignored
    mailbox.offer(BatchProgress(0, 2, a, 500, 500, 1.1))
    mailbox.offer(BatchProgress(1, 2, b, 7, 500, 1.1))
    assert [(r.item.rel.name, r.frame) for r in mailbox.take()] == [("b.mp4", 7)]
