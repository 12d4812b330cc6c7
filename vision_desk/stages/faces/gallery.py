"""The face gallery: enrolled people and their face embeddings, in one SQLite file.

Default path: ``<user data folder>/face_gallery.sqlite`` (``VISION_DESK_DATA``
moves the folder; ``vision-desk faces path`` prints the file). The database
runs in WAL mode, so the GUI, the CLI and a running pipeline may read it while
one of them writes; each open sets a busy timeout instead of failing on a lock.

The file holds biometric data, so it is readable by its user only (``0600``;
SQLite gives its ``-wal``, ``-shm`` and ``-journal`` files the same mode), and
a gallery found with looser permissions is tightened when opened (see
:mod:`vision_desk.private`). Removing a person deletes their embeddings and
face thumbnails, then vacuums the database and empties its write-ahead log, so
the removed bytes are no longer in the files.

Every embedding row records the backend that made it. A gallery holds one
backend's embeddings only: enrolling or importing the other backend's is
refused, and asking it for the other backend's matrix raises, so dlib and
FaceNet vectors are never compared.

A file that is not a readable Vision Desk gallery raises
:class:`~vision_desk.errors.VisionDeskError` and is never written to.

Export format (JSON, one file)::

    {"format": "vision-desk-face-gallery", "version": 1,
     "entries": [{"name": "Ada", "backend": "dlib", "dim": 128,
                  "embedding": "<base64 of little-endian float32>",
                  "source": "ada1.jpg", "enrolled": 1767225600.0,
                  "thumbnail": "<base64 JPEG or null>"}]}
"""

from __future__ import annotations

import base64
import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Iterable

import numpy as np
from pydantic import BaseModel, Field, ValidationInfo, field_validator

from vision_desk.config_files import check, read_json
from vision_desk.errors import VisionDeskError
from vision_desk.private import PRIVATE_FILE, private_dir, private_file, tighten, write_private

