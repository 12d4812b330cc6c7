"""Makes docs/batch-dialog.png: the batch dialog in the middle of a batch, two workers busy, one row each.

Run under a display (Xvfb): DISPLAY=:77 QT_QPA_PLATFORM=xcb python scripts/batch-screenshot.py docs/batch-dialog.png
It writes a folder of clips (real photos panned) into a throw-away folder and runs the cartoon preset over
them with two worker processes; the picture is taken once the first file has finished and both rows show progress.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
#: Clip name -> (scikit-image photo, frames); different lengths, so the files finish at different times.
CLIPS = {"harbour/astronaut-walk.mp4": ("astronaut", 240), "harbour/coffee-table.mp4": ("coffee", 900),
         "street/cat-on-the-wall.mp4": ("chelsea", 1200), "street/rocket-launch.mp4": ("rocket", 600),
         "street/coins.mp4": ("coins", 300)}


def main(out: str) -> int:
    from tests.media import panning_frames, skimage_bgr, write_clip

    work = Path(tempfile.gettempdir()) / "vision-desk-demo"  # a short, steady path for the picture
    shutil.rmtree(work, ignore_errors=True)
    os.environ["VISION_DESK_DATA"] = str(work / "data")
    for name, (photo, frames) in CLIPS.items():
        write_clip(work / "videos" / name, panning_frames(frames, (640, 360), skimage_bgr(photo)))

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from vision_desk.engine.pipeline import load_spec
    from vision_desk.gui.batch_dialog import BatchDialog
    from vision_desk.gui.theme import apply_theme

    app = QApplication.instance() or QApplication([])
    apply_theme(app, "dark")
    dialog = BatchDialog(load_spec(ROOT / "pipelines" / "cartoon.yaml"), work)
    dialog.input_edit.setText(str(work / "videos"))
    dialog.output_edit.setText(str(work / "cartoons"))
    dialog.recursive.setChecked(True)
    dialog.workers.setValue(2)
    dialog.resize(760, 640)
    dialog.show()
    dialog.start()

    def shoot_when_ready() -> None:
        rows = dialog.work_rows.rows.values()
        busy = len(rows) == 2 and all(row.fraction > 0.1 for row in rows)  # two bars that show something
        if (busy and dialog.results.count() >= 1) or dialog.summary is not None:
            app.processEvents()  # the rows' layout settles before the picture
            dialog.grab().save(out)
            print(f"saved {out}")
            dialog.shutdown()
            app.quit()
        else:
            QTimer.singleShot(50, shoot_when_ready)

    QTimer.singleShot(50, shoot_when_ready)
    app.exec()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "docs/batch-dialog.png"))
