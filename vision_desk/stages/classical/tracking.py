"""Tracking without deep learning: mean-shift and CAMShift on a hue histogram, and colour tracking with a centroid trail."""

from __future__ import annotations

from collections import deque

import cv2
import numpy as np

from vision_desk.engine.frame import Frame
from vision_desk.engine.params import StageParams, param
from vision_desk.engine.results import Detections
from vision_desk.errors import VisionDeskError
from vision_desk.stages.classical._frame_tools import StatefulStage, clip_rect
from vision_desk.stages.classical.motion_flow import draw_trail

# -- HSV colour ranges (also used by inpainting's colour mask) ------------------------


class HsvRangeParams(StageParams):
    hue_low: int = param(170, ge=0, le=179, help="Lowest hue (OpenCV's 0-179 scale: red 0, yellow 30, green 60, cyan 90, blue 120, magenta 150).")
    hue_high: int = param(10, ge=0, le=179, help="Highest hue; a range with low above high wraps through 0 (for reds).")
    sat_min: int = param(100, ge=0, le=255, help="Lowest saturation: raise it to ignore greyish pixels.")
    val_min: int = param(60, ge=0, le=255, help="Lowest brightness: raise it to ignore dark pixels.")


def hsv_mask(image: np.ndarray, hue_low: int, hue_high: int, sat_min: int, val_min: int) -> np.ndarray:
    """A 0/255 mask of the pixels whose hue lies in [hue_low, hue_high] (wrapping when low > high)."""
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
    if hue_low <= hue_high:
        return cv2.inRange(hsv, (hue_low, sat_min, val_min), (hue_high, 255, 255))
    return cv2.inRange(hsv, (hue_low, sat_min, val_min), (179, 255, 255)) | cv2.inRange(hsv, (0, sat_min, val_min), (hue_high, 255, 255))


# -- mean-shift and CAMShift -------------------------------------------------------------


class RegionTrackParams(StageParams):
    region: tuple[int, int, int, int] = param((0, 0, 0, 0), widget="rect", help="The object to follow, as (x, y, width, height) in the first frame; nothing is tracked until it is set.")
    bins: int = param(32, ge=2, le=180, help="Hue histogram bins: more separate similar colours (orange from red) but need a steadier light.")
    min_saturation: int = param(60, ge=0, le=255, help="Pixels less saturated than this are ignored (grey has no reliable hue).")
    min_value: int = param(32, ge=0, le=255, help="Pixels darker than this are ignored.")
    iterations: int = param(10, ge=1, le=100, help="Most mean-shift steps per frame.")
    lost_below: float = param(0.3, ge=0.0, le=1.0, step=0.05, help="The target counts as lost while the window's colour match is below this share of the match it had when selected.")


def hue_histogram(image: np.ndarray, rect: tuple[int, int, int, int], bins: int, min_saturation: int, min_value: int) -> np.ndarray:
    """The normalised (0-255) hue histogram of a region, counting only coloured, lit pixels."""
    x, y, w, h = rect
    hsv = cv2.cvtColor(image[y : y + h, x : x + w], cv2.COLOR_BGR2HSV)
    mask = cv2.inRange(hsv, (0, min_saturation, min_value), (180, 255, 255))
    hist = cv2.calcHist([hsv], [0], mask, [bins], [0, 180])
    return cv2.normalize(hist, hist, 0, 255, cv2.NORM_MINMAX)


def back_projection(image: np.ndarray, hist: np.ndarray, min_saturation: int, min_value: int) -> np.ndarray:
    """How well each pixel's hue fits the histogram (0-255), with grey and dark pixels zeroed."""
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
    prob = cv2.calcBackProject([hsv], [0], hist, [0, 180], 1)
    return prob & cv2.inRange(hsv, (0, min_saturation, min_value), (180, 255, 255))


def _support(prob: np.ndarray, window: tuple[int, int, int, int]) -> float:
    """Mean back-projection (0-1) under a window: how much of it has the target's colours."""
    x, y, w, h = window
    return float(prob[y : y + h, x : x + w].mean()) / 255.0 if w > 0 and h > 0 else 0.0


def window_values(stage_id: str) -> dict[str, str]:
    """The values mean-shift and CAMShift write, named after the stage (see ``_HistogramTracker.process``)."""
    return {f"{stage_id}_found": "Whether the target is in view.", f"{stage_id}_x": "Centre x of the window, while found.",
            f"{stage_id}_y": "Centre y of the window, while found."}