APP_ID = "vision-desk-face-gallery"
SCHEMA_VERSION = 1
RESERVED_NAMES = {"unknown"}
_SQLITE_HEADER = b"SQLite format 3\x00"
#: The files SQLite keeps beside a database while it is open (and a rollback journal after a crash).
SIDECAR_SUFFIXES = ("-wal", "-shm", "-journal")

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE people (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    created REAL NOT NULL
);
CREATE TABLE embeddings (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    backend TEXT NOT NULL,
    dim INTEGER NOT NULL,
    vector BLOB NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    thumbnail BLOB,
    enrolled REAL NOT NULL
);
CREATE INDEX embeddings_person ON embeddings(person_id);
"""


def default_gallery_path() -> Path:
    """``face_gallery.sqlite`` in the user data folder (``VISION_DESK_DATA`` overrides the folder)."""
    from vision_desk.weights import data_dir

    return data_dir() / "face_gallery.sqlite"


@dataclass(frozen=True)
class Person:
    """One enrolled person as listed to users."""

    name: str
    backend: str
    images: int
    enrolled: float  # time of the latest enrolment (seconds since the epoch)


@dataclass(frozen=True)
class Entry:
    """One stored embedding with where it came from."""

    name: str
    backend: str
    embedding: np.ndarray
    source: str
    enrolled: float
    thumbnail: bytes | None


class Gallery:
    """An open face gallery.

    Args:
        path: the database file; the default gallery when None.
        create: make the file when it does not exist (otherwise a missing file raises).

    Use it as a context manager, or call :meth:`close`. One object belongs to
    the thread that opened it; other threads open their own.
    """

    def __init__(self, path: str | Path | None = None, *, create: bool = True) -> None:
        self.path = Path(path).expanduser() if path else default_gallery_path()
        self._conn = _open(self.path, create)

    def __enter__(self) -> "Gallery":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._conn.close()

    # -- reading ---------------------------------------------------------------
    def backend(self) -> str | None:
        """The backend of the stored embeddings, None when the gallery is empty."""
        row = self._conn.execute("SELECT backend FROM embeddings LIMIT 1").fetchone()
        return row[0] if row else None

    def people(self) -> list[Person]:
        """Every enrolled person, by name."""
        rows = self._conn.execute(
            "SELECT p.name, e.backend, COUNT(e.id), MAX(e.enrolled) FROM people p JOIN embeddings e ON e.person_id = p.id "
            "GROUP BY p.id, e.backend ORDER BY p.name COLLATE NOCASE"
        ).fetchall()
        return [Person(name, backend, int(n), float(t)) for name, backend, n, t in rows]

    def entries(self) -> list[Entry]:
        """Every stored embedding (oldest first)."""
        rows = self._conn.execute(
            "SELECT p.name, e.backend, e.dim, e.vector, e.source, e.enrolled, e.thumbnail "
            "FROM embeddings e JOIN people p ON p.id = e.person_id ORDER BY e.id"
        ).fetchall()
        return [Entry(name, backend, _vector(blob, dim), source, float(t), thumb) for name, backend, dim, blob, source, t, thumb in rows]

    def matrix(self, backend: str) -> tuple[list[str], np.ndarray]:
        """(name per row, (M, D) float32 embeddings) for matching faces made by ``backend``.

        Raises:
            VisionDeskError: the gallery holds the other backend's embeddings.
        """
        self.check_backend(backend, "match")
        rows = self._conn.execute(
            "SELECT p.name, e.dim, e.vector FROM embeddings e JOIN people p ON p.id = e.person_id WHERE e.backend = ? ORDER BY e.id",
            (backend,),
        ).fetchall()
        if not rows:
            return [], np.zeros((0, 0), np.float32)
        return [r[0] for r in rows], np.stack([_vector(blob, dim) for _, dim, blob in rows])

    def data_version(self) -> int:
        """Changes whenever another connection commits (a new enrolment while a pipeline runs)."""
        return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def thumbnail(self, name: str) -> bytes | None:
        """The JPEG thumbnail of a person's latest enrolment image, if any."""
        row = self._conn.execute(
            "SELECT e.thumbnail FROM embeddings e JOIN people p ON p.id = e.person_id WHERE p.name = ? AND e.thumbnail IS NOT NULL "
            "ORDER BY e.id DESC LIMIT 1",
            (name,),
        ).fetchone()
        return row[0] if row else None

    # -- writing ---------------------------------------------------------------
    def add(self, name: str, embedding: np.ndarray, backend: str, *, source: str = "", thumbnail: bytes | None = None,
            enrolled: float | None = None) -> None:
        """Stores one embedding for a person (created on first use)."""
        self.add_many([(name, embedding, source, thumbnail, enrolled)], backend)

    def add_many(self, rows: Iterable[tuple[str, np.ndarray, str, bytes | None, float | None]], backend: str) -> int:
        """Stores (name, embedding, source, thumbnail, enrolled) rows of one backend in one transaction."""
        rows = list(rows)
        self.check_backend(backend, "take")
        now = time.time()
        with self._conn:
            for name, embedding, source, thumbnail, enrolled in rows:
                name = check_name(name)
                vec = np.asarray(embedding, np.float32).reshape(-1)
                if not np.all(np.isfinite(vec)):
                    raise VisionDeskError(f"the embedding for '{name}' has non-finite values; enrol that image again.")
                person = self._person_id(name, create=True, now=now)
                self._conn.execute(
                    "INSERT INTO embeddings (person_id, backend, dim, vector, source, thumbnail, enrolled) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (person, backend, len(vec), vec.astype("<f4").tobytes(), source, thumbnail, enrolled if enrolled is not None else now),
                )
        return len(rows)

    def rename(self, old: str, new: str) -> None:
        """Renames a person; the new name must be free."""
        new = check_name(new)
        with self._conn:
            person = self._person_id(old)
            other = self._conn.execute("SELECT id, name FROM people WHERE name = ?", (new,)).fetchone()
            if other and other[0] != person:
                raise VisionDeskError(f"the gallery already has '{other[1]}'; remove or rename that person first.")
            self._conn.execute("UPDATE people SET name = ? WHERE id = ?", (new, person))

    def remove(self, name: str) -> int:
        """Removes a person, their embeddings and face thumbnails; returns how many embeddings went.

        The bytes go from the files too, not only from the tables: SQLite overwrites deleted rows with zeros
        (``secure_delete``), ``VACUUM`` rebuilds the database without the freed pages, and a ``TRUNCATE``
        checkpoint empties the write-ahead log, which still held the pages as they were when the person was
        enrolled. (While another program reads the gallery, the log is emptied when the last one closes it.)
        """
        self._conn.execute("PRAGMA secure_delete = ON")
        with self._conn:
            person = self._person_id(name)
            n = self._conn.execute("DELETE FROM embeddings WHERE person_id = ?", (person,)).rowcount
            self._conn.execute("DELETE FROM people WHERE id = ?", (person,))
        self._conn.execute("VACUUM")
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return int(n)

    # -- export / import -------------------------------------------------------------
    def export(self, path: str | Path) -> int:
        """Writes every entry to a JSON file (see the module docstring); returns how many."""
        entries = self.entries()
        doc = {
            "format": APP_ID,
            "version": SCHEMA_VERSION,
            "exported": time.time(),
            "entries": [
                {
                    "name": e.name, "backend": e.backend, "dim": int(e.embedding.size),
                    "embedding": base64.b64encode(e.embedding.astype("<f4").tobytes()).decode("ascii"),
                    "source": e.source, "enrolled": e.enrolled,
                    "thumbnail": base64.b64encode(e.thumbnail).decode("ascii") if e.thumbnail else None,
                }
                for e in entries
            ],
        }
        path = Path(path)
        part = path.with_name(path.name + ".part")
        write_private(part, json.dumps(doc, indent=1).encode("utf-8"))  # the same biometric data as the gallery
        part.replace(path)
        return len(entries)

    def import_file(self, path: str | Path) -> tuple[int, int]:
        """Adds the entries of an exported file; returns (added, already present)."""
        entries = read_export(path)
        backends = {e.backend for e in entries}
        if len(backends) > 1:
            raise VisionDeskError(f"{path} mixes {' and '.join(sorted(backends))} embeddings; a gallery takes one backend.")
        if not entries:
            return 0, 0
        backend = backends.pop()
        have = {(e.name.casefold(), e.embedding.astype("<f4").tobytes()) for e in self.entries()}
        new = [e for e in entries if (e.name.casefold(), e.embedding.astype("<f4").tobytes()) not in have]
        self.add_many(((e.name, e.embedding, e.source, e.thumbnail, e.enrolled) for e in new), backend)
        return len(new), len(entries) - len(new)

    # -- helpers -----------------------------------------------------------------------
    def check_backend(self, backend: str, action: str = "take") -> None:
        """Raises when the gallery holds embeddings of another backend than ``backend``."""
        have = self.backend()
        if have is not None and have != backend:
            raise VisionDeskError(
                f"face gallery {self.path} holds {have} embeddings and cannot {action} {backend} embeddings "
                f"(a gallery keeps one backend); use the {have} backend, or another gallery file."
            )

    def _person_id(self, name: str, *, create: bool = False, now: float = 0.0) -> int:
        row = self._conn.execute("SELECT id FROM people WHERE name = ?", (name,)).fetchone()
        if row:
            return int(row[0])
        if not create:
            raise VisionDeskError(f"nobody called '{name}' is in the face gallery {self.path}; 'vision-desk faces list' shows who is.")
        return int(self._conn.execute("INSERT INTO people (name, created) VALUES (?, ?)", (name, now)).lastrowid)


