"""The About box, with the versions of the libraries that matter when reporting a problem."""

from __future__ import annotations

import platform
from importlib import metadata

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import qVersion
from PySide6.QtWidgets import QMessageBox, QWidget

from vision_desk import __version__

#: (shown name, distribution names to try); the first one installed wins.
LIBRARIES = (
    ("NumPy", ("numpy",)),
    ("OpenCV", ("opencv-python-headless", "opencv-python", "opencv-contrib-python-headless")),
    ("PyAV (FFmpeg)", ("av",)),
    ("pydantic", ("pydantic",)),
    ("pyqtgraph", ("pyqtgraph",)),
    ("PyTorch", ("torch",)),
    ("Ultralytics", ("ultralytics-opencv-headless", "ultralytics")),
    ("ONNX Runtime", ("onnxruntime", "onnxruntime-gpu")),
    ("OpenVINO", ("openvino",)),
    ("EasyOCR", ("easyocr",)),
)


def library_versions() -> list[tuple[str, str]]:
    """(name, version) rows, read from package metadata (nothing heavy is imported)."""
    rows = [("Vision Desk", __version__), ("Python", platform.python_version()), ("Qt", qVersion()), ("PySide6", pyside_version)]
    for name, dists in LIBRARIES:
        version = "not installed"
        for dist in dists:
            try:
                version = metadata.version(dist)
                break
            except metadata.PackageNotFoundError:
                continue
        rows.append((name, version))
    return rows


def about_html() -> str:
    rows = "".join(f"<tr><td>{name}</td><td>&nbsp;&nbsp;{version}</td></tr>" for name, version in library_versions())
    return (
        f"<h3>Vision Desk {__version__}</h3>"
        "<p>Real-time video vision on the desktop: live OpenCV and deep-learning stages over cameras, files and streams.</p>"
        f"<table>{rows}</table>"
        f"<p>{platform.system()} {platform.release()} ({platform.machine()})</p>"
    )


def show_about(parent: QWidget) -> QMessageBox:
    box = QMessageBox(parent)
    box.setWindowTitle("About Vision Desk")
    box.setTextFormat(box.textFormat().RichText)
    box.setText(about_html())
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.open()
    return box
