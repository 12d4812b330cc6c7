"""The ``landmarks`` stage: dlib's 68 facial landmarks and each face's head pose (solvePnP)."""

from __future__ import annotations

import math
from typing import Literal

import cv2
import numpy as np

from vision_desk.engine.frame import Frame
from vision_desk.engine.params import param
from vision_desk.engine.results import Detections
from vision_desk.engine.stage import Stage
from vision_desk.stages.faces.backends import predict_landmarks
from vision_desk.stages.faces.detect import FaceSourceParams, faces_for, frame_faces

#: The 68-point layout (iBUG 300-W, 0-based): groups drawn as contours, closed or open.
CONTOURS: dict[str, tuple[range, bool]] = {
    "jaw": (range(0, 17), False),
    "right_brow": (range(17, 22), False),
    "left_brow": (range(22, 27), False),
    "nose_bridge": (range(27, 31), False),
    "nose": (range(30, 36), True),
    "right_eye": (range(36, 42), True),
    "left_eye": (range(42, 48), True),
    "outer_lips": (range(48, 60), True),
    "inner_lips": (range(60, 68), True),
}

# A generic head in millimetres, camera axes (x right, y down, z away from the camera), nose tip at the
# origin: a face looking straight at the camera has no rotation. Indices into the 68 points.
_MODEL_INDEX = [30, 8, 36, 45, 48, 54]  # nose tip, chin, outer eye corners (image left, right), mouth corners
_MODEL_POINTS = np.array(
    [(0.0, 0.0, 0.0), (0.0, 63.6, 12.5), (-43.3, -32.7, 26.0), (43.3, -32.7, 26.0), (-28.9, 28.9, 24.1), (28.9, 28.9, 24.1)],
    np.float64,
)


def head_pose(points: np.ndarray, image_size: tuple[int, int]) -> tuple[float, float, float, np.ndarray, np.ndarray]:
    """Yaw, pitch and roll in degrees from 68 landmarks, plus solvePnP's rotation and translation vectors.

    The camera is modelled as a pinhole with focal length = image width and
    no distortion (good enough for angles); the angles are relative to the
    line of sight, so 0, 0, 0 means looking into the lens. Signs, as seen in the image: yaw
    > 0 when the face turns towards the image's right, pitch > 0 when it
    tilts down, roll > 0 when it leans clockwise.
    """
    h, w = image_size
    camera = np.array([[w, 0, w / 2], [0, w, h / 2], [0, 0, 1]], np.float64)
    image_points = np.asarray(points, np.float64)[_MODEL_INDEX]
    ok, rvec, tvec = cv2.solvePnP(_MODEL_POINTS, image_points, camera, None, flags=cv2.SOLVEPNP_ITERATIVE)
    if not ok:
        return math.nan, math.nan, math.nan, np.zeros(3), np.zeros(3)
    r, _ = cv2.Rodrigues(rvec)
    # Angles are taken relative to the line of sight from the camera to the nose, so a face looking into the
    # lens reads about 0 wherever it sits in the frame (a face near the top edge is seen from below).
    sight = tvec.reshape(3) / max(float(np.linalg.norm(tvec)), 1e-9)
    axis = np.cross([0.0, 0.0, 1.0], sight)
    if np.linalg.norm(axis) > 1e-9:
        angle = math.acos(max(-1.0, min(1.0, float(sight[2]))))
        to_sight, _ = cv2.Rodrigues(axis / np.linalg.norm(axis) * angle)
        r = to_sight.T @ r
    # R = Rz(roll) @ Ry(b) @ Rx(pitch) in the camera axes above; a face turning to the image's right has b < 0.
    yaw = math.degrees(math.asin(max(-1.0, min(1.0, r[2, 0]))))  # r[2, 0] = -sin(b)
    pitch = math.degrees(math.atan2(r[2, 1], r[2, 2]))
    roll = math.degrees(math.atan2(r[1, 0], r[0, 0]))
    return yaw, pitch, roll, rvec.reshape(3), tvec.reshape(3)


class LandmarksParams(FaceSourceParams):
    style: Literal["points", "contours", "both"] = param("points", help="Draw the 68 landmarks as dots, as the face's contours, or both.")
    pose: bool = param(True, help="Estimate each face's head pose (yaw, pitch, roll) with solvePnP.")
    axes: bool = param(True, help="Draw the head pose as 3-D axes from the nose tip.")