class _HistogramTracker(StatefulStage):
    """Shared by mean-shift and CAMShift: the target's hue histogram, taken from the region on the first frame."""

    category = "Tracking"
    Params = RegionTrackParams

    def reset(self) -> None:
        self._hist: np.ndarray | None = None
        self._window: tuple[int, int, int, int] | None = None
        self._support0 = 1.0

    def _search(self, prob: np.ndarray, window: tuple[int, int, int, int], criteria: tuple) -> tuple[tuple[int, int, int, int], np.ndarray | None]:
        """One frame's search: the new window and, for CAMShift, the rotated box's corners."""
        raise NotImplementedError

    def process(self, frame: Frame) -> None:
        p = self.params
        found = False
        if p.region[2] > 0 and p.region[3] > 0:
            first = self._hist is None
            if first:
                rect = clip_rect(p.region, frame.image.shape)
                if rect is None:
                    raise VisionDeskError(f"{self.id}: the region {tuple(p.region)} lies outside the {frame.shape[1]}x{frame.shape[0]} frame; draw it again.")
                self._hist = hue_histogram(frame.image, rect, p.bins, p.min_saturation, p.min_value)
                self._window = rect
            prob = back_projection(frame.image, self._hist, p.min_saturation, p.min_value)
            if first:
                self._support0 = _support(prob, self._window)
                if self._support0 == 0:
                    self._hist = None
                    raise VisionDeskError(f"{self.id}: the region has no coloured pixels to follow; pick a coloured object or lower min_saturation and min_value.")
            criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, p.iterations, 1)
            window, corners = self._search(prob, self._window, criteria)
            support = _support(prob, window)
            found = support > 0 and support >= p.lost_below * self._support0
            if support > 0:
                self._window = window  # keep searching from here even while lost (CAMShift widens its window)
            if found:
                x, y, w, h = window
                columns = {"polygon": [corners.tolist()]} if corners is not None else {}
                frame.add(Detections.from_boxes([(x, y, x + w, y + h)], "target", [support], track_id=[1], source=self.id, **columns))
                frame.values[f"{self.id}_x"] = round(x + w / 2, 1)
                frame.values[f"{self.id}_y"] = round(y + h / 2, 1)
        frame.values[f"{self.id}_found"] = found


class MeanShiftStage(_HistogramTracker):
    id = "meanshift"
    title = "Mean-shift tracker"
    help = "Follows the region's colours (hue histogram back-projection) with mean-shift; the window keeps its size."
    values = window_values("meanshift")

    def _search(self, prob, window, criteria):  # noqa: ANN001, ANN202 - see the base class
        _, window = cv2.meanShift(prob, window, criteria)
        return tuple(int(v) for v in window), None


class CamShiftStage(_HistogramTracker):
    id = "camshift"
    title = "CAMShift tracker"
    help = "Follows the region's colours with CAMShift: the box adapts its size and angle (rotated box as a polygon, angle in values)."
    values = {**window_values("camshift"), "camshift_angle": "Angle of the rotated box in degrees, while found."}
    columns = {"polygon": "The rotated box's four corners."}

    def _search(self, prob, window, criteria):  # noqa: ANN001, ANN202 - see the base class
        rotated, window = cv2.CamShift(prob, window, criteria)
        self._angle = float(rotated[2])
        return tuple(int(v) for v in window), cv2.boxPoints(rotated).round(1)

    def process(self, frame: Frame) -> None:
        super().process(frame)
        if frame.values.get("camshift_found"):
            frame.values["camshift_angle"] = round(self._angle, 1)


# -- colour tracking ------------------------------------------------------------------------


class ColorTrackParams(HsvRangeParams):
    min_area: int = param(200, ge=1, le=10_000_000, help="Smallest matching blob, in pixels, that counts as the object.")
    trail: int = param(40, ge=1, le=1000, help="Frames of centroid trail drawn behind the object.")


def largest_blob(mask: np.ndarray, min_area: int) -> tuple[tuple[float, float], tuple[int, int, int, int], float] | None:
    """Centroid (from moments), (x, y, w, h) box and area of the largest blob at least min_area pixels, or None."""
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    biggest = max(contours, key=cv2.contourArea)
    m = cv2.moments(biggest)
    if m["m00"] < max(min_area, 1):
        return None
    return (m["m10"] / m["m00"], m["m01"] / m["m00"]), cv2.boundingRect(biggest), float(m["m00"])


_OPEN_KERNEL = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))


class ColorTrackStage(StatefulStage):
    id = "color_track"
    title = "Colour tracker"
    category = "Tracking"
    help = "Follows the largest blob within an HSV colour range (red by default) and draws its centroid trail."
    Params = ColorTrackParams
    values = {"color_track_found": "Whether the object is in view.", "color_track_x": "Centroid x, while found.",
              "color_track_y": "Centroid y, while found."}
    columns = {"area": "Area of the blob in pixels."}

    def reset(self) -> None:
        self._trail: deque = deque(maxlen=self.params.trail)

    def process(self, frame: Frame) -> None:
        p = self.params
        mask = hsv_mask(frame.image, p.hue_low, p.hue_high, p.sat_min, p.val_min)
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, _OPEN_KERNEL)
        blob = largest_blob(mask, p.min_area)
        frame.values["color_track_found"] = blob is not None
        if blob is not None:
            (cx, cy), (x, y, w, h), area = blob
            self._trail.append((cx, cy))
            frame.add(Detections.from_boxes([(x, y, x + w, y + h)], "colour object", track_id=[1], source=self.id, area=[int(area)]))
            frame.values["color_track_x"] = round(cx, 1)
            frame.values["color_track_y"] = round(cy, 1)
        frame.extras[self.id] = list(self._trail)

    def draw(self, canvas: np.ndarray, frame: Frame) -> None:
        trail = frame.extras.get(self.id, [])
        draw_trail(canvas, trail, (0, 255, 255), 3)
        if trail:
            cv2.circle(canvas, (int(trail[-1][0]), int(trail[-1][1])), 5, (0, 255, 255), -1, cv2.LINE_AA)
