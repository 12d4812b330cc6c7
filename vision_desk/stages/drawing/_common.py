"""What the drawing stages share: the base stage, colours, and where a block (a text box, a logo) goes.

Not a stage module (the leading underscore keeps discovery away).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from vision_desk.engine.frame import Frame
from vision_desk.engine.params import param
from vision_desk.engine.stage import Stage
from vision_desk.stages.classical._common import Byte

Anchor = Literal["top_left", "top_right", "bottom_left", "bottom_right", "center", "point"]
#: A colour, BGR.
Color = tuple[Byte, Byte, Byte]


def anchor_param(default: Anchor, what: str) -> Any:
    """The ``anchor`` parameter: a corner keeps ``margin`` pixels from the frame's edges at any resolution."""
    return param(default, help=f"Where the {what} goes: 'point' puts its top-left corner at position (picked on the video); "
                               f"a corner or the centre of the frame keeps its place at any resolution.")


def margin_param() -> Any:
    """The ``margin`` parameter of the corner anchors."""
    return param(10, ge=0, le=2000, help="Distance in pixels from the frame's edges when anchored to a corner.")


def position_param(what: str) -> Any:
    """The ``position`` parameter, used when the anchor is ``point``."""
    return param((10, 10), widget="point", help=f"Top-left corner (x, y) of the {what} in frame pixels, picked on the video; used when anchor is 'point'.")


def place(size: tuple[int, int], frame: tuple[int, int], anchor: str, margin: int, position: tuple[int, int]) -> tuple[int, int]:
    """The top-left corner (x, y) of a block of ``size`` (w, h) on a frame of ``frame`` (w, h).

    The block may reach past the frame's edges (a big logo, a large margin); drawing clips it.
    """
    w, h = size
    fw, fh = frame
    if anchor == "point":
        return int(position[0]), int(position[1])
    if anchor == "center":
        return (fw - w) // 2, (fh - h) // 2
    x = margin if anchor.endswith("left") else fw - w - margin
    y = margin if anchor.startswith("top") else fh - h - margin
    return x, y


class DrawingStage(Stage):
    """Draws on a copy of the frame's image and makes that the image (a source may hand out one array twice)."""

    category = "Drawing"

    def render(self, image: np.ndarray, frame: Frame) -> None:
        """Draws into ``image`` (a copy of the frame's) in place."""
        raise NotImplementedError

    def process(self, frame: Frame) -> None:
        image = frame.image.copy()
        self.render(image, frame)
        frame.image = image
