"""Stage parameters are declared once, as a pydantic model per stage.

That one declaration drives YAML validation, the ``vision-desk stages``
listing, ``--set stage.param=value`` on the command line and the GUI's
generated controls. Bounds live here (``ge``/``le``) and are enforced by
validation, never by code that quietly clamps.

Example::

    class BlurParams(StageParams):
        method: Literal["gaussian", "median"] = param("gaussian", help="Blur kernel.")
        ksize: int = param(5, ge=1, le=99, help="Kernel size in pixels (odd).")
"""

from __future__ import annotations

import enum
import reprlib
import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from vision_desk.errors import one_line

#: Widget hints the GUI understands beyond what the type implies. Value shapes:
#:   color  -> tuple[int, int, int] in BGR order
#:   point  -> tuple[int, int] (x, y) in frame pixels
#:   points -> list[tuple[int, int]] (a polygon or a list of points)
#:   rect   -> tuple[int, int, int, int] (x, y, w, h); (0, 0, 0, 0) means "whole frame"
#:   line   -> tuple[int, int, int, int] (x1, y1, x2, y2)
#:   path / image_path -> str, a file the user picks ("" when unset)
#:   slider -> an int/float with bounds shown as a slider rather than a spin box
Widget = Literal["path", "image_path", "color", "point", "points", "rect", "line", "text", "slider"]


