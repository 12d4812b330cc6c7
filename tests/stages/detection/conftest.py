"""Fixtures for the detection family: a real YOLO11n trained on shapes (committed), YAML-built models, clips.

The trained model is committed (``tests/fixtures/shapes-yolo11n.pt``, rebuilt by
``python -m vision_desk.benchmarks.shapes tests/fixtures/shapes-yolo11n.pt``)
rather than trained by each test run: CPU training differs between instruction
sets, and one machine's run once ended with a class unlearnt (held-out mAP50
0.667) where another's reached 0.99. Tests copy it into
``<repo>/.test-cache/detection`` (git-ignored), where its exports are built
beside it; one slow test still trains from scratch to check the trainer.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.media import write_clip
from vision_desk.benchmarks.shapes import Mover, moving_clip
from vision_desk.engine.results import box_iou

ROOT = Path(__file__).resolve().parents[3]
CACHE = ROOT / ".test-cache" / "detection"
FIXTURES = ROOT / "tests" / "fixtures"
FIXTURE = FIXTURES / "shapes-yolo11n.pt"
SIZE = (640, 360)
#: The network input for the shapes model: it was trained at 128 on 640x360 scenes.
IMGSZ = 128


def committed_model(name: str) -> Path:
    """A copy of a committed test model in a folder named by its checksum, so exports built beside it are
    rebuilt when the model changes, and the repository's copy is never written next to."""
    import hashlib
    import os
    import shutil

    from vision_desk.benchmarks.shapes import prune_cache

    fixture = FIXTURES / name
    digest = hashlib.sha256(fixture.read_bytes()).hexdigest()[:16]
    model = CACHE / f"{fixture.stem.split('-')[0]}-{digest}" / fixture.name
    if not model.is_file():
        model.parent.mkdir(parents=True, exist_ok=True)
        part = model.with_name(model.name + ".part")
        shutil.copyfile(fixture, part)
        os.replace(part, model)
    prune_cache(CACHE, model, prefix=fixture.stem.split("-")[0])
    return model


@pytest.fixture(scope="session")
def shapes_model() -> Path:
    """YOLO11n trained from scratch on circles, squares and triangles pasted on scikit-image photos, at 128."""
    return committed_model(FIXTURE.name)


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


#: How far above the confidence threshold a box must score to be required in both of two compared runs. Float32
#: runs of one network differ by about 1e-5 between code paths and instruction sets (AVX2, AVX-512, ARM); a box
#: scoring within this margin of the threshold may fall on either side of it in the other run.
SCORE_MARGIN = 0.02
#: Boxes of the same object in two float32 runs overlap at IoU 0.99999 (measured); 0.9 is the bar the product
#: promises across backends and machines, and still fails a box off by a tenth of its size.
IOU_BAR = 0.9


def unmatched(a, b, conf: float, iou_bar: float = IOU_BAR, margin: float = SCORE_MARGIN) -> list[str]:  # noqa: ANN001
    """The boxes of Detections a that b lacks, and of b that a lacks, as readable lines (empty when they agree).

    Two runs agree when every box scoring at least conf + margin in one has a box of the same class at IoU >=
    iou_bar in the other. Boxes nearer the threshold than the margin are not required on either side.
    """
    problems = []
    for name, x, y in (("first", a, b), ("second", b, a)):
        m = box_iou(x.xyxy, y.xyxy)
        for i in np.flatnonzero(x.score >= conf + margin):
            same = (y.class_id == x.class_id[i]) & (m[i] >= iou_bar) if len(y) else np.zeros(0, bool)
            if not same.any():
                best = float(m[i].max()) if len(y) else 0.0
                problems.append(f"{name} run's {x.label[i]} {np.round(x.xyxy[i], 1).tolist()} (score {x.score[i]:.3f}) "
                                f"has no match (best IoU {best:.3f})")
    return problems
