"""Reading the YAML and JSON files the app parses, checked against a pydantic schema.

A malformed file gives one sentence naming the file, the entry and the field
and what the field must be, never a traceback::

    models/manifest/yolo.yaml: entry 'yolo11n': field 'sha256' must be 64 hex digits, ... (got 'xyz').

The schemas live beside the code that uses the files (the model manifest in
:mod:`vision_desk.models`, ``teach.json`` in :mod:`vision_desk.teach.model`,
gallery exports in :mod:`vision_desk.stages.faces.gallery_export`). Files the
app ships forbid unknown keys, so a typo is caught; files users keep (taught
models, exports) tolerate them, so a newer Vision Desk's files still load.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import TypeAdapter, ValidationError

from vision_desk.errors import ConfigError, VisionDeskError

T = TypeVar("T")
#: libyaml's loader where PyYAML was built with it: the same documents, parsed about ten times faster.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: Deepest nesting a file the app reads may have; its own files are a few levels deep. libyaml's loader recurses in
#: C and crashes the process (a segmentation fault, no exception) on some 50,000 levels: a 100 kB file of '['.
MAX_YAML_DEPTH = 200
_QUOTED_OR_COMMENT = re.compile(r"'[^'\n]*'|\"(?:[^\"\\\n]|\\.)*\"|#[^\n]*")
_BRACKET = re.compile(r"[\[\]{}]")
_DASHES = re.compile(r"^(?:[ \t]*-[ \t])+", re.M)  # "- - - x": a list in a list in a list on one line

#: What a field must be, by pydantic's error type (the rest fall back to pydantic's own words).
_MUST = {
    "string_type": "must be text",
    "int_type": "must be a whole number", "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number", "float_parsing": "must be a number",
    "bool_type": "must be true or false", "bool_parsing": "must be true or false",
    "list_type": "must be a list", "tuple_type": "must be a list",
    "dict_type": "must be a mapping", "model_type": "must be a mapping of fields",
    "dataclass_type": "must be a mapping of fields",
    "finite_number": "must be a finite number", "bytes_type": "must be base64 text",
}
_BOUNDS = {"greater_than_equal": ("ge", "at least"), "greater_than": ("gt", "more than"),
           "less_than_equal": ("le", "at most"), "less_than": ("lt", "less than")}
_UNKNOWN = ("extra_forbidden", "unexpected_keyword_argument")


def read_yaml(path: Path, what: str, error: type[VisionDeskError] = ConfigError) -> Any:
    """The parsed YAML text of ``path`` (``what`` it is, for the messages: "pipeline file").

    Raises:
        error: the file is missing, not text, or not valid YAML (naming the line and column).
    """
    text = _read_text(path, what, "YAML", error)
    if _nesting(text) > MAX_YAML_DEPTH:
        raise error(f"{path}: nested more than {MAX_YAML_DEPTH} levels deep; a {what} is a few levels deep, "
                    "so it is damaged or not one.")
    try:
        return yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or "invalid YAML"
        raise error(f"{path}: invalid YAML{at} ({problem}); fix the file's syntax.") from None
    except ValueError as err:  # a value PyYAML parsed but Python cannot hold: a date 2024-13-45, a 5000-digit number
        raise error(f"{path}: a value in it cannot be read ({str(err).split(';')[0]}); fix or quote it.") from None


def _nesting(text: str) -> int:
    """About how deep the YAML ``text`` nests, from its brackets and dashes (quoted text and comments left out):
    linear in its length, where libyaml's own scanner takes quadratic time on deep nesting."""
    depth = deepest = 0
    for bracket in _BRACKET.finditer(_QUOTED_OR_COMMENT.sub("", text)):
        depth = max(0, depth + (1 if bracket.group() in "[{" else -1))
        deepest = max(deepest, depth)
    return max([deepest] + [m.group().count("-") for m in _DASHES.finditer(text)])


