"""Motion: background subtraction (MOG2 or KNN) with motion boxes, sparse (Lucas-Kanade) and dense (Farneback) optical flow."""

from __future__ import annotations

from collections import deque
from typing import Literal

import cv2
import numpy as np

from vision_desk.engine.frame import Frame
from vision_desk.engine.params import StageParams, param
from vision_desk.stages.basic import MotionParams, MotionStage, to_bgr, to_gray
from vision_desk.stages.classical._frame_tools import StatefulStage, shrink

# -- background subtraction -----------------------------------------------------


class BgSubtractParams(MotionParams):
    method: Literal["mog2", "knn"] = param("mog2", help="MOG2: a mixture of Gaussians per pixel; KNN: nearest neighbours, often cleaner on busy backgrounds.")
    knn_threshold: float = param(400.0, ge=1.0, le=10000.0, help="KNN only: squared colour distance from the background above which a pixel is moving.")
    learning_rate: float = param(-1.0, ge=-1.0, le=1.0, step=0.001, help="How fast the background absorbs change (0: frozen, 1: only the last frame, -1: automatic from history).")
    view: Literal["frame", "mask"] = param("frame", help="Show the frame, or the foreground mask (white: moving, grey: shadow).")


class _RecordingSubtractor:
    """Wraps an OpenCV subtractor: applies the learning rate and keeps the last mask for the view."""

    def __init__(self, subtractor: cv2.BackgroundSubtractor, learning_rate: float) -> None:
        self.subtractor = subtractor
        self.learning_rate = learning_rate
        self.mask: np.ndarray | None = None

    def apply(self, image: np.ndarray) -> np.ndarray:
        self.mask = self.subtractor.apply(image, learningRate=self.learning_rate)
        return self.mask


def make_subtractor(p: BgSubtractParams) -> cv2.BackgroundSubtractor:
    """A MOG2 or KNN background model configured from the parameters."""
    if p.method == "knn":
        return cv2.createBackgroundSubtractorKNN(p.history, p.knn_threshold, p.shadows)
    return cv2.createBackgroundSubtractorMOG2(p.history, p.var_threshold, p.shadows)


class BgSubtractStage(MotionStage):
    """The core `motion` stage (its mask cleaning and boxes) with a choice of model, learning rate and a mask view."""

    id = "bg_subtract"
    title = "Background subtraction"
    category = "Motion"
    help = "Background subtraction with MOG2 or KNN (optional shadow detection): one 'motion' object per moving region, counts in values."
    Params = BgSubtractParams
    values = {**MotionStage.values, "shadow_fraction": "Share of the frame marked as shadow (0-1; with shadows on)."}

    def process(self, frame: Frame) -> None:
        p = self.params
        if self._subtractor is None:
            self._subtractor = _RecordingSubtractor(make_subtractor(p), p.learning_rate)  # type: ignore[assignment]
        super().process(frame)
        mask = self._subtractor.mask  # type: ignore[union-attr]
        if p.shadows and mask is not None:
            frame.values["shadow_fraction"] = round(float(np.count_nonzero(mask == 127)) / mask.size, 4)
        if p.view == "mask" and mask is not None:
            frame.image = to_bgr(mask)


# -- trails, shared with the colour tracker ---------------------------------------

def draw_trail(canvas: np.ndarray, points: list[tuple[float, float]] | deque, color: tuple[int, int, int], thickness: int = 2) -> None:
    """Draws a polyline whose older segments fade towards black (newest point last)."""
    n = len(points)
    for i in range(1, n):
        fade = 0.25 + 0.75 * i / (n - 1)
        c = tuple(int(v * fade) for v in color)
        a, b = points[i - 1], points[i]
        cv2.line(canvas, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), c, thickness, cv2.LINE_AA)


# -- sparse optical flow ----------------------------------------------------------

