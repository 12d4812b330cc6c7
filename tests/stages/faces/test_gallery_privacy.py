"""The gallery's files are the user's alone, and removing a person takes their face data out of the files.

Enrolments here are real (dlib on real photos, through the CLI); modes are read
from the files on disk, with a umask of 0 so that nothing but the code's own
chmod can make them private.
"""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import cv2
import numpy as np

from tests.media import ultralytics_asset
from tests.stages.faces.helpers import ASTRONAUT
from vision_desk.cli import main
from vision_desk.stages.faces.gallery import SIDECAR_SUFFIXES, Gallery
from vision_desk.stages.faces.recognize import enrol_images


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def gallery_files(path: Path) -> list[Path]:
    """The database and whichever of its -wal, -shm and -journal files exist now."""
    return [p for p in (path, *(path.with_name(path.name + s) for s in SIDECAR_SUFFIXES)) if p.exists()]


def file_bytes(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in gallery_files(path))


def pieces(data: bytes, size: int = 16) -> list[bytes]:
    """Non-overlapping pieces of ``data``: a row longer than a page is split between pages (a 4-byte page number
    between the parts), so a value is found piece by piece, the one piece across the cut aside."""
    return [data[i : i + size] for i in range(0, len(data) - size + 1, size)]


def share_found(found_in: bytes, wanted: list[bytes]) -> float:
    return sum(piece in found_in for piece in wanted) / len(wanted)


def test_a_new_gallery_its_journals_folder_and_export_are_the_users_alone(tmp_path, astronaut_png, permissive_umask):
    path = tmp_path / "new" / "folder" / "gallery.sqlite"
    with Gallery(path) as gallery:
        assert [r.added for r in enrol_images(gallery, ASTRONAUT, [astronaut_png], "dlib")] == [True]
        files = gallery_files(path)
        assert {p.name for p in files} >= {"gallery.sqlite", "gallery.sqlite-wal", "gallery.sqlite-shm"}
        assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}
        gallery.export(tmp_path / "export.json")
    assert mode(tmp_path / "new") == mode(tmp_path / "new" / "folder") == 0o700
    assert mode(tmp_path / "export.json") == 0o600


def test_a_gallery_left_readable_by_others_is_tightened_when_opened(tmp_path, astronaut_gallery, permissive_umask):
    path = tmp_path / "old.sqlite"
    shutil.copyfile(astronaut_gallery, path)
    with Gallery(path) as writer:  # open, so the -wal and -shm files exist as an older Vision Desk left them
        writer.rename(ASTRONAUT, "Eileen")
        for p in gallery_files(path):
            p.chmod(0o644)
        assert main(["faces", "list", "--gallery", str(path)]) == 0
        assert {p.name: mode(p) for p in gallery_files(path)} == {p.name: 0o600 for p in gallery_files(path)}


def test_faces_remove_takes_the_embedding_and_thumbnail_bytes_out_of_the_files(tmp_path, astronaut_png, capsys):
    path = tmp_path / "g.sqlite"
    zidane_jpg = tmp_path / "zidane.jpg"
    shutil.copyfile(ultralytics_asset("zidane.jpg"), zidane_jpg)
    assert main(["faces", "enroll", ASTRONAUT, str(astronaut_png), "--gallery", str(path)]) == 0
    assert main(["faces", "enroll", "Zinedine", str(zidane_jpg), "--gallery", str(path)]) == 0
    reader = Gallery(path, create=False)  # a pipeline recognising faces keeps the gallery open meanwhile
    try:
        entries = {e.name: e for e in reader.entries()}
        removed, kept = entries[ASTRONAUT], entries["Zinedine"]
        assert removed.thumbnail and cv2.imdecode(np.frombuffer(removed.thumbnail, np.uint8), cv2.IMREAD_COLOR) is not None
        # the JPEG headers of both thumbnails are alike (same encoder and quality): only the picture's own bytes count
        picture = [piece for piece in pieces(removed.thumbnail, 64) if piece not in kept.thumbnail]
        assert len(picture) > len(removed.thumbnail) // 128
        secret = pieces(removed.embedding.astype("<f4").tobytes()) + picture
        assert share_found(file_bytes(path), secret) > 0.9  # the search finds them while they are there

        assert main(["faces", "remove", ASTRONAUT, "--gallery", str(path)]) == 0
        assert "removed" in capsys.readouterr().out
        after = file_bytes(path)
        assert [piece for piece in secret if piece in after] == []
        assert share_found(after, pieces(kept.embedding.astype("<f4").tobytes())) > 0.9  # the rest stays
        assert [p.name for p in reader.people()] == ["Zinedine"]  # the open reader sees the change
    finally:
        reader.close()
    assert [piece for piece in secret if piece in file_bytes(path)] == []
    # no face crop or thumbnail file anywhere (the data folder included): the gallery file was all there was
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == ["g.sqlite", "zidane.jpg"]
