"""Morphology: erode, dilate, open, close, gradient, top-hat and black-hat with a chosen structuring element."""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

from vision_desk.engine.frame import Frame
from vision_desk.engine.params import StageParams, param
from vision_desk.engine.stage import Stage
from vision_desk.stages.classical._common import binarize, to_bgr, to_gray

_OPERATIONS = {
    "erode": cv2.MORPH_ERODE, "dilate": cv2.MORPH_DILATE, "open": cv2.MORPH_OPEN, "close": cv2.MORPH_CLOSE,
    "gradient": cv2.MORPH_GRADIENT, "tophat": cv2.MORPH_TOPHAT, "blackhat": cv2.MORPH_BLACKHAT,
}
_SHAPES = {"rect": cv2.MORPH_RECT, "ellipse": cv2.MORPH_ELLIPSE, "cross": cv2.MORPH_CROSS}


def morphology(image: np.ndarray, operation: str, shape: str = "rect", ksize: int = 5, iterations: int = 1) -> np.ndarray:
    """Applies one morphological operation with a ``shape`` structuring element of ``ksize`` x ``ksize``.

    erode shrinks bright regions, dilate grows them, open (erode then dilate)
    removes small bright specks, close fills small dark holes, gradient is
    dilate - erode (outlines), top-hat is image - open (small bright details),
    black-hat is close - image (small dark details).
    """
    kernel = cv2.getStructuringElement(_SHAPES[shape], (ksize, ksize))
    return cv2.morphologyEx(image, _OPERATIONS[operation], kernel, iterations=iterations)


class MorphologyParams(StageParams):
    operation: Literal["erode", "dilate", "open", "close", "gradient", "tophat", "blackhat"] = param("open", help="erode / dilate shrink / grow bright regions; open removes specks; close fills holes; gradient outlines; tophat / blackhat keep small bright / dark details.")
    shape: Literal["rect", "ellipse", "cross"] = param("rect", help="Shape of the structuring element.")
    ksize: int = param(5, ge=1, le=99, help="Structuring element size in pixels.")
    iterations: int = param(1, ge=1, le=50, help="Times the operation is repeated.")
    input: Literal["color", "gray", "otsu", "otsu_inv"] = param("color", help="Work on the colour frame, its gray version, or its Otsu black-and-white mask (inverted: dark things are white).")


class MorphologyStage(Stage):
    id = "morphology"
    title = "Morphology"
    category = "Morphology"
    help = "Erode, dilate, open, close, gradient, top-hat or black-hat with a rectangle, ellipse or cross element; morphology_white_fraction in values for the Otsu inputs."
    Params = MorphologyParams
    values = {"morphology_white_fraction": "Otsu inputs: share of white pixels after the operation (0-1)."}

    def process(self, frame: Frame) -> None:
        p = self.params
        src = frame.image
        if p.input != "color":
            src = to_gray(src)
            if p.input.startswith("otsu"):
                src = binarize(src, "otsu", invert=p.input == "otsu_inv")
        out = morphology(src, p.operation, p.shape, p.ksize, p.iterations)
        if p.input.startswith("otsu"):
            frame.values["morphology_white_fraction"] = round(float(np.count_nonzero(out)) / out.size, 4)
        frame.image = to_bgr(out)
