"""Segmentation and repair: marker-based watershed, GrabCut on a rectangle and inpainting from a threshold or colour mask."""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

from vision_desk.engine.frame import Frame
from vision_desk.engine.params import StageParams, param
from vision_desk.engine.results import Detections
from vision_desk.engine.stage import Stage
from vision_desk.errors import VisionDeskError
from vision_desk.stages.basic import odd, to_bgr, to_gray
from vision_desk.stages.classical._frame_tools import clip_rect, shrink
from vision_desk.stages.classical.tracking import HsvRangeParams, hsv_mask

# -- watershed ----------------------------------------------------------------------------


def fill_holes(binary: np.ndarray) -> np.ndarray:
    """The binary mask with every hole inside its outer contours filled (coin faces have dark details)."""
    contours, _ = cv2.findContours(binary, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    out = np.zeros_like(binary)
    cv2.drawContours(out, contours, -1, 255, cv2.FILLED)
    return out


def foreground_mask(gray: np.ndarray, threshold: str = "adaptive", block_size: int = 101, offset: int = 10, objects: str = "bright") -> np.ndarray:
    """The objects as a 0/255 mask, opened and hole-filled.

    Adaptive thresholding compares each pixel with its neighbourhood's mean, so it
    copes with uneven light (coins() is brighter at the top) where Otsu's one
    global value loses the dim objects.
    """
    gray = cv2.GaussianBlur(gray, (5, 5), 0)
    if objects == "dark":
        gray = 255 - gray
    if threshold == "otsu":
        _, binary = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    else:
        binary = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, odd(max(3, block_size)), -offset)
    binary = cv2.morphologyEx(binary, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)))
    return fill_holes(binary)


def watershed_labels(image: np.ndarray, foreground: np.ndarray, min_distance: int = 12) -> tuple[np.ndarray, int]:
    """Splits touching objects with a marker-based watershed.

    Markers are the distance transform's local maxima (one per object centre,
    peaks closer than ``min_distance`` merge); the background is a marker of its
    own; the band around the objects is left for the flooding to decide.

    Returns:
        (labels int32 HxW: 1 = background, 2..n+1 = objects, -1 = boundaries, n).
    """
    distance = cv2.distanceTransform(foreground, cv2.DIST_L2, 5)
    # A square neighbourhood, as scikit-image's peak_local_max uses: OpenCV dilates with it ~6x faster than with a disc.
    square = np.ones((2 * min_distance + 1, 2 * min_distance + 1), np.uint8)
    peaks = (distance >= cv2.dilate(distance, square)) & (distance >= min_distance / 2) & (foreground > 0)
    n, markers = cv2.connectedComponents(peaks.astype(np.uint8))
    markers = markers + 1  # 1 = sure background
    band = cv2.dilate(foreground, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)), iterations=2) > 0
    markers[band & ~peaks] = 0  # unknown: the watershed decides
    return cv2.watershed(image, markers.astype(np.int32)), n - 1


def region_boxes(labels: np.ndarray, n: int, min_area: int) -> tuple[list[tuple[int, int, int, int]], list[int]]:
    """xyxy boxes and pixel areas of the object labels 2..n+1 with at least min_area pixels."""
    from scipy import ndimage

    objects = np.where(labels >= 2, labels - 1, 0)  # 1..n, boundaries and background 0
    counts = np.bincount(objects.ravel(), minlength=n + 1)
    boxes, areas = [], []
    for i, found in enumerate(ndimage.find_objects(objects, max_label=n), start=1):
        if found is not None and counts[i] >= max(min_area, 1):
            ys, xs = found
            boxes.append((xs.start, ys.start, xs.stop, ys.stop))
            areas.append(int(counts[i]))
    return boxes, areas


class WatershedParams(StageParams):
    threshold: Literal["adaptive", "otsu"] = param("adaptive", help="How objects are told from the background: adaptive copes with uneven light; Otsu picks one global level.")
    block_size: int = param(101, ge=3, le=1001, step=2, help="Adaptive: neighbourhood size in pixels (odd), larger than the objects.")
    offset: int = param(10, ge=-100, le=100, help="Adaptive: how much brighter than its neighbourhood a pixel must be to belong to an object.")
    objects: Literal["bright", "dark"] = param("bright", help="Whether the objects are brighter or darker than the background.")
    min_distance: int = param(12, ge=1, le=500, help="About the smallest object's radius in pixels: centres closer than this count as one object.")
    min_area: int = param(100, ge=0, le=10_000_000, help="Regions smaller than this many pixels are not reported.")


class WatershedStage(Stage):
    id = "watershed"
    title = "Watershed segmentation"
    category = "Segmentation"
    help = "Separates touching objects (coins, cells) with a marker-based watershed on the distance transform; one object per region, count in values."
    Params = WatershedParams
    values = {"watershed_count": "Regions found (the 'region' objects)."}
    columns = {"area": "Area in pixels."}

    def process(self, frame: Frame) -> None:
        p = self.params
        fg = foreground_mask(to_gray(frame.image), p.threshold, p.block_size, p.offset, p.objects)
        labels, n = watershed_labels(frame.image, fg, p.min_distance)
        boxes, areas = region_boxes(labels, n, p.min_area)
        frame.add(Detections.from_boxes(boxes, "region", source=self.id, area=areas))
        frame.values["watershed_count"] = len(boxes)
        frame.extras[self.id] = labels == -1

    def draw(self, canvas: np.ndarray, frame: Frame) -> None:
        boundaries = frame.extras.get(self.id)
        if boundaries is not None and boundaries.shape == canvas.shape[:2]:
            canvas[boundaries] = (0, 0, 255)


# -- GrabCut ----------------------------------------------------------------------------------


