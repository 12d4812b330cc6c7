"""The ``draw`` stage: text on the frame itself, with fields filled in per frame; by default a timestamp.

A text may hold fields in braces, as in Python's ``str.format``:

    {time}          the wall clock, formatted by ``time_format`` (or ``{time:%H:%M}``)
    {frame}         the frame number (``{frame:06d}`` pads it)
    {source}        the source, with user names, passwords and secret tokens masked
    {value:NAME}    a per-frame value another stage wrote (``{value:count_in}``; ``{value:NAME:.1f}`` formats it)

Unknown fields are caught when the parameters are validated, once, not on every frame.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import cv2
import numpy as np
from pydantic import field_validator

from vision_desk.engine.frame import Frame
from vision_desk.engine.params import StageParams, param
from vision_desk.engine.uri import mask_uri
from vision_desk.stages.drawing._common import Anchor, Color, DrawingStage, anchor_param, margin_param, place, position_param

FONT = cv2.FONT_HERSHEY_SIMPLEX
FIELDS = ("time", "frame", "source", "value")
_FIELD_LIST = "{time}, {frame}, {source} and {value:NAME}"
#: What ``{value:NAME}`` shows while no stage has written NAME (e.g. on the first frames of a count).
MISSING_VALUE = "-"


@dataclass(frozen=True)
class FieldValues:
    """What the fields of a text stand for on one frame."""

    now: datetime
    frame: int
    source: str
    values: Mapping[str, Any]
    time_format: str = "%Y-%m-%d %H:%M:%S"


def parse_fields(text: str) -> list[tuple[str, str | None, str]]:
    """Splits a text into (literal, field or None, format spec) pieces, checking every field.

    Raises:
        ValueError: one sentence naming the first bad field (unknown name, a bad format, a brace left open).
    """
    try:
        pieces = list(string.Formatter().parse(text))
    except ValueError:
        raise ValueError("has an unmatched brace; write {{ or }} for a brace itself") from None
    out: list[tuple[str, str | None, str]] = []
    for literal, name, spec, conversion in pieces:
        if name is not None:
            whole = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            if name not in FIELDS:
                raise ValueError(f"has an unknown field {whole}; the fields are {_FIELD_LIST}")
            if conversion:
                raise ValueError(f"has the field {whole} with a '!' conversion, which fields do not take; remove '!{conversion}'")
            _check_spec(name, spec or "", whole)
        out.append((literal, name, spec or ""))
    return out


def _check_spec(name: str, spec: str, whole: str) -> None:
    if name == "value":
        if not spec.split(":", 1)[0].strip():
            raise ValueError(f"has the field {whole} without a value's name; write e.g. {{value:count_in}}")
        return
    try:
        if name == "frame":
            format(0, spec)
        elif name == "source":
            format("", spec)
    except ValueError:
        raise ValueError(f"has the field {whole} with a format Python cannot apply; try e.g. {{frame:06d}}") from None


def fill_fields(text: str, at: FieldValues) -> str:
    """The text with its fields replaced by what they stand for on one frame (see :func:`parse_fields`)."""
    parts = []
    for literal, name, spec in parse_fields(text):
        parts.append(literal)
        if name == "time":
            parts.append(at.now.strftime(spec or at.time_format))
        elif name == "frame":
            parts.append(format(at.frame, spec))
        elif name == "source":
            parts.append(format(mask_uri(at.source), spec))
        elif name == "value":
            key, _, value_spec = spec.partition(":")
            parts.append(_format_value(at.values.get(key.strip()), value_spec))
    return "".join(parts)


def _format_value(value: Any, spec: str) -> str:
    if value is None:
        return MISSING_VALUE
    try:
        return format(value, spec)
    except (TypeError, ValueError):  # a number format on a text value: show it as it is
        return str(value)


def text_lines(text: str) -> list[str]:
    """Lines of a text; the two characters backslash-n also break a line (the GUI's text box has one line)."""
    return text.replace("\\n", "\n").split("\n")


def text_layout(lines: list[str], scale: float, thickness: int) -> tuple[tuple[int, int], list[tuple[int, int]]]:
    """The size (w, h) of a block of lines, background padding included, and each line's baseline origin in it."""
    (_, height), baseline = cv2.getTextSize("Ag", FONT, scale, thickness)  # Hershey heights do not depend on the text
    pad = max(2, height // 3)
    pitch = height + baseline + max(1, height // 2)
    width = max(cv2.getTextSize(line, FONT, scale, thickness)[0][0] for line in lines)
    size = (width + 2 * pad, len(lines) * pitch - (pitch - height - baseline) + 2 * pad)
    return size, [(pad, pad + height + i * pitch) for i in range(len(lines))]


def draw_text(
    image: np.ndarray,
    text: str,
    *,
    anchor: str = "point",
    margin: int = 10,
    position: tuple[int, int] = (10, 10),
    scale: float = 0.8,
    thickness: int = 2,
    color: tuple[int, int, int] = (255, 255, 255),
    background: tuple[int, int, int] | None = (0, 0, 0),
) -> tuple[int, int, int, int]:
    """Draws a (multi-line) text on the image in place, with an optional filled box behind it.

    Args:
        image: BGR uint8, drawn on.
        text: the text; ``\\n`` (a newline or backslash-n) starts a new line.
        anchor, margin, position: where the block goes (see :func:`~vision_desk.stages.drawing._placement.place`).
        scale, thickness: cv2.putText's font scale and stroke thickness.
        color: text colour, BGR.
        background: the box's colour, BGR; None draws no box.

    Returns:
        The block's rectangle (x, y, w, h) in frame pixels (it may reach past the frame's edges).
    """
    lines = text_lines(text)
    (w, h), origins = text_layout(lines, scale, thickness)
    x, y = place((w, h), (image.shape[1], image.shape[0]), anchor, margin, position)
    if background is not None:
        cv2.rectangle(image, (x, y), (x + w - 1, y + h - 1), background, -1)
    for line, (ox, oy) in zip(lines, origins):
        cv2.putText(image, line, (x + ox, y + oy), FONT, scale, color, thickness, cv2.LINE_AA)
    return x, y, w, h


class DrawParams(StageParams):
    text: str = param("{time}", widget="text",
                      help="The text. Fields: {time} (the clock, see time_format), {frame} (frame number), {source} (the source, "
                           "passwords hidden), {value:NAME} (a value another stage wrote, e.g. {value:count_in}); \\n starts a "
                           "new line. The default is a timestamp.")
    time_format: str = param("%Y-%m-%d %H:%M:%S", help="How {time} is written (Python strftime codes: %H:%M:%S, %d.%m.%Y, %f for microseconds).")
    position: tuple[int, int] = position_param("text")
    anchor: Anchor = anchor_param("point", "text")
    margin: int = margin_param()
    scale: float = param(0.8, ge=0.1, le=10.0, step=0.1, help="Font scale: 1 draws capitals about 22 pixels tall.")
    thickness: int = param(2, ge=1, le=30, help="Stroke thickness in pixels.")
    color: Color = param((255, 255, 255), widget="color", help="Text colour (BGR).")
    background: bool = param(True, help="A filled box behind the text, so that it stays legible on any picture.")
    background_color: Color = param((0, 0, 0), widget="color", help="Colour of the box behind the text (BGR).")

    @field_validator("text")
    @classmethod
    def _fields_known(cls, text: str) -> str:
        parse_fields(text)
        return text


class DrawStage(DrawingStage):
    id = "draw"
    title = "Draw text / timestamp"
    help = ("Writes a text into the frame itself (recordings keep it), with fields filled per frame: {time}, {frame}, {source}, "
            "{value:NAME}; by default the date and time. Put it last in the chain.")
    Params = DrawParams

    def render(self, image: np.ndarray, frame: Frame) -> None:
        p = self.params
        text = fill_fields(p.text, FieldValues(datetime.now(), frame.index, frame.source_id, frame.values, p.time_format))
        draw_text(image, text, anchor=p.anchor, margin=p.margin, position=p.position, scale=p.scale,
                  thickness=p.thickness, color=p.color, background=p.background_color if p.background else None)