def check_name(name: str) -> str:
    """A person's name, trimmed; empty names and the reserved label 'unknown' are refused."""
    clean = " ".join(str(name).split())
    if not clean:
        raise VisionDeskError("a person's name cannot be empty.")
    if clean.casefold() in RESERVED_NAMES:
        raise VisionDeskError(f"'{clean}' is the label of faces nobody enrolled; choose another name.")
    return clean


class ExportedEntry(BaseModel):
    """One entry of a gallery export (unknown keys are ignored: a newer Vision Desk may add some)."""

    name: Annotated[str, Field(min_length=1)]
    backend: Annotated[str, Field(min_length=1)]
    dim: Annotated[int, Field(ge=1)]
    embedding: bytes
    source: str = ""
    enrolled: float = 0.0
    thumbnail: bytes | None = None

    @field_validator("embedding", "thumbnail", mode="before")
    @classmethod
    def _base64(cls, value: Any) -> Any:
        if value is None:
            return value  # no thumbnail (an embedding pydantic then reports missing)
        if not isinstance(value, str):
            raise ValueError("must be base64 text")
        try:
            return base64.b64decode(value, validate=True)
        except ValueError:
            raise ValueError("must be base64 text") from None

    @field_validator("embedding")
    @classmethod
    def _dim_numbers(cls, value: bytes, info: ValidationInfo) -> bytes:
        dim = info.data.get("dim")
        if dim and len(value) != 4 * dim:
            raise ValueError(f"must hold {dim} float32 numbers (the entry's dim), not {len(value) / 4:g}")
        return value


