"""User-facing errors: one clear sentence naming the problem and the fix."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any


#: Characters that break a line (as ``str.splitlines`` sees them) or that a terminal would act on.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: object) -> str:
    """``text`` as it may be quoted in a message: line breaks and control characters escaped as Python writes
    them (``\\n``), so a name the user typed with one in it cannot split the sentence."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], str(text))


class VisionDeskError(Exception):
    """An error whose message is meant for the user as it stands (no traceback)."""


class SourceError(VisionDeskError):
    """A source cannot be opened or read."""


class PipelineError(VisionDeskError):
    """A pipeline file or a stage parameter is invalid."""


class ConfigError(VisionDeskError):
    """A file the app reads (a model manifest, a taught model's teach.json, a gallery export) is malformed; the
    message names the file, the entry and the field."""


@dataclass(frozen=True)
class MissingModel:
    """One model file that is not on disk, as data: the GUI offers its download from this, never from the message.

    Attributes:
        model: the model as the user gave it (a manifest name, a file name or a path).
        pull: the manifest name ``vision-desk models pull`` fetches it by; None where no download would (a path of
            the user's own, a name the manifest does not know).
        folder: the folder it was looked for in.
    """

    model: str
    pull: str | None
    folder: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class ModelMissingError(VisionDeskError):
    """A model file is not on disk; the message names the command that fetches it, ``missing`` says the same as data."""

    def __init__(self, message: str, missing: Iterable[MissingModel]) -> None:
        super().__init__(message)
        self.missing = tuple(missing)

    def __reduce__(self) -> tuple[Any, ...]:
        # Exception rebuilds itself from its args alone, which lack ``missing``: copy and pickle (worker processes) need this
        return type(self), (str(self), self.missing)
