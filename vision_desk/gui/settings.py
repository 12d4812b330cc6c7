"""Settings remembered between runs, in one INI file (QSettings).

The file lives where Qt keeps per-user INI settings: on Linux
``~/.config/Vision Desk/vision-desk.ini``, on macOS
``~/Library/Preferences/Vision Desk/vision-desk.ini`` (INI format), on Windows
``%APPDATA%\\Vision Desk\\vision-desk.ini``. ``Settings.path`` says exactly where.

The recent lists keep stream URLs whole, passwords included, so that a
camera reopens from the menu; the app shows them masked, and the file is
made readable by the user only (``0600``, its folder ``0700`` when the app
makes it; see :mod:`vision_desk.private`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings, QStandardPaths

from vision_desk.private import private_dir, private_file

ORGANIZATION = "Vision Desk"
APPLICATION = "vision-desk"
RECENT_MAX = 10


def default_output_dir() -> Path:
    movies = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.MoviesLocation)
    return Path(movies or Path.home()) / "Vision Desk"


class _Setting:
    """A typed QSettings value as an attribute of :class:`Settings`."""

    def __init__(self, key: str, default: Any, kind: type, choices: tuple | None = None) -> None:
        self.key, self.default, self.kind, self.choices = key, default, kind, choices

    def __get__(self, settings: "Settings | None", owner: type) -> Any:
        if settings is None:
            return self
        value = settings._get(self.key, self.default, self.kind)
        return value if self.choices is None or value in self.choices else self.default

    def __set__(self, settings: "Settings", value: Any) -> None:
        settings.q.setValue(self.key, value)


class Settings:
    """Typed access to the app's QSettings."""

    def __init__(self, qsettings: QSettings | None = None) -> None:
        self.q = qsettings or QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)
        _make_private(self.q.fileName())

    @property
    def path(self) -> str:
        return self.q.fileName()

    def _get(self, key: str, default: Any, kind: type) -> Any:
        value = self.q.value(key, default)
        if value is None:
            return default
        if kind is bool:
            return value if isinstance(value, bool) else str(value).lower() in ("true", "1", "yes")
        if kind is list:
            return [str(v) for v in value] if isinstance(value, (list, tuple)) else ([str(value)] if value else [])
        try:
            return kind(value)
        except (TypeError, ValueError):
            return default

    # -- simple values ---------------------------------------------------------------
    theme = _Setting("ui/theme", "dark", str, choices=("light", "dark"))
    record_annotated = _Setting("output/annotated", True, bool)
    realtime = _Setting("playback/realtime", True, bool)
    last_dir = _Setting("paths/last", str(Path.home()), str)
    web_height = _Setting("sources/web_height", 720, int)  # the Web video dialog's quality; 0 is the best offered
    teach_project = _Setting("teach/project", "", str)  # the Teach panel opens it again (when it still exists)

    # -- the batch dialog's last choices (resume is not kept: skipping files should be asked for each time) --
    batch_input = _Setting("batch/input", "", str)
    batch_output = _Setting("batch/output", "", str)  # empty: <output folder>/batch
    batch_recursive = _Setting("batch/recursive", False, bool)
    batch_video = _Setting("batch/video", True, bool)
    batch_annotated = _Setting("batch/annotated", True, bool)
    batch_workers = _Setting("batch/workers", 0, int)  # 0: auto
    batch_ray = _Setting("batch/ray", "", str)  # empty: this machine
    batch_segment_minutes = _Setting("batch/segment_minutes", 5, int)  # 0: never cut

    @property
    def output_dir(self) -> Path:
        return Path(self._get("output/folder", str(default_output_dir()), str)).expanduser()

    @output_dir.setter
    def output_dir(self, value: str | Path) -> None:
        self.q.setValue("output/folder", str(value))

    # -- recent lists ----------------------------------------------------------------
    def recent(self, key: str) -> list[str]:
        return self._get(f"recent/{key}", [], list)

    def add_recent(self, key: str, item: str) -> None:
        items = [item] + [i for i in self.recent(key) if i != item]
        self.q.setValue(f"recent/{key}", items[:RECENT_MAX])

    def clear_recent(self, key: str) -> None:
        self.q.remove(f"recent/{key}")

    # -- window ----------------------------------------------------------------------
    def window_state(self) -> tuple[QByteArray | None, QByteArray | None]:
        return self.q.value("window/geometry"), self.q.value("window/state")

    def save_window_state(self, geometry: QByteArray, state: QByteArray) -> None:
        self.q.setValue("window/geometry", geometry)
        self.q.setValue("window/state", state)

    def sync(self) -> None:
        self.q.sync()


def _make_private(file_name: str) -> None:
    """Creates the settings file readable by the user only, or tightens it; Qt keeps a file's mode when it rewrites
    it. (A name that is not a path, e.g. the Windows registry, is left to the system.)"""
    path = Path(file_name)
    if not file_name or not path.is_absolute():
        return
    private_dir(path.parent, tighten_existing=False)
    private_file(path)
