"""The SQLite gallery: enrol, list, rename, remove, export/import, concurrent readers, damaged files, the CLI."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest

from vision_desk.cli import main
from vision_desk.errors import VisionDeskError
from vision_desk.stages.faces.gallery import Gallery, default_gallery_path


@pytest.fixture(scope="module")
def embeddings(astronaut, zidane) -> dict[str, np.ndarray]:
    """Real dlib embeddings: the astronaut and the two faces of zidane.jpg."""
    from vision_desk.stages.faces.backends import detect_faces, make_embedder

    embedder = make_embedder("dlib")
    ancelotti, zidane_face = embedder.embed(zidane, detect_faces(zidane))
    return {"astronaut": embedder.embed(astronaut, detect_faces(astronaut))[0], "ancelotti": ancelotti, "zidane": zidane_face}


def test_default_gallery_lives_in_the_data_folder(tmp_path):
    assert default_gallery_path() == tmp_path / "data" / "face_gallery.sqlite"
    with Gallery() as gallery:
        assert gallery.path.is_file() and gallery.people() == []


def test_enrol_list_rename_remove(tmp_path, embeddings):
    with Gallery(tmp_path / "g.sqlite") as g:
        g.add("Ada", embeddings["astronaut"], "dlib", source="a.png", thumbnail=b"\xff\xd8jpeg")
        g.add("Ada", embeddings["astronaut"] * 0.99, "dlib", source="b.png")
        g.add("Carlo", embeddings["ancelotti"], "dlib")
        assert [(p.name, p.backend, p.images) for p in g.people()] == [("Ada", "dlib", 2), ("Carlo", "dlib", 1)]
        names, matrix = g.matrix("dlib")
        assert names == ["Ada", "Ada", "Carlo"] and matrix.shape == (3, 128)
        np.testing.assert_array_equal(matrix[2], embeddings["ancelotti"])
        assert g.thumbnail("Ada") == b"\xff\xd8jpeg"
        g.rename("Ada", "Eileen")
        assert [p.name for p in g.people()] == ["Carlo", "Eileen"]
        with pytest.raises(VisionDeskError, match="already has 'Carlo'"):
            g.rename("Eileen", "carlo")  # names are unique regardless of case
        assert g.remove("Eileen") == 2
        assert [p.name for p in g.people()] == ["Carlo"]
        with pytest.raises(VisionDeskError, match="nobody called 'Eileen'"):
            g.remove("Eileen")
        for bad in ("", "  ", "Unknown"):
            with pytest.raises(VisionDeskError):
                g.add(bad, embeddings["zidane"], "dlib")


def test_export_import_round_trip(tmp_path, embeddings):
    with Gallery(tmp_path / "a.sqlite") as a:
        a.add("Eileen", embeddings["astronaut"], "dlib", source="astronaut.png", thumbnail=b"thumb")
        a.add("Zinedine", embeddings["zidane"], "dlib", source="zidane.jpg")
        assert a.export(tmp_path / "gallery.json") == 2
        original = a.entries()
    doc = json.loads((tmp_path / "gallery.json").read_text())
    assert doc["format"] == "vision-desk-face-gallery" and len(doc["entries"]) == 2
    with Gallery(tmp_path / "b.sqlite") as b:
        assert b.import_file(tmp_path / "gallery.json") == (2, 0)
        assert b.import_file(tmp_path / "gallery.json") == (0, 2)  # importing twice adds nothing
        copied = b.entries()
    assert [(e.name, e.backend, e.source, e.enrolled, e.thumbnail) for e in copied] == [
        (e.name, e.backend, e.source, e.enrolled, e.thumbnail) for e in original
    ]
    for x, y in zip(copied, original):
        np.testing.assert_array_equal(x.embedding, y.embedding)  # bit for bit


def test_a_gallery_refuses_to_mix_backends(tmp_path, embeddings):
    with Gallery(tmp_path / "g.sqlite") as g:
        g.add("Eileen", embeddings["astronaut"], "dlib")
        with pytest.raises(VisionDeskError, match="holds dlib embeddings and cannot take facenet"):
            g.add("Eileen", np.ones(512, np.float32) / np.sqrt(512), "facenet")
        with pytest.raises(VisionDeskError, match="holds dlib embeddings and cannot match facenet"):
            g.matrix("facenet")
        assert [p.images for p in g.people()] == [1]
    with Gallery(tmp_path / "f.sqlite") as f:
        f.add("Someone", np.ones(512, np.float32) / np.sqrt(512), "facenet")
        f.export(tmp_path / "facenet.json")
    with Gallery(tmp_path / "g.sqlite") as g:
        with pytest.raises(VisionDeskError, match="cannot take facenet"):
            g.import_file(tmp_path / "facenet.json")


def test_the_faces_stage_refuses_a_gallery_of_the_other_backend(tmp_path, embeddings):
    """Checked before any model loads, so it is the message users see even without the FaceNet weights."""
    from vision_desk.engine.pipeline import Pipeline, spec_from_dict

    with Gallery(tmp_path / "g.sqlite") as g:
        g.add("Eileen", embeddings["astronaut"], "dlib")
    params = {"recognize": True, "backend": "facenet", "gallery": str(tmp_path / "g.sqlite")}
    with pytest.raises(VisionDeskError, match="holds dlib embeddings and cannot match facenet"):
        Pipeline(spec_from_dict({"stages": [{"stage": "faces", "params": params}]})).setup()


def test_readers_are_not_blocked_by_a_writer(tmp_path, embeddings):
    path = tmp_path / "g.sqlite"
    with Gallery(path) as writer, Gallery(path) as reader:
        writer.add("Eileen", embeddings["astronaut"], "dlib")
        assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        version = reader.data_version()
        conn = writer._conn  # hold a write transaction open, as a long enrolment would
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO people (name, created) VALUES ('Pending', 0)")
        assert [p.name for p in reader.people()] == ["Eileen"]  # reads the last commit, without waiting
        conn.commit()
        assert reader.data_version() != version  # how a running stage notices new enrolments


@pytest.mark.parametrize("damage", ["text", "header only", "foreign database", "damaged pages"])
def test_a_damaged_gallery_gives_a_clear_error_and_is_never_overwritten(tmp_path, embeddings, damage):
    path = tmp_path / "g.sqlite"
    if damage == "text":
        path.write_text("not a database\n")
    elif damage == "header only":
        path.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 8)
    elif damage == "foreign database":
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE notes (body TEXT)")
    else:
        with Gallery(path) as g:
            for i in range(40):
                g.add(f"person {i}", embeddings["astronaut"] + i, "dlib", thumbnail=bytes(2000))
        data = bytearray(path.read_bytes())
        data[4096:12288] = b"\xa5" * 8192  # scribble over pages 2 and 3
        path.write_bytes(bytes(data))
    before = path.read_bytes()
    with pytest.raises(VisionDeskError) as err:
        with Gallery(path) as g:
            g.add("New", embeddings["zidane"], "dlib")
    message = str(err.value)
    assert str(path) in message and "left untouched" in message and "\n" not in message
    assert path.read_bytes() == before
    assert main(["faces", "list", "--gallery", str(path)]) == 1
    assert path.read_bytes() == before
