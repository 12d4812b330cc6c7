"""The model manifest and the local model cache.

Every downloadable model is listed in a YAML file under ``models/manifest/``
(one file per family; any file there is read) with its name, task, URL,
sha256, size, licence and the stages that use it. Files are cached in
:func:`vision_desk.weights.models_dir`. Nothing is fetched except by
:func:`pull` (``vision-desk models pull NAME`` or the app's *File > Models...*);
a missing model raises :class:`ModelMissingError` naming the model, where it
looked and the command that fetches it, in its message for people and in its
``missing`` field for code.

Manifest entry::

    - name: yolo11n
      task: detect
      file: yolo11n.pt
      url: https://.../yolo11n.pt
      sha256: 0ebbc80d...
      size: 5613764
      licence: AGPL-3.0
      used_by: [detect]
      description: YOLO11 nano, COCO 80 classes

A model made of several files lists the others in ``needs`` (e.g. Darknet
weights need their ``.cfg`` and a class-names file), each an entry of its own
that ``pull`` fetches by its name; a stage asked for the model in its
``auto`` setting takes them from there.

Every entry is checked against :class:`ModelEntry` when the manifest is read:
all the fields above but ``needs`` and ``description`` are required, unknown
keys are refused (a typo is caught, not ignored), and a malformed entry raises
:class:`~vision_desk.errors.ConfigError` naming the file, the entry and the field.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import pickle
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Annotated, Any, Callable, Iterable

from pydantic import ConfigDict, Field, field_validator
from pydantic.dataclasses import dataclass

from vision_desk.config_files import check, read_yaml
from vision_desk.errors import ConfigError, MissingModel, ModelMissingError, VisionDeskError
from vision_desk.resources import resource_dir
from vision_desk.weights import models_dir


#: The command that fetches a model, as every "not downloaded" message names it.
PULL_COMMAND = "vision-desk models pull"


#: A model's name: what 'models pull NAME' and the stages' model settings take.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")
_HEX = re.compile(r"[0-9a-fA-F]{8,64}")


@dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class ModelEntry:
    """One model of the manifest; its fields are the schema each entry of ``models/manifest/*.yaml`` is checked
    against (unknown keys are refused, so a typo is caught)."""

    name: str
    task: str
    file: str
    url: str
    sha256: str
    size: Annotated[int, Field(ge=0)]
    licence: str
    used_by: tuple[str, ...] = ()
    description: str = ""
    needs: tuple[str, ...] = ()  # the other manifest entries this model is used with

    @field_validator("name")
    @classmethod
    def _model_name(cls, value: str) -> str:
        if not _NAME.fullmatch(value):
            raise ValueError("must be a model name of letters, digits, '.', '-', '+' and '_', starting with a "
                             "letter or digit")
        return value

    @field_validator("task", "licence")
    @classmethod
    def _not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("file")
    @classmethod
    def _file_name(cls, value: str) -> str:
        # the file is written into the models folder under this name: never anywhere else
        if not value or value in (".", "..") or any(sep in value for sep in "/\\"):
            raise ValueError("must be a file name without a folder")
        return value

    @field_validator("url")
    @classmethod
    def _web_address(cls, value: str) -> str:
        if not value.lower().startswith(("https://", "http://")):
            raise ValueError("must be an http:// or https:// address")
        return value

    @field_validator("sha256")
    @classmethod
    def _checksum(cls, value: str) -> str:
        if value and not _HEX.fullmatch(value):
            raise ValueError("must be 64 hex digits, their first 8 or more (as torchvision names its files), "
                             "or empty for no check")
        return value

    @property
    def path(self) -> Path:
        return models_dir() / self.file

    @property
    def present(self) -> bool:
        return self.path.is_file()

    @property
    def size_label(self) -> str:
        """"5.6 MB", "12 kB", or "?" where the manifest does not know the size (0); a small file is never "0.0 MB"."""
        if not self.size:
            return "?"
        if self.size < 100_000:
            return f"{max(1, round(self.size / 1e3))} kB"
        return f"{self.size / 1e6:.1f} MB"


def load_manifest(folder: Path | None = None) -> dict[str, ModelEntry]:
    """Every model listed in models/manifest/*.yaml (or ``folder``'s), by name.

    Raises:
        ConfigError: a file or an entry is malformed (one sentence naming the file, the entry and the field), two
            entries share a name, or an entry needs one the manifest does not list.
    """
    entries: dict[str, ModelEntry] = {}
    found_in: dict[str, Path] = {}
    for path in sorted((folder or resource_dir("models/manifest")).glob("*.yaml")):
        raw_entries = read_yaml(path, "model manifest") or []
        if not isinstance(raw_entries, list):
            raise ConfigError(f"{path}: a model manifest is a list of entries ('- name: ...'), not a "
                              f"{type(raw_entries).__name__}; see the other files in models/manifest/.")
        for number, raw in enumerate(raw_entries, start=1):
            name = raw.get("name") if isinstance(raw, dict) else None
            label = f"entry '{name}'" if isinstance(name, str) and name else f"entry {number}"
            model = check(ModelEntry, raw, f"{path}: {label}")
            if model.name in entries:
                raise ConfigError(f"{path}: {label} is listed twice (also in {found_in[model.name]}); "
                                  "give each model a name of its own.")
            entries[model.name], found_in[model.name] = model, path
    for model in entries.values():
        for needed in model.needs:
            if needed not in entries:
                raise ConfigError(f"{found_in[model.name]}: entry '{model.name}': field 'needs' names '{needed}', "
                                  "which no manifest entry is; add that entry or fix the name.")
    return entries


def entry(name: str) -> ModelEntry:
    manifest = load_manifest()
    if name not in manifest:
        raise VisionDeskError(f"no model named '{name}' in the manifest; 'vision-desk models list' shows them.")
    return manifest[name]


def with_needs(name: str) -> list[str]:
    """``name`` and every entry it needs, and those they need, each once, ``name`` first: what one pull fetches."""
    manifest = load_manifest()
    order, todo = [], [name]
    while todo:
        current = todo.pop(0)
        if current not in order:
            order.append(current)
            todo += list(entry(current).needs) if current in manifest else []
    return order


def resolve(name_or_path: str) -> Path:
    """The file for a model name from the manifest, or a path given by the user; raises ModelMissingError.

    A path (anything with a separator or an existing file) is used as it is.
    A manifest name is looked up in the models folder only: it is never
    downloaded here. Any other bare file name (``plates.pt``) is looked up in
    the models folder too, where users put models of their own.
    """
    candidate = Path(name_or_path).expanduser()
    if candidate.exists():
        return candidate
    manifest = load_manifest()
    by_file = {e.file: e for e in manifest.values()}
    known = manifest.get(name_or_path) or by_file.get(name_or_path) or manifest.get(Path(name_or_path).stem)
    if known is not None:
        if known.present:
            return known.path
        raise ModelMissingError(
            f"model '{known.name}' is not downloaded (looked in {known.path.parent}); "
            f"fetch it with: {PULL_COMMAND} {known.name}",
            [MissingModel(name_or_path, known.name, str(known.path.parent))],
        )
    if os.sep in name_or_path or "/" in name_or_path:
        missing = [MissingModel(name_or_path, None, str(candidate.parent.absolute()))]
        raise ModelMissingError(f"model file {candidate} not found; check the path.", missing)
    own = models_dir() / name_or_path  # the user's own models live beside the downloaded ones
    if own.exists():
        return own
    if candidate.suffix:  # a file name, e.g. a preset's plates.pt that the user brings
        raise ModelMissingError(
            f"model file '{name_or_path}' is not in the models folder {own.parent}; "
            "put your model there under that name, or set the stage's model to its path.",
            [MissingModel(name_or_path, None, str(own.parent))],
        )
    raise ModelMissingError(
        f"model '{name_or_path}' is neither a file nor a known model name; "
        "give a path, or see 'vision-desk models list'.",
        [MissingModel(name_or_path, None, str(candidate.parent.absolute()))],
    )


def resolve_all(values: Iterable[str], stage: str, what: str = "model files") -> list[Path]:
    """The files for several model names or paths, in order, as :func:`resolve` finds each.

    Manifest models that are not downloaded are gathered into one
    ModelMissingError naming every pull command, so the user fetches them all
    in one go; a path that does not exist is reported at once.

    Args:
        values: manifest names or paths.
        stage: the stage that needs them, for the message.
        what: what they are, for the message ("colorization model files").
    """
    manifest = load_manifest()
    found: list[Path] = []
    missing: list[MissingModel] = []
    for value in values:
        try:
            found.append(resolve(value))
        except ModelMissingError as err:
            if value not in manifest:
                raise
            missing.extend(err.missing)
    if missing:
        names = [m.pull for m in missing]
        pulls = " && ".join(f"{PULL_COMMAND} {name}" for name in names)
        raise ModelMissingError(f"{stage} needs the {what} {', '.join(names)}, which are not downloaded; fetch them with: {pulls}", missing)
    return found


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def checksum_matches(got: str, expected: str) -> bool:
    """Whether a file's sha256 is the manifest's: all 64 hex digits, or the leading ones where the manifest gives
    a prefix (torchvision names its weight files with the first 8, and checks only those)."""
    return len(expected) >= 8 and got.lower().startswith(expected.lower())


class DownloadCancelled(VisionDeskError):
    """Raised by a :func:`pull` progress callback to stop the download (its partial file is removed)."""


def pull(name: str, progress: Callable[[int, int], None] | None = None, timeout: float = 20.0) -> Path:
    """Downloads a manifest model into the models folder, checking its length and sha256.

    The file is written to ``<file>.part`` and renamed only after it has the
    length the server announced and (where the manifest has one) the right
    checksum, so an interrupted or wrong download never looks complete.
    """
    e = entry(name)
    if e.present and (not e.sha256 or checksum_matches(sha256_of(e.path), e.sha256)):
        return e.path
    part = e.path.with_name(e.path.name + ".part")
    try:
        with urllib.request.urlopen(e.url, timeout=timeout) as response, open(part, "wb") as out:  # noqa: S310 - manifest URLs only
            announced = int(response.headers.get("Content-Length") or 0)
            total = announced or e.size
            done = 0
            while chunk := response.read(1 << 16):
                out.write(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
        # http.client returns what arrived when a connection drops early, without an error: compare the length
        if announced and done != announced:
            raise OSError(f"the connection closed after {done} of {announced} bytes")
    except (urllib.error.URLError, http.client.HTTPException, TimeoutError, OSError) as err:
        part.unlink(missing_ok=True)
        reason = getattr(err, "reason", err)
        raise VisionDeskError(
            f"could not download model '{name}' from {e.url} ({reason}); check the internet connection, "
            f"or download the file yourself and put it at {e.path}."
        ) from None
    except BaseException:  # cancelled from the progress callback, or interrupted: no partial file stays
        part.unlink(missing_ok=True)
        raise
    if e.sha256:
        got = sha256_of(part)
        if not checksum_matches(got, e.sha256):
            part.unlink(missing_ok=True)
            raise VisionDeskError(f"model '{name}' downloaded with the wrong checksum ({got[:12]}..., expected {e.sha256[:12]}...); try again.")
    os.replace(part, e.path)
    return e.path


#: verify()'s statuses
VERIFIED, UNCHECKED, MISMATCH, MISSING = "ok", "present (no checksum in the manifest)", "checksum mismatch", "missing"


def verify() -> list[tuple[ModelEntry, str]]:
    """(entry, status) for every manifest model: VERIFIED, UNCHECKED, MISMATCH or MISSING."""
    rows = []
    for e in load_manifest().values():
        if not e.present:
            rows.append((e, MISSING))
        elif not e.sha256:
            rows.append((e, UNCHECKED))
        else:
            rows.append((e, VERIFIED if checksum_matches(sha256_of(e.path), e.sha256) else MISMATCH))
    return rows


# -- loading PyTorch weights safely ------------------------------------------------------------------------------------
#: What torch's weights-only unpickler says when a file asks for a function or class outside its allow-list.
_REFUSED_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")


def manifest_entry_of(path: str | Path) -> ModelEntry | None:
    """The manifest model whose cached file ``path`` is, or None (a file of the user's own)."""
    path = Path(path).resolve()
    return next((e for e in load_manifest().values() if e.path.resolve() == path), None)


def refetch_advice(path: str | Path, manifest: str | None = None, otherwise: str = "replace it with a good copy") -> str:
    """How to get a good copy of a model file: the pull command for a manifest model, else ``otherwise``."""
    known = manifest or getattr(manifest_entry_of(path), "name", None)
    if known:
        return f"download it again with '{PULL_COMMAND} {known}' and check the others with 'vision-desk models verify'"
    return otherwise


def refused_code(err: BaseException) -> str | None:
    """The function or class a weights-only load refused to run (torch's ``UnpicklingError``), or None."""
    for cause in (err, err.__cause__, err.__context__):
        if isinstance(cause, pickle.UnpicklingError):
            match = _REFUSED_GLOBAL.search(str(cause))
            if match:
                return match.group(1)
    return None


def unsafe_model_message(what: str, path: str | Path, refused: str, fix: str) -> str:
    """The one sentence for a model file that carries code: what was refused, that none of it ran, and the fix."""
    return (f"{what} {path} holds code besides weights (it calls {refused}) and was not loaded, so none of it ran; "
            f"it is not a plain weights file, or it was tampered with: {fix}.")


def load_torch_weights(path: str | Path, *, what: str = "model file", manifest: str | None = None,
                       otherwise: str = "replace it with a good copy") -> Any:
    """``torch.load(path, weights_only=True)`` on the CPU, with one sentence for a file that cannot be used.

    ``weights_only`` lets the unpickler build tensors and plain containers only: a file that asks to call
    anything else (a tampered download, a pickle with a ``__reduce__``) is refused before any of it runs.

    Args:
        path: the weights file.
        what: what the file is, for the message ("FaceNet weights").
        manifest: the manifest model it should be, when the caller knows (else looked up by path).
        otherwise: the fix for a file that is not a manifest model's.

    Raises:
        VisionDeskError: the file holds code, or cannot be read; the sentence names the file and the fix.
    """
    import torch

    try:
        return torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - truncated, foreign or tampered files fail in many ways
        fix = refetch_advice(path, manifest, otherwise)
        refused = refused_code(err)
        if refused:
            raise VisionDeskError(unsafe_model_message(what, path, refused, fix)) from None
        text = str(err).strip()
        reason = "not a PyTorch weights file" if "Weights only load failed" in text else (
            text.splitlines()[0][:120] if text else type(err).__name__)
        raise VisionDeskError(f"{what} {path} could not be read ({reason}); {fix}.") from None
