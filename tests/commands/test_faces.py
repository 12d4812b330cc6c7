"""`vision-desk faces ...`: enrol, list, rename, remove, export, import and path, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest

from tests.media import skimage_bgr
from vision_desk.cli import main


@pytest.fixture(autouse=True)
def _data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the user's real gallery."""
    monkeypatch.setenv("VISION_DESK_DATA", str(tmp_path / "data"))


@pytest.fixture
def astronaut_png(tmp_path: Path) -> Path:
    path = tmp_path / "astronaut.png"
    cv2.imwrite(str(path), skimage_bgr("astronaut"))
    return path


def test_enroll_list_rename_remove_export_import(tmp_path, astronaut_png, capsys):
    g = ["--gallery", str(tmp_path / "cli.sqlite")]
    assert main(["faces", "enroll", "Eileen Collins", str(astronaut_png), *g]) == 0
    assert "enrolled" in capsys.readouterr().out
    assert main(["faces", "list", "--json", *g]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(p["name"], p["backend"], p["images"]) for p in listed] == [("Eileen Collins", "dlib", 1)]
    assert main(["faces", "rename", "Eileen Collins", "Eileen", *g]) == 0
    assert main(["faces", "export", str(tmp_path / "out.json"), *g]) == 0
    assert main(["faces", "remove", "Eileen", *g]) == 0
    capsys.readouterr()
    assert main(["faces", "list", *g]) == 0
    assert "nobody enrolled" in capsys.readouterr().out
    assert main(["faces", "import", str(tmp_path / "out.json"), *g]) == 0
    assert main(["faces", "list", *g]) == 0
    assert "Eileen" in capsys.readouterr().out
    assert main(["faces", "path", *g]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "cli.sqlite")


def test_errors_are_one_line(tmp_path, capsys):
    cv2.imwrite(str(tmp_path / "coffee.png"), skimage_bgr("coffee"))
    assert main(["faces", "enroll", "Nobody", str(tmp_path / "coffee.png"), "--gallery", str(tmp_path / "g.sqlite")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: no face found") and err.count("\n") == 1
    assert main(["faces", "remove", "Ghost", "--gallery", str(tmp_path / "missing.sqlite")]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "missing.sqlite").exists()


def test_default_gallery_path_follows_the_data_folder(tmp_path, capsys):
    assert main(["faces", "path"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "data" / "face_gallery.sqlite")