def lucas_kanade(prev_gray: np.ndarray, gray: np.ndarray, points: np.ndarray, window: int = 21, levels: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Tracks points from one gray frame to the next with pyramidal Lucas-Kanade.

    A point is kept only when tracking it back lands within a pixel of where it
    started (the forward-backward check), which drops points lost in occlusion.

    Returns:
        (new positions (N, 2) float32, good flags (N,) bool).
    """
    if len(points) == 0:
        return np.zeros((0, 2), np.float32), np.zeros(0, bool)
    p0 = points.reshape(-1, 1, 2).astype(np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03)
    lk = {"winSize": (window, window), "maxLevel": levels, "criteria": criteria}
    p1, st1, _ = cv2.calcOpticalFlowPyrLK(prev_gray, gray, p0, None, **lk)
    back, st2, _ = cv2.calcOpticalFlowPyrLK(gray, prev_gray, p1, None, **lk)
    good = (st1.reshape(-1) == 1) & (st2.reshape(-1) == 1) & (np.abs(p0 - back).reshape(-1, 2).max(axis=1) < 1.0)
    return p1.reshape(-1, 2), good


class LkFlowParams(StageParams):
    max_corners: int = param(200, ge=1, le=5000, help="Most feature points tracked at once (Shi-Tomasi corners).")
    quality: float = param(0.01, ge=0.001, le=1.0, step=0.005, help="Corner quality relative to the best corner; higher keeps only strong corners.")
    min_distance: int = param(10, ge=1, le=500, help="Smallest distance between tracked points, in pixels.")
    window: int = param(21, ge=5, le=101, help="Lucas-Kanade search window, in pixels: larger follows faster motion.")
    levels: int = param(3, ge=0, le=8, help="Pyramid levels (each halves the size) for motion larger than the window.")
    trail: int = param(20, ge=1, le=500, help="Frames a point's fading trail stays on screen.")
    redetect: int = param(15, ge=1, le=10000, help="Look for new corners every this many frames (and whenever half are lost).")


class LkFlowStage(StatefulStage):
    id = "lk_flow"
    title = "Sparse optical flow (Lucas-Kanade)"
    category = "Motion"
    help = "Tracks good corner features with pyramidal Lucas-Kanade and draws fading trails; the median motion per frame is in values (lk_dx, lk_dy)."
    Params = LkFlowParams
    values = {"lk_points": "Corners followed from the previous frame.",
              "lk_dx": "Median horizontal motion of the corners, pixels per frame.",
              "lk_dy": "Median vertical motion of the corners, pixels per frame (down is positive).",
              "lk_speed": "Median speed of the corners, pixels per frame."}

    def reset(self) -> None:
        self._prev: np.ndarray | None = None
        self._points = np.zeros((0, 2), np.float32)
        self._trails: list[deque] = []
        self._age = 0

    def _find_corners(self, gray: np.ndarray) -> None:
        p = self.params
        room = p.max_corners - len(self._points)
        if room <= 0:
            return
        mask = np.full(gray.shape, 255, np.uint8)
        for x, y in self._points:  # new corners keep their distance from the ones already tracked
            cv2.circle(mask, (int(x), int(y)), p.min_distance, 0, -1)
        found = cv2.goodFeaturesToTrack(gray, room, p.quality, p.min_distance, mask=mask)
        if found is not None:
            new = found.reshape(-1, 2).astype(np.float32)
            self._points = np.concatenate([self._points, new])
            self._trails += [deque([tuple(pt)], maxlen=p.trail + 1) for pt in new]

    def process(self, frame: Frame) -> None:
        p = self.params
        gray = to_gray(frame.image)
        if self._prev is not None and self._prev.shape != gray.shape:
            self.reset()
        motion = np.zeros((0, 2), np.float32)
        if self._prev is not None and len(self._points):
            new, good = lucas_kanade(self._prev, gray, self._points, p.window, p.levels)
            motion = new[good] - self._points[good]
            self._points = new[good]
            self._trails = [t for t, g in zip(self._trails, good) if g]
            for trail, pt in zip(self._trails, self._points):
                trail.append(tuple(pt))
        self._age += 1
        if self._prev is None or self._age >= p.redetect or len(self._points) < p.max_corners // 2:
            self._find_corners(gray)
            self._age = 0
        self._prev = gray
        frame.values["lk_points"] = len(motion)
        dx, dy = (np.median(motion, axis=0) if len(motion) else (0.0, 0.0))
        frame.values["lk_dx"] = round(float(dx), 3)
        frame.values["lk_dy"] = round(float(dy), 3)
        frame.values["lk_speed"] = round(float(np.median(np.hypot(motion[:, 0], motion[:, 1]))) if len(motion) else 0.0, 3)
        frame.extras[self.id] = [list(t) for t in self._trails]

    def draw(self, canvas: np.ndarray, frame: Frame) -> None:
        for trail in frame.extras.get(self.id, []):
            draw_trail(canvas, trail, (0, 255, 0), 1)
            x, y = trail[-1]
            cv2.circle(canvas, (int(x), int(y)), 2, (0, 0, 255), -1, cv2.LINE_AA)


# -- dense optical flow -------------------------------------------------------------

def farneback(prev_gray: np.ndarray, gray: np.ndarray, levels: int = 3, window: int = 15, iterations: int = 3, poly_n: int = 5) -> np.ndarray:
    """Dense optical flow (Farneback) between two gray frames: (H, W, 2) float32 of (dx, dy) per pixel."""
    sigma = 1.1 if poly_n == 5 else 1.5  # OpenCV's recommended pairs
    return cv2.calcOpticalFlowFarneback(prev_gray, gray, None, 0.5, levels, window, iterations, poly_n, sigma, 0)


def flow_to_color(flow: np.ndarray, saturate_at: float = 0.0) -> np.ndarray:
    """The usual HSV coding of a flow field as BGR: hue = direction, brightness = speed.

    Args:
        flow: (H, W, 2) dx, dy.
        saturate_at: the speed shown at full brightness; 0 scales to the field's own maximum.
    """
    magnitude, angle = cv2.cartToPolar(flow[..., 0], flow[..., 1], angleInDegrees=True)
    top = saturate_at if saturate_at > 0 else max(float(magnitude.max()), 1e-6)
    hsv = np.empty((*flow.shape[:2], 3), np.uint8)
    hsv[..., 0] = (angle / 2).astype(np.uint8)  # OpenCV hue runs 0..179
    hsv[..., 1] = 255
    hsv[..., 2] = np.clip(magnitude * (255.0 / top), 0, 255).astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)


class DenseFlowParams(StageParams):
    downscale: float = param(2.0, ge=1.0, le=8.0, step=0.25, help="Divide the frame size by this before computing flow (4x faster at 2); values stay in full-frame pixels.")
    levels: int = param(3, ge=1, le=8, help="Pyramid levels: more follow larger motion.")
    window: int = param(15, ge=3, le=101, help="Averaging window: larger is smoother and more robust, but blurs motion boundaries.")
    iterations: int = param(3, ge=1, le=20, help="Iterations per pyramid level.")
    poly_n: Literal[5, 7] = param(5, help="Pixel neighbourhood of the polynomial fit: 7 is smoother.")
    saturate_at: float = param(0.0, ge=0.0, le=200.0, help="Speed (pixels per frame) shown at full brightness; 0 scales each frame to its own fastest motion.")
    view: Literal["color", "overlay"] = param("color", help="Replace the frame with the colour-coded flow (hue = direction, brightness = speed), or blend it over the frame.")


class DenseFlowStage(StatefulStage):
    id = "dense_flow"
    title = "Dense optical flow (Farneback)"
    category = "Motion"
    help = "Farneback optical flow for every pixel, colour-coded by direction and speed; mean speed (flow_magnitude) and the median motion (flow_dx, flow_dy, flow_direction) in values. Moderately slow: use downscale."
    Params = DenseFlowParams
    heavy = True
    values = {"flow_magnitude": "Mean speed over all pixels, pixels per frame.",
              "flow_dx": "Median horizontal motion, pixels per frame.",
              "flow_dy": "Median vertical motion, pixels per frame (down is positive).",
              "flow_direction": "Direction of the median motion in degrees (0 = right, 90 = down)."}

    def reset(self) -> None:
        self._prev: np.ndarray | None = None

    def process(self, frame: Frame) -> None:
        p = self.params
        gray = shrink(to_gray(frame.image), p.downscale)
        prev, self._prev = self._prev, gray
        if prev is None or prev.shape != gray.shape:
            flow = np.zeros((*gray.shape, 2), np.float32)
        else:
            flow = farneback(prev, gray, p.levels, p.window, p.iterations, p.poly_n)
        h, w = frame.shape
        flow *= np.float32([w / gray.shape[1], h / gray.shape[0]])  # back to full-frame pixels
        # Medians: flat, textureless areas report ~0 flow (the aperture problem) and would drag a mean down.
        dx, dy = float(np.median(flow[..., 0])), float(np.median(flow[..., 1]))
        frame.values["flow_magnitude"] = round(float(np.hypot(flow[..., 0], flow[..., 1]).mean()), 3)
        frame.values["flow_dx"] = round(dx, 3) + 0.0  # + 0.0 turns -0.0 into 0.0
        frame.values["flow_dy"] = round(dy, 3) + 0.0
        frame.values["flow_direction"] = round(float(np.degrees(np.arctan2(dy, dx))) % 360.0, 1) if dx or dy else 0.0  # 0 = right, 90 = down
        coded = cv2.resize(flow_to_color(flow, p.saturate_at), (w, h), interpolation=cv2.INTER_LINEAR)
        frame.image = coded if p.view == "color" else cv2.addWeighted(frame.image, 0.5, coded, 0.5, 0)
