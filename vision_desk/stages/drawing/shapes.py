"""Shapes drawn into the frame itself: ``draw_rect``, ``draw_line`` and ``draw_circle``.

One stage per shape rather than one stage with a ``shape`` choice: each then has
only the parameters that mean something for it, each picked on the video with
its own tool (a rectangle, a line, a point), and a chain holds as many as needed.
"""

from __future__ import annotations

from typing import Annotated, Any, Callable, ClassVar

import cv2
import numpy as np
from pydantic import Field

from vision_desk.engine.frame import Frame
from vision_desk.engine.params import StageParams, param
from vision_desk.stages.drawing._common import Color, DrawingStage

_Size = Annotated[int, Field(ge=0)]


def color_param(default: tuple[int, int, int]) -> Any:
    return param(default, widget="color", help="Colour (BGR).")


def thickness_param() -> Any:
    return param(2, ge=1, le=100, help="Line thickness in pixels.")


def filled_param() -> Any:
    return param(False, help="Fill the shape instead of outlining it.")


def draw_rect(image: np.ndarray, region: tuple[int, int, int, int], color: tuple[int, int, int], thickness: int, filled: bool = False) -> None:
    """Outlines (or fills) the rectangle (x, y, w, h) in place; (0, 0, 0, 0) is the whole frame."""
    x, y, w, h = region if any(region) else (0, 0, image.shape[1], image.shape[0])
    if w and h:
        # no anti-aliasing: on axis-aligned edges it only adds a blurred fringe
        cv2.rectangle(image, (x, y), (x + w - 1, y + h - 1), color, -1 if filled else thickness, cv2.LINE_8)


def draw_line(image: np.ndarray, line: tuple[int, int, int, int], color: tuple[int, int, int], thickness: int, arrow: bool = False) -> None:
    """Draws the segment (x1, y1, x2, y2) in place, with an arrow head at its end when ``arrow``."""
    x1, y1, x2, y2 = line
    if arrow:
        cv2.arrowedLine(image, (x1, y1), (x2, y2), color, thickness, cv2.LINE_AA, tipLength=0.1)
    else:
        cv2.line(image, (x1, y1), (x2, y2), color, thickness, cv2.LINE_AA)


def draw_circle(image: np.ndarray, center: tuple[int, int], radius: int, color: tuple[int, int, int], thickness: int, filled: bool = False) -> None:
    """Outlines (or fills) a circle in place."""
    cv2.circle(image, center, radius, color, -1 if filled else thickness, cv2.LINE_AA)


class _ShapeStage(DrawingStage):
    """A shape stage: its drawing function takes the image and then the stage's parameters, by name."""

    paint: ClassVar[Callable[..., None]]

    def render(self, image: np.ndarray, frame: Frame) -> None:
        self.paint(image, **dict(self.params))


class DrawRectParams(StageParams):
    region: tuple[int, int, _Size, _Size] = param((20, 20, 200, 120), widget="rect",
                                                 help="The rectangle (x, y, width, height) in frame pixels, drawn on the video; (0, 0, 0, 0) is the whole frame (a border).")
    color: Color = color_param((0, 255, 0))
    thickness: int = thickness_param()
    filled: bool = filled_param()


class DrawRectStage(_ShapeStage):
    id = "draw_rect"
    title = "Draw rectangle"
    help = "Draws a rectangle (outline or filled) into the frame itself, so recordings keep it; pick it on the video."
    Params = DrawRectParams
    paint = staticmethod(draw_rect)


class DrawLineParams(StageParams):
    line: tuple[int, int, int, int] = param((20, 20, 220, 20), widget="line", help="The segment (x1, y1, x2, y2) in frame pixels, drawn on the video.")
    color: Color = color_param((0, 255, 255))
    thickness: int = thickness_param()
    arrow: bool = param(False, help="An arrow head at the segment's end (x2, y2).")


class DrawLineStage(_ShapeStage):
    id = "draw_line"
    title = "Draw line / arrow"
    help = "Draws a line or an arrow into the frame itself, so recordings keep it; pick it on the video."
    Params = DrawLineParams
    paint = staticmethod(draw_line)


class DrawCircleParams(StageParams):
    center: tuple[int, int] = param((100, 100), widget="point", help="The centre (x, y) in frame pixels, picked on the video.")
    radius: int = param(50, ge=1, le=10000, help="Radius in pixels.")
    color: Color = color_param((0, 0, 255))
    thickness: int = thickness_param()
    filled: bool = filled_param()


class DrawCircleStage(_ShapeStage):
    id = "draw_circle"
    title = "Draw circle"
    help = "Draws a circle (outline or filled) into the frame itself, so recordings keep it; pick its centre on the video."
    Params = DrawCircleParams
    paint = staticmethod(draw_circle)