def grabcut(image: np.ndarray, rect: tuple[int, int, int, int], iterations: int = 3) -> np.ndarray:
    """GrabCut initialised with a rectangle: a bool mask of the (probable) foreground inside it."""
    mask = np.zeros(image.shape[:2], np.uint8)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(image, mask, rect, bgd, fgd, iterations, cv2.GC_INIT_WITH_RECT)
    return (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)


class GrabCutParams(StageParams):
    region: tuple[int, int, int, int] = param((0, 0, 0, 0), widget="rect", help="A rectangle around the object, (x, y, width, height); (0, 0, 0, 0) uses the frame less a 10% margin.")
    iterations: int = param(3, ge=1, le=20, help="GrabCut iterations: more refine the cut but cost time.")
    downscale: float = param(4.0, ge=1.0, le=8.0, step=0.25, help="Divide the frame size by this before cutting (GrabCut's time grows with the pixel count).")
    view: Literal["cutout", "overlay"] = param("cutout", help="Black out the background, or keep the frame and show the object as a coloured mask.")


class GrabCutStage(Stage):
    id = "grabcut"
    title = "GrabCut"
    category = "Segmentation"
    help = "Cuts the object out of a rectangle with GrabCut (colour models + graph cut); foreground share in values. Slow: seconds per 720p frame at full size, well under one at the default downscale of 4."
    Params = GrabCutParams
    heavy = True
    values = {"grabcut_fraction": "Share of the rectangle cut out as foreground (0-1)."}

    def process(self, frame: Frame) -> None:
        p = self.params
        h, w = frame.shape
        region = p.region if p.region[2] > 0 and p.region[3] > 0 else (w // 10, h // 10, w - w // 5, h - h // 5)
        rect = clip_rect(region, frame.image.shape)
        if rect is None or rect[2] < 2 or rect[3] < 2:
            frame.values["grabcut_fraction"] = 0.0
            return
        small = shrink(frame.image, min(p.downscale, max(1.0, min(w, h) / 32)))  # never below 32 px a side
        sx, sy = small.shape[1] / w, small.shape[0] / h
        x, y, rw, rh = rect
        small_rect = (int(x * sx), int(y * sy), max(2, int(rw * sx)), max(2, int(rh * sy)))
        if small_rect[2] >= small.shape[1] - 1 and small_rect[3] >= small.shape[0] - 1:
            raise VisionDeskError("grabcut: the region covers the whole frame, so GrabCut has no background to learn from; draw it inside the frame.")
        mask = grabcut(small, small_rect, p.iterations)
        mask = cv2.resize(mask.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)
        frame.values["grabcut_fraction"] = round(float(mask.sum()) / (rw * rh), 4)
        if mask.any():
            ys, xs = np.nonzero(mask)
            box = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
            keep_mask = mask[None] if p.view == "overlay" else None
            frame.add(Detections.from_boxes([box], "foreground", source=self.id, mask=keep_mask))
        if p.view == "cutout":
            frame.image = np.where(mask[..., None], frame.image, 0).astype(np.uint8)


# -- inpainting -------------------------------------------------------------------------------


class InpaintParams(HsvRangeParams):
    mask_from: Literal["threshold", "color"] = param("threshold", help="Which pixels to repair: those past a brightness threshold, or those within the HSV colour range.")
    threshold: int = param(240, ge=0, le=255, help="Threshold mode: pixels brighter than this are repaired (scratches, glare, white text).")
    dark: bool = param(False, help="Threshold mode: repair pixels darker than the threshold instead.")
    method: Literal["telea", "ns"] = param("telea", help="Telea's fast marching, or Navier-Stokes (smoother along edges).")
    radius: int = param(3, ge=1, le=50, help="Neighbourhood, in pixels, each repaired pixel is filled from.")
    grow: int = param(1, ge=0, le=50, help="Widen the mask by this many pixels so the blurred edges of marks are repaired too.")
    view: Literal["result", "mask"] = param("result", help="Show the repaired frame, or the mask of what is repaired.")


def repair_mask(image: np.ndarray, p: InpaintParams) -> np.ndarray:
    """The 0/255 mask of the pixels to repair, from a brightness threshold or an HSV range, widened by ``grow``."""
    if p.mask_from == "color":
        mask = hsv_mask(image, p.hue_low, p.hue_high, p.sat_min, p.val_min)
    else:
        mask = cv2.threshold(to_gray(image), p.threshold, 255, cv2.THRESH_BINARY_INV if p.dark else cv2.THRESH_BINARY)[1]
    if p.grow:
        mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * p.grow + 1, 2 * p.grow + 1)))
    return mask


def inpaint(image: np.ndarray, mask: np.ndarray, method: str = "telea", radius: int = 3) -> np.ndarray:
    """Fills the masked pixels from their surroundings (Telea or Navier-Stokes)."""
    if not mask.any():
        return image
    return cv2.inpaint(image, mask, radius, cv2.INPAINT_TELEA if method == "telea" else cv2.INPAINT_NS)


class InpaintStage(Stage):
    id = "inpaint"
    title = "Inpainting"
    category = "Segmentation"
    help = "Repairs the pixels picked by a brightness threshold or a colour range (scratches, text, logos) from their surroundings. Slows down as the mask grows."
    Params = InpaintParams
    values = {"inpaint_fraction": "Share of the frame repaired (0-1)."}

    def process(self, frame: Frame) -> None:
        p = self.params
        mask = repair_mask(frame.image, p)
        frame.values["inpaint_fraction"] = round(float(np.count_nonzero(mask)) / mask.size, 4)
        frame.image = to_bgr(mask) if p.view == "mask" else inpaint(frame.image, mask, p.method, p.radius)