def read_export(path: str | Path) -> list[Entry]:
    """The entries of an exported gallery file, validated; one sentence naming the entry and field if one is not."""
    path = Path(path)
    doc = read_json(path, "gallery export")
    if not isinstance(doc, dict) or doc.get("format") != APP_ID or not isinstance(doc.get("entries"), list):
        raise VisionDeskError(f"{path} is not a Vision Desk gallery export; export one with 'vision-desk faces export FILE'.")
    version = doc.get("version", 0)
    if not isinstance(version, int):
        raise VisionDeskError(f"{path}: field 'version' must be a whole number (got {version!r}); export the gallery again.")
    if version > SCHEMA_VERSION:
        raise VisionDeskError(f"{path} was written by a newer Vision Desk (format {version}); update Vision Desk to import it.")
    entries = []
    for number, raw in enumerate(doc["entries"], start=1):
        name = raw.get("name") if isinstance(raw, dict) else None
        label = f"entry {number}" + (f" ('{name}')" if isinstance(name, str) and name else "")
        e = check(ExportedEntry, raw, f"{path}: {label}", "export the gallery again")
        vec = np.frombuffer(e.embedding, "<f4").astype(np.float32)
        entries.append(Entry(e.name, e.backend, vec, e.source, e.enrolled, e.thumbnail))
    return entries


def _vector(blob: bytes, dim: int) -> np.ndarray:
    vec = np.frombuffer(blob, "<f4").astype(np.float32)
    if vec.size != dim:
        raise VisionDeskError("the face gallery has a damaged embedding; remove that person and enrol them again.")
    return vec


def _damaged(path: Path, why: str) -> VisionDeskError:
    return VisionDeskError(
        f"face gallery {path} {why}; it was left untouched: move it aside (or restore a backup) "
        "and a new gallery will be made, or choose another gallery file."
    )


def _open(path: Path, create: bool) -> sqlite3.Connection:
    """Opens (or makes) a gallery, refusing anything that is not one before writing a byte."""
    exists = path.is_file() and path.stat().st_size > 0
    if path.exists() and not path.is_file():
        raise VisionDeskError(f"face gallery {path} is a folder; give the path of a .sqlite file.")
    if exists:
        with open(path, "rb") as fh:
            if fh.read(len(_SQLITE_HEADER)) != _SQLITE_HEADER:
                raise _damaged(path, "is not a SQLite database")
        for private in (path, *(path.with_name(path.name + s) for s in SIDECAR_SUFFIXES)):
            tighten(private, PRIVATE_FILE)  # a gallery from before files were made private, or copied in
    elif not create:
        raise VisionDeskError(f"face gallery {path} does not exist; enrol someone first with 'vision-desk faces enroll NAME IMAGES...'.")
    else:
        private_dir(path.parent, tighten_existing=False)
        private_file(path)  # SQLite takes an empty file as a new database, and gives its journals the file's mode
    # not bound to the thread that opened it: a live pipeline sets a stage up on a loading thread, then runs it
    # on the frame loop (one user at a time, never two at once)
    conn = sqlite3.connect(str(path), timeout=10.0, check_same_thread=False)
    try:
        conn.execute("PRAGMA busy_timeout = 10000")
        if exists:
            _check_gallery(conn, path)
        else:
            with conn:
                conn.executescript(_SCHEMA)
                conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", [("app", APP_ID), ("schema", str(SCHEMA_VERSION))])
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA journal_mode = WAL")
    except sqlite3.DatabaseError as err:
        conn.close()
        raise _damaged(path, f"cannot be read ({err})") from None
    except VisionDeskError:
        conn.close()
        raise
    return conn


def _check_gallery(conn: sqlite3.Connection, path: Path) -> None:
    """Raises unless the database is intact and is a Vision Desk gallery (reads only)."""
    problems = [row[0] for row in conn.execute("PRAGMA quick_check").fetchall()]
    if problems != ["ok"]:
        raise _damaged(path, f"is damaged ({problems[0]})")
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not {"meta", "people", "embeddings"} <= tables:
        raise _damaged(path, "is a SQLite database but not a Vision Desk face gallery")
    meta: dict[str, Any] = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    if meta.get("app") != APP_ID:
        raise _damaged(path, "is a SQLite database but not a Vision Desk face gallery")
    if int(meta.get("schema", 0)) > SCHEMA_VERSION:
        raise VisionDeskError(f"face gallery {path} was written by a newer Vision Desk (schema {meta['schema']}); update Vision Desk to use it.")
