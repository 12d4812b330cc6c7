"""Fixtures for the detection family: a real YOLO11n trained on shapes (cached), YAML-built models, clips.

The trained model is built once per generator version and kept in
``<repo>/.test-cache/detection`` (git-ignored), so only the first run of the
suite pays the few minutes of training; nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.media import write_clip
from vision_desk.benchmarks.shapes import Mover, moving_clip

CACHE = Path(__file__).resolve().parents[3] / ".test-cache" / "detection"
SIZE = (640, 360)
#: The network input for the shapes model: it was trained at 128 on 640x360 scenes.
IMGSZ = 128


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The first test that needs the trained model trains it (3-6 minutes on two busy cores): allow for it."""
    for item in items:
        if "shapes_model" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.timeout(1800))


@pytest.fixture(scope="session")
def shapes_model() -> Path:
    """YOLO11n trained from scratch on circles, squares and triangles pasted on scikit-image photos."""
    from vision_desk.benchmarks.shapes import prune_cache, train_shapes_model

    model = train_shapes_model(CACHE)
    prune_cache(CACHE, model)
    return model


@pytest.fixture(scope="session")
def yaml_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Untrained models of every task, built from Ultralytics' YAML configs and saved as .pt files."""
    from vision_desk.stages.detection.model_cache import ultralytics_offline

    import torch

    YOLO = ultralytics_offline()  # noqa: N806
    folder = tmp_path_factory.mktemp("yaml-models")
    out = {}
    for task, cfg in {"segment": "yolo11n-seg.yaml", "pose": "yolo11n-pose.yaml", "classify": "yolo11n-cls.yaml",
                      "obb": "yolo11n-obb.yaml"}.items():
        path = folder / cfg.replace(".yaml", ".pt")
        # Seeded: untrained weights give arbitrary boxes, and Ultralytics drops segments whose mask is empty.
        torch.manual_seed(1)
        YOLO(cfg).save(str(path))
        out[task] = path
    return out


def stage_spec(model: Path, **detect: object) -> dict:
    return {"stage": "detect", "params": {"model": str(model), "imgsz": IMGSZ, **detect}}


# -- scripted scenes with ground truth ------------------------------------------------------------

def crossing_movers() -> list[Mover]:
    """Two circles on crossing paths (each passes the crossing point at another time) that pass each other
    touching, plus a square and a triangle that pass them, over 48 frames; no two shapes overlap."""
    return [
        Mover("circle", 60, 40, 10.0, 4.0, 38, 1),
        Mover("circle", 680, 115, -10.0, 4.0, 36, 2),  # enters from the right
        Mover("square", 600, 40, -8.0, 0.0, 30, 3),
        Mover("triangle", 150, 320, 8.0, 0.0, 32, 4),
    ]


def min_gap(movers: list[Mover], n: int) -> float:
    """The smallest distance between two movers' outlines (centre distance minus both radii) over n frames."""
    gap = np.inf
    for t in range(n):
        shapes = [m.at(t) for m in movers]
        for i, a in enumerate(shapes):
            for b in shapes[i + 1:]:
                gap = min(gap, float(np.hypot(a.cx - b.cx, a.cy - b.cy)) - a.r - b.r)
    return gap


#: The counting line: vertical, drawn top to bottom, so moving right is "in" and moving left is "out".
LINE = (320, 10, 320, 350)


def counting_movers() -> list[Mover]:
    """Known crossings of LINE over 90 frames. Four rows 90 px apart, one direction per row, so nothing
    occludes: circles in x2 (rows 1, 3) and out x1 (row 2), triangles out x2 (row 2), a square in and, after
    turning back, out (row 4), and a square that stays left of the line."""
    return [
        Mover("circle", 150, 50, 8.0, 0.0, 30, 1),
        Mover("triangle", 560, 140, -8.0, 0.0, 32, 2),
        Mover("circle", 800, 140, -8.0, 0.0, 30, 3),
        Mover("triangle", 1040, 140, -10.0, 0.0, 30, 4),
        Mover("circle", 60, 230, 9.0, 0.0, 32, 5),
        Mover("square", 160, 320, 7.0, 0.0, 28, 6, turn=45),
        Mover("square", 60, 320, 0.0, 0.0, 30, 7),
    ]


COUNT_EXPECTED = {"in": {"circle": 2, "square": 1}, "out": {"circle": 1, "square": 1, "triangle": 2}}

#: A zone on the right; movers cross its left edge fast, so their centres are never near an edge.
ZONE = [(400, 90), (630, 90), (630, 350), (400, 350)]


def zone_movers() -> list[Mover]:
    """Rows of large movers crossing the zone's left edge (x = 400) at 14-16 px per frame, mid-way between
    frames and one at a time, so every centre stays 7 px or more from the zone's edges in all 20 frames (a
    box's centre is found within a few pixels; slower or smaller movers would need ByteTrack to match less)."""
    return [
        Mover("circle", 337, 130, 14.0, 0.0, 42, 1),  # enters at frame 4-5
        Mover("square", 542.5, 215, -15.0, 0.0, 40, 2),  # starts inside, leaves at frame 9-10
        Mover("triangle", 152, 300, 16.0, 0.0, 42, 3),  # enters at frame 15-16
        Mover("circle", 520, 40, -6.0, 0.0, 28, 4),  # above the zone all along
    ]


def zone_truth(shapes_per_frame: list, polygon: list[tuple[int, int]]) -> tuple[list[dict[str, int]], float]:
    """Per frame, how many shapes of each class have their centre inside polygon, and the smallest distance of
    any centre from the polygon's edge (the room a detector's box error has)."""
    import cv2

    contour = np.asarray(polygon, np.float32).reshape(-1, 1, 2)
    counts, margin = [], np.inf
    for shapes in shapes_per_frame:
        frame: dict[str, int] = {}
        for s in shapes:
            d = cv2.pointPolygonTest(contour, (float(s.cx), float(s.cy)), True)
            margin = min(margin, abs(d))
            if d > 0:
                frame[s.label] = frame.get(s.label, 0) + 1
        counts.append(frame)
    return counts, float(margin)


@pytest.fixture(scope="session")
def crossing_clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    frames, truth = moving_clip(crossing_movers(), 48, SIZE, bg="gravel", seed=3)
    return write_clip(tmp_path_factory.mktemp("crossing") / "crossing.mp4", frames), truth


@pytest.fixture(scope="session")
def zone_clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    frames, truth = moving_clip(zone_movers(), 20, SIZE, bg="gravel", seed=7)
    return write_clip(tmp_path_factory.mktemp("zone") / "zone.mp4", frames), truth


@pytest.fixture(scope="session")
def counting_clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    frames, truth = moving_clip(counting_movers(), 90, SIZE, bg="moon", seed=5)
    return write_clip(tmp_path_factory.mktemp("counting") / "counting.mp4", frames), truth


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of (N, 4) and (M, 4) xyxy boxes."""
    a, b = np.asarray(a, float).reshape(-1, 4), np.asarray(b, float).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
    return inter / (area(a)[:, None] + area(b)[None, :] - inter + 1e-9)
