"""Makes docs/teach-panel.png: the app on a clip of three photo prints, with a model taught on hand-held views of
the same photos, the Teach panel open after training.

Run under a display (Xvfb): DISPLAY=:77 QT_QPA_PLATFORM=xcb python scripts/teach-screenshot.py docs/teach-panel.png
It works in a throw-away data folder; the model trains from untrained weights (--from-scratch) because this
machine cannot download the ImageNet ones.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PHOTOS = {"astronaut": "astronaut", "cat": "chelsea", "coffee": "coffee"}


def photo(name: str) -> np.ndarray:
    from skimage import data

    return cv2.cvtColor(getattr(data, name)(), cv2.COLOR_RGB2BGR)


def prints_clip(path: Path, n: int = 900, size: tuple[int, int] = (1280, 720)) -> Path:
    """Three photo prints drifting across a dark table, side by side."""
    from tests.media import write_clip

    w, h = size
    prints = {k: cv2.copyMakeBorder(cv2.resize(photo(p), (340, 250)), 3, 3, 3, 3, cv2.BORDER_CONSTANT,
                                    value=(170, 170, 170)) for k, p in PHOTOS.items()}
    frames = []
    for t in range(n):
        image = np.full((h, w, 3), 22, np.uint8)
        for lane, card in enumerate(prints.values()):
            ch, cw = card.shape[:2]
            x = int(40 + lane * 420 + 25 * np.sin(t / 25 + lane * 2))
            y = int(80 + lane * 90 + 120 * (0.5 + 0.5 * np.sin(t / 40 + lane)))
            image[y:y + ch, x:x + cw] = card
        frames.append(image)
    return write_clip(path, frames)


def main(out: str) -> int:
    work = Path(tempfile.mkdtemp(prefix="teach-shot-"))
    os.environ["VISION_DESK_DATA"] = str(work / "data")
    from vision_desk.benchmarks.media import handheld_frames
    from vision_desk.teach.dataset import TeachSet, teach_root
    from vision_desk.teach.train import TrainOptions, train

    project = teach_root() / "photos"
    samples = TeachSet(project / "samples")
    for k, (name, p) in enumerate(PHOTOS.items()):
        for frame in handheld_frames(photo(p), 40, seed=k, size=(480, 360)):
            samples.add(name, frame)
    train(samples.root, project / "model", TrainOptions(mode="quick", pretrained=False))
    clip = prints_clip(work / "prints.mp4")

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from vision_desk.engine.pipeline import spec_from_dict
    from vision_desk.gui.main_window import MainWindow
    from vision_desk.gui.settings import Settings

    app = QApplication.instance() or QApplication([])
    spec = spec_from_dict({"stages": [
        {"stage": "contours", "params": {"min_area": 20000, "objects": "light", "draw_contours": False,
                                         "draw_centroids": False}},
        {"stage": "track", "params": {"source": "contours", "trail": 0}},
        {"stage": "classify", "params": {"model": str(project / "model"), "on": "objects"}},
    ]})
    window = MainWindow(Settings(), str(clip), spec)
    window.resize(1600, 1000)
    window.show()
    window.monitor_dock.hide()  # the picture is about the Teach panel: give it the whole right side
    window.teach_dock.show()
    window.teach.open_project("photos")
    window.teach.tabs.setCurrentIndex(1)  # Train: the curves and the confusion matrix of the last training

    def shoot() -> None:
        window.grab().save(out)
        print(f"saved {out}")
        window.close()

    QTimer.singleShot(10000, shoot)
    app.exec()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "docs/teach-panel.png"))
