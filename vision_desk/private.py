"""Files only their user may read: the face gallery, teach sets and taught models, the app's settings.

Folders are made ``0700`` and files ``0600`` whatever the process umask is:
the mode is set with ``chmod`` after creating, not left to ``mkdir``/``open``
(which subtract the umask, and which ignore the mode for the parents
``mkdir(parents=True)`` makes). Existing ones that allow more are tightened
when Vision Desk opens them, if they belong to the user running it (another
user's files are left as they are; their owner decides).

On Windows these calls do nothing: ``chmod`` there only sets the read-only
flag, and files under the user's profile are already closed to other users.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
_POSIX = os.name == "posix"


def tighten(path: str | Path, mode: int) -> None:
    """Takes from ``path`` every permission bit that ``mode`` lacks (group and others' access), if it is ours.

    Missing paths, symbolic links and other users' files are left alone.
    """
    if not _POSIX:
        return
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode) or st.st_uid != os.getuid():
        return
    current = stat.S_IMODE(st.st_mode)
    if current & ~mode:
        _chmod(path, current & mode)


def _chmod(path: str | Path, mode: int) -> None:
    if not _POSIX:
        return
    try:
        os.chmod(path, mode)
    except OSError:  # a filesystem without Unix permissions (FAT, some network shares) keeps its own rules
        pass


def private_dir(path: str | Path, *, tighten_existing: bool = True) -> Path:
    """Makes the folder ``path`` (and any missing parents) readable by the user only.

    Args:
        path: the folder.
        tighten_existing: also tighten ``path`` when it exists already (False for a folder the user chose to
            keep a private file in, such as the folder of a ``--gallery`` file).

    Parents that already exist keep their permissions: they may be the user's
    home or a folder they chose to share.
    """
    path = Path(path)
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(parents=True, exist_ok=True)
    for made in missing:
        _chmod(made, PRIVATE_DIR)
    if tighten_existing:
        tighten(path, PRIVATE_DIR)
    return path


def private_file(path: str | Path) -> Path:
    """Makes ``path`` an (empty, if new) file readable by the user only; an existing one is tightened."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        tighten(path, PRIVATE_FILE)
        return path
    os.close(fd)
    _chmod(path, PRIVATE_FILE)  # exactly: a strict umask would have taken the user's own write access too
    return path


def write_private(path: str | Path, data: bytes) -> Path:
    """Writes ``data`` to ``path`` as a file readable by the user only (created, or truncated and tightened)."""
    path = Path(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    with os.fdopen(fd, "wb") as fh:
        _chmod(path, PRIVATE_FILE)  # the umask, or an older file of the same name, had the last word
        fh.write(data)
    return path


def private_tree(root: str | Path) -> None:
    """Tightens a folder, every folder in it (``0700``) and every file in it (``0600``); links are not followed."""
    root = Path(root)
    if not root.is_dir():
        return
    tighten(root, PRIVATE_DIR)
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            tighten(os.path.join(folder, name), PRIVATE_DIR)
        for name in files:
            tighten(os.path.join(folder, name), PRIVATE_FILE)