class StageParams(BaseModel):
    """Base class of every stage's parameter model (unknown keys are errors).

    Class attributes:
        old_names: earlier names of parameters, old -> new. Pipeline files and
            ``--set`` written with an old name still load: the value goes to the
            new name, and the loader tells the user once (see :meth:`upgrade_names`).
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)

    old_names: ClassVar[dict[str, str]] = {}

    @classmethod
    def upgrade_names(cls, params: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """The parameters with old names replaced by new ones (order kept), and the (old, new) pairs replaced.

        Raises:
            ValueError: one sentence, when a parameter is given under both its old and its new name.
        """
        upgraded: dict[str, Any] = {}
        renamed: list[tuple[str, str]] = []
        for name, value in params.items():
            new = cls.old_names.get(name)
            if new is None:
                upgraded[name] = value
                continue
            if new in params:
                raise ValueError(f"parameter '{name}' is the old name of '{new}', and both are given; keep only '{new}'")
            upgraded[new] = value
            renamed.append((name, new))
        return upgraded, renamed

    @model_validator(mode="before")
    @classmethod
    def _accept_old_names(cls, data: Any) -> Any:
        # Every way in (files, --set, the GUI, code) takes old names; telling the user is the loader's job.
        if cls.old_names and isinstance(data, dict):
            return cls.upgrade_names(data)[0]
        return data


def param(
    default: Any,
    *,
    help: str = "",
    title: str | None = None,
    ge: float | None = None,
    le: float | None = None,
    step: float | None = None,
    widget: Widget | None = None,
    file_filter: str | None = None,
) -> Any:
    """Declares one parameter: default, bounds and the help the GUI shows as a tooltip.

    Args:
        default: the default value (also fixes the type shown to users).
        help: one line explaining what the parameter does.
        title: a display name; derived from the field name when omitted.
        ge, le: inclusive bounds for numbers.
        step: a suggested step for sliders and spin boxes.
        widget: a GUI hint (``path``, ``color``, ``point``, ``rect`` ...).
        file_filter: a Qt name filter for path pickers, e.g. ``"Images (*.png *.jpg)"``.
    """
    extra = {k: v for k, v in {"widget": widget, "step": step, "file_filter": file_filter}.items() if v is not None}
    return Field(default, description=help, title=title, ge=ge, le=le, json_schema_extra=extra or None)


#: The value of an :func:`int_or_auto` parameter that leaves the choice to the stage.
AUTO = "auto"


@dataclass(frozen=True)
class AutoInt:
    """The bounds of an int parameter that also takes ``auto`` (see :func:`int_or_auto`)."""

    ge: int
    le: int
    multiple_of: int = 1

    def check(self, value: Any) -> Any:
        """``auto`` or an int within bounds; anything else fails with one sentence (a pydantic ValueError)."""
        if isinstance(value, str) and value.strip().lower() == AUTO:
            return AUTO
        try:
            number = int(value)
            ok = number == float(value) and not isinstance(value, bool)
        except (TypeError, ValueError):
            ok = False
        step = f" and a multiple of {self.multiple_of}" if self.multiple_of > 1 else ""
        if not ok or not self.ge <= number <= self.le or number % self.multiple_of:
            raise ValueError(f"must be {AUTO} or a whole number from {self.ge} to {self.le}{step}")
        return number


def int_or_auto(ge: int, le: int, multiple_of: int = 1) -> Any:
    """The type of an int parameter whose default, ``auto``, lets the stage decide (e.g. a model's own input size).

    YAML and ``--set`` take ``auto`` or a number; the GUI shows a spin box whose lowest position reads "auto".
    """
    bounds = AutoInt(ge, le, multiple_of)
    return Annotated[int | Literal["auto"], BeforeValidator(bounds.check), bounds]


@dataclass(frozen=True)
class ParamSpec:
    """A parameter as listed to users and turned into a GUI control."""

    name: str
    kind: str  # int | float | bool | str | choice | color | point | points | rect | line | path | list
    default: Any
    title: str
    help: str
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    choices: tuple[Any, ...] | None = None
    widget: str | None = None
    file_filter: str | None = None
    optional: bool = False
    auto: bool = False  # an int that also takes "auto" (int_or_auto)
    old_names: tuple[str, ...] = ()  # earlier names still accepted in files and --set

    def as_dict(self) -> dict[str, Any]:
        out = {"name": self.name, "type": self.kind, "default": _plain(self.default), "title": self.title, "help": self.help}
        for key in ("minimum", "maximum", "step", "widget", "file_filter"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.choices is not None:
            out["choices"] = list(self.choices)
        if self.optional:
            out["optional"] = True
        if self.auto:
            out["auto"] = True
        if self.old_names:
            out["old_names"] = list(self.old_names)
        return out


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(annotation)) == 2:
            return args[0], True
    return annotation, False


def describe(params_model: type[StageParams]) -> list[ParamSpec]:
    """Lists a parameter model's fields as :class:`ParamSpec` rows, in declaration order."""
    specs = []
    for name, field in params_model.model_fields.items():
        annotation, optional = _unwrap_optional(field.annotation)
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        widget = extra.get("widget")
        minimum = maximum = None
        for meta in field.metadata:
            minimum = getattr(meta, "ge", minimum)
            maximum = getattr(meta, "le", maximum)
        choices = None
        auto = next((m for m in field.metadata if isinstance(m, AutoInt)), None)
        origin = typing.get_origin(annotation)
        if auto is not None:
            kind, minimum, maximum = "int", auto.ge, auto.le
        elif origin is Literal:
            kind, choices = "choice", tuple(typing.get_args(annotation))
        elif isinstance(annotation, type) and issubclass(annotation, enum.Enum):
            kind, choices = "choice", tuple(m.value for m in annotation)
        elif annotation is bool:
            kind = "bool"
        elif annotation is int:
            kind = "int"
        elif annotation is float:
            kind = "float"
        elif widget in ("path", "image_path"):
            kind = "path"
        elif widget in ("color", "point", "points", "rect", "line"):
            kind = widget
        elif annotation is str:
            kind = "str"
        else:
            kind = "list"
        specs.append(
            ParamSpec(
                name=name,
                kind=kind,
                default=field.default,
                title=field.title or name.replace("_", " ").capitalize(),
                help=field.description or "",
                minimum=minimum,
                maximum=maximum,
                step=extra.get("step"),
                choices=choices,
                widget=widget,
                file_filter=extra.get("file_filter"),
                optional=optional,
                auto=auto is not None,
                old_names=tuple(old for old, new in params_model.old_names.items() if new == name),
            )
        )
    return specs


def parse_cli_value(text: str) -> Any:
    """Parses the VALUE of ``--set stage.param=VALUE`` as a YAML scalar or list."""
    try:
        return yaml.safe_load(text) if text.strip() else ""
    except (yaml.YAMLError, ValueError, RecursionError):  # ValueError: 2024-13-45, a 5000-digit number
        return text  # as text, which the parameter's check then refuses in a sentence


#: How a value from a file is quoted in a message: short, and finite even for YAML aliases that nest a list in
#: itself a thousand times over.
_REPR = reprlib.Repr()  # Python 3.11's takes no arguments
_REPR.maxlevel, _REPR.maxlist, _REPR.maxdict, _REPR.maxstring, _REPR.maxlong, _REPR.maxother = 2, 4, 4, 60, 40, 60


def shown(value: Any) -> str:
    """``value`` as a message quotes it: at most a few dozen characters, on one line."""
    try:
        return one_line(_REPR.repr(value))
    except ValueError:  # an int past Python's 4300-digit limit for str()
        return "a number too long to print"


def format_validation_error(err: ValidationError, where: str, old_names: dict[str, str] | None = None) -> str:
    """Turns a pydantic error into one sentence naming where, which parameter and why.

    ``old_names`` (new -> old) names the old name a parameter was given under, so the user finds it in the file.
    """
    parts = []
    for e in err.errors():
        loc = one_line(".".join(str(p) for p in e["loc"])) or "(parameters)"
        old = (old_names or {}).get(e["loc"][0]) if e["loc"] else None
        name = f"'{loc}' (old name '{old}')" if old else f"'{loc}'"
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "is not a parameter of this stage"
        got = e.get("input")
        got_text = "" if e["type"] == "extra_forbidden" or isinstance(got, dict) else f" (got {shown(got)})"
        parts.append(f"parameter {name} {msg[0].lower() + msg[1:]}{got_text}")
    return f"{where}: " + "; ".join(parts) + "."