class LandmarksStage(Stage):
    id = "landmarks"
    title = "Face landmarks"
    category = "Faces"
    help = ("dlib's 68 facial landmarks per face (from a 'faces' stage before it, else its own MTCNN pass) and head pose "
            "(values head_yaw/head_pitch/head_roll of the largest face, degrees). Heavy without a 'faces' stage before it.")
    Params = LandmarksParams
    heavy = True
    values = {"landmarks_count": "Faces given landmarks.", "head_yaw": "With pose: the largest face's yaw in degrees.",
              "head_pitch": "With pose: its pitch in degrees.", "head_roll": "With pose: its roll in degrees."}
    columns = {"landmarks": "68 points [[x, y], ...].", "head_pose": "With pose: {yaw, pitch, roll} in degrees."}

    def setup(self) -> None:
        predict_landmarks(np.zeros((64, 64, 3), np.uint8), np.array([[8, 8, 56, 56]]))  # loads the predictor

    def process(self, frame: Frame) -> None:
        p = self.params
        found = frame_faces(frame)
        boxes, _ = faces_for(frame, p.min_size, p.confidence)
        points = predict_landmarks(frame.image, boxes, 68)
        poses = [head_pose(pts, frame.shape) for pts in points] if p.pose else []
        landmarks = [np.round(pts, 1).tolist() for pts in points]
        pose_dicts = [{"yaw": round(y, 1), "pitch": round(pi, 1), "roll": round(r, 1)} for y, pi, r, _, _ in poses]
        if found is not None:
            index, _ = found
            _set_column(frame.detections, "landmarks", index, landmarks)
            if p.pose:
                _set_column(frame.detections, "head_pose", index, pose_dicts)
        else:
            columns = {"landmarks": landmarks, **({"head_pose": pose_dicts} if p.pose else {})}
            frame.add(Detections.from_boxes(boxes, "face", source=self.id, **columns))
        frame.values["landmarks_count"] = len(points)
        if poses:
            yaw, pitch, roll, _, _ = poses[0]  # the largest face: MTCNN's faces come largest first
            frame.values.update(head_yaw=round(yaw, 1), head_pitch=round(pitch, 1), head_roll=round(roll, 1))
        frame.extras[self.id] = (points, [(rv, tv) for _, _, _, rv, tv in poses])

    def draw(self, canvas: np.ndarray, frame: Frame) -> None:
        points, poses = frame.extras.get(self.id, (np.zeros((0, 68, 2)), []))
        style = self.params.style
        radius = max(1, round(min(canvas.shape[:2]) / 400))
        for pts in points:
            ipts = np.round(pts).astype(np.int32)
            if style in ("contours", "both"):
                for idx, closed in CONTOURS.values():
                    cv2.polylines(canvas, [ipts[list(idx)].reshape(-1, 1, 2)], closed, (255, 255, 0), 1, cv2.LINE_AA)
            if style in ("points", "both"):
                for x, y in ipts:
                    cv2.circle(canvas, (int(x), int(y)), radius, (0, 255, 255), -1, cv2.LINE_AA)
        if self.params.axes:
            h, w = canvas.shape[:2]
            camera = np.array([[w, 0, w / 2], [0, w, h / 2], [0, 0, 1]], np.float64)
            axes = np.float64([[0, 0, 0], [40, 0, 0], [0, 40, 0], [0, 0, -40]])
            for rvec, tvec in poses:
                ends, _ = cv2.projectPoints(axes, rvec, tvec, camera, None)
                o, *tips = [tuple(int(v) for v in e.ravel()) for e in ends]
                for tip, color in zip(tips, [(0, 0, 255), (0, 255, 0), (255, 0, 0)]):
                    cv2.arrowedLine(canvas, o, tip, color, 2, cv2.LINE_AA, tipLength=0.2)


def _set_column(det: Detections, key: str, index: np.ndarray, values: list) -> None:
    """Fills a per-object column for some rows (other rows keep None)."""
    col = det.data.get(key)
    if col is None:
        col = np.full(len(det), None, object)
    for i, v in zip(index, values):
        col[i] = v
    det.data[key] = col