def read_json(path: Path, what: str, error: type[VisionDeskError] = ConfigError) -> Any:
    """The parsed JSON text of ``path``; like :func:`read_yaml`."""
    text = _read_text(path, what, "JSON", error)
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise error(f"{path}: invalid JSON at line {err.lineno}, column {err.colno} ({err.msg}); "
                    f"fix the file's syntax.") from None
    except RecursionError:
        raise error(f"{path}: nested too deeply to read; a {what} is a few levels deep, so it is damaged or not one.") from None


def _read_text(path: Path, what: str, language: str, error: type[VisionDeskError]) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: {what} not found; check the path.") from None
    except UnicodeDecodeError:
        raise error(f"{path}: not a text file; a {what} is {language} text.") from None
    except OSError as err:
        raise error(f"{path}: {what} could not be read ({err.strerror or type(err).__name__}).") from None


def check(schema: type[T], data: Any, where: str, fix: str = "") -> T:
    """``data`` validated as ``schema`` (a pydantic model or dataclass).

    Args:
        schema: the pydantic model or dataclass.
        data: what the file held (a mapping).
        where: the file and entry, as the sentence starts ("models/manifest/yolo.yaml: entry 'yolo11n'").
        fix: what to do about it, added after the problems ("train the model again").

    Raises:
        ConfigError: one sentence: where, every field's problem, the fix.
    """
    try:
        return _adapter(schema).validate_python(data)
    except ValidationError as err:
        known = sorted(getattr(schema, "__pydantic_fields__", {}))
        tail = f"; {fix}" if fix else ""
        raise ConfigError(f"{where}: {problems(err, known)}{tail}.") from None


@lru_cache(maxsize=None)
def _adapter(schema: type[T]) -> TypeAdapter[T]:
    return TypeAdapter(schema)


def problems(err: ValidationError, known: list[str] | None = None) -> str:
    """Each field's problem in a few words, joined: "field 'size' must be a whole number (got 'big'); ..."."""
    return "; ".join(_problem(e, known or []) for e in err.errors())


def _problem(e: dict[str, Any], known: list[str]) -> str:
    kind, ctx = e["type"], e.get("ctx") or {}
    loc = list(e["loc"])
    key = loc[-2] if loc[-1:] == ["[key]"] else None  # a mapping's key, not its value, is wrong
    loc = loc[:-2] if key is not None else loc
    names = [str(p) for p in loc if not isinstance(p, int)]
    items = [str(p + 1) for p in loc if isinstance(p, int)]  # people count list items from 1
    field = f"field '{'.'.join(names)}'" + (f" (item {', '.join(items)})" if items else "") if names else "it"
    field += f" key {key!r}" if key is not None else ""
    if kind == "missing":
        return f"{field} is missing; add it"
    if kind in _UNKNOWN:
        return f"{field} is not one of its fields (a typo?); they are {', '.join(known)}"
    if kind == "value_error":
        must = str(ctx.get("error", e["msg"]))
    elif kind in _BOUNDS:
        key, words = _BOUNDS[kind]
        bound = ctx.get(key)
        must = f"must be {words} {bound:g}" if isinstance(bound, float) else f"must be {words} {bound}"
    elif kind == "string_too_short":
        shortest = ctx.get("min_length")
        must = "must not be empty" if shortest == 1 else f"must have at least {shortest} characters"
    elif kind in ("too_short", "too_long"):
        key, words = ("min_length", "at least") if kind == "too_short" else ("max_length", "at most")
        must = f"must have {words} {ctx.get(key)} item(s)"
    elif kind == "literal_error":
        must = f"must be one of {ctx.get('expected')}"
    else:
        msg = e["msg"].removeprefix("Input ")
        must = _MUST.get(kind, msg[0].lower() + msg[1:])
    got = e.get("input")
    if isinstance(got, (dict, list)):
        return f"{field} {must}"
    text = repr(got)
    hint = "; put it in quotes" if kind == "string_type" and isinstance(got, (int, float)) else ""
    return f"{field} {must} (got {text if len(text) <= 40 else text[:37] + '...'}{hint})"
