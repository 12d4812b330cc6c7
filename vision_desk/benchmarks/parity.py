"""Vision Desk's ``detect`` -> ``track`` -> ``count`` against Ultralytics' own ``track()`` loop, on one model and clip.

Both sides get the same model file, clip, confidence and tracker. Ultralytics
runs as its users write it: ``YOLO(model).track(source=clip, stream=True,
conf=..., tracker="bytetrack.yaml")``, every other setting its default (the
checkpoint's own imgsz among them). Vision Desk runs as a user's batch does:
``run_batch`` over the clip with the pipeline's defaults, and its JSONL export
is read back. Three numbers say whether the two agree:

* :func:`box_agreement`: the share of boxes paired one to one (per frame, by
  IoU) at IoU >= 0.9, out of the larger side's count, so extra boxes on either
  side (phantom tracks) lower it as much as missing ones;
* :func:`ids_per_object`: how many distinct track ids each ground-truth object
  was given (1 is perfect; an id switch or a phantom track adds one);
* :func:`line_counts`: in/out crossings of a line per class, counted from each
  side's tracks by the same :class:`~vision_desk.stages.detection.count.LineCounter`.

The tests (``tests/stages/detection/test_parity.py``) and the detect bench use it.
"""

from __future__ import annotations

import json
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vision_desk.engine.results import box_iou

#: Boxes of one object in two runs pair up at this IoU or more (the bar the product promises across backends).
IOU_BAR = 0.9


@dataclass
class TrackRun:
    """One side's tracked objects: per frame an (N, 4) xyxy array, and per box its track id and class name."""

    boxes: list[np.ndarray]
    ids: list[np.ndarray]
    labels: list[list[str]]

    @property
    def total(self) -> int:
        return sum(len(b) for b in self.boxes)


def ultralytics_tracks(model: Path, clip: Path, conf: float, tracker: str = "bytetrack") -> TrackRun:
    """Ultralytics' own tracking loop over a clip, with its defaults for everything but conf and tracker."""
    from vision_desk.stages.detection.model_cache import ultralytics_offline

    yolo = ultralytics_offline()(str(model))
    run = TrackRun([], [], [])
    for r in yolo.track(source=str(clip), stream=True, conf=conf, tracker=f"{tracker}.yaml", device="cpu", verbose=False):
        b = r.boxes
        has_ids = b is not None and b.id is not None
        run.boxes.append(b.xyxy.numpy().reshape(-1, 4) if has_ids else np.zeros((0, 4), np.float32))
        run.ids.append(b.id.numpy().astype(int) if has_ids else np.zeros(0, int))
        run.labels.append([r.names[int(c)] for c in b.cls.tolist()] if has_ids else [])
    return run


def vision_desk_tracks(model: Path, clip: Path, conf: float, line: tuple[int, int, int, int], *,
                       tracker: str = "bytetrack", backend: str = "auto", detect: dict | None = None,
                       **track: object) -> tuple[TrackRun, dict]:
    """``detect`` -> ``track`` -> ``count`` over the clip as a batch run (defaults but for conf, tracker and
    backend; ``detect`` and ``track`` override more of their stages' parameters), read back from its JSONL export.

    Returns the tracks and the count stage's last values (``count_in_circle`` ...).
    """
    from vision_desk.engine.batch import run_batch
    from vision_desk.engine.pipeline import spec_from_dict

    spec = spec_from_dict({"name": "parity", "stages": [
        {"stage": "detect", "params": {"model": str(model), "confidence": conf, "backend": backend, **(detect or {})}},
        {"stage": "track", "params": {"tracker": tracker, **track}},
        {"stage": "count", "params": {"line": list(line), "line_anchor": "center"}},
    ]})
    with tempfile.TemporaryDirectory() as tmp:
        inputs = Path(tmp) / "in"
        inputs.mkdir()
        (inputs / clip.name).symlink_to(Path(clip).resolve())
        summary = run_batch(inputs, spec, Path(tmp) / "out", video=False)
        if summary.failed:
            raise RuntimeError(f"vision-desk batch failed on {clip.name}: {summary.failed[0].error}")
        records = [json.loads(x) for x in (Path(tmp) / "out" / f"{clip.stem}.jsonl").read_text().splitlines()]
    run = TrackRun([], [], [])
    for rec in records:
        objects = [o for o in rec["objects"] if o.get("track_id") is not None]
        run.boxes.append(np.array([o["xyxy"] for o in objects], np.float32).reshape(-1, 4))
        run.ids.append(np.array([o["track_id"] for o in objects], int))
        run.labels.append([o["label"] for o in objects])
    values = {k: v for k, v in records[-1]["values"].items() if k.startswith("count_")} if records else {}
    return run, values


def _pairs(a: np.ndarray, b: np.ndarray, bar: float) -> list[tuple[int, int]]:
    """One-to-one pairs (i, j) of boxes of a and b with IoU >= bar, chosen to maximise total IoU."""
    from scipy.optimize import linear_sum_assignment

    if not len(a) or not len(b):
        return []
    m = box_iou(a, b)
    rows, cols = linear_sum_assignment(-m)
    return [(int(i), int(j)) for i, j in zip(rows, cols) if m[i, j] >= bar]


def box_agreement(ours: TrackRun, theirs: TrackRun, bar: float = IOU_BAR) -> tuple[float, int]:
    """Share of boxes paired across the two runs at IoU >= bar, out of the larger run's box count; and that count."""
    paired = sum(len(_pairs(a, b, bar)) for a, b in zip(ours.boxes, theirs.boxes))
    total = max(ours.total, theirs.total)
    return (paired / total if total else 1.0), total


def ids_per_object(run: TrackRun, truth: list[list], bar: float = 0.5) -> dict[int, int]:
    """Per ground-truth object (its track id), how many distinct track ids the run gave it.

    Each frame's boxes are paired with the objects in view at IoU >= bar; an object never found counts 0.
    """
    seen: dict[int, set[int]] = defaultdict(set)
    for boxes, ids, shapes in zip(run.boxes, run.ids, truth):
        for s in shapes:
            seen.setdefault(s.track_id, set())
        gt = np.array([s.xyxy for s in shapes], float).reshape(-1, 4)
        for i, j in _pairs(boxes, gt, bar):
            seen[shapes[j].track_id].add(int(ids[i]))
    return {tid: len(found) for tid, found in sorted(seen.items())}


def line_counts(run: TrackRun, line: tuple[int, int, int, int]) -> dict[str, dict[str, int]]:
    """In/out crossings per class of the run's tracks over a line (box centres), as the count stage counts them."""
    from vision_desk.engine.results import Detections
    from vision_desk.stages.detection.count import LineCounter

    counter = LineCounter(line, "center", 1, False)
    for boxes, ids, labels in zip(run.boxes, run.ids, run.labels):
        counter.update(Detections.from_boxes(boxes, labels, track_id=ids))
    return {direction: dict(sorted(counter.counts[direction].items())) for direction in ("in", "out")}


def counts_from_values(values: dict) -> dict[str, dict[str, int]]:
    """The count stage's per-class values (``count_in_circle`` ...) in :func:`line_counts`' shape."""
    out: dict[str, dict[str, int]] = {"in": {}, "out": {}}
    for key, n in values.items():
        parts = key.split("_", 2)
        if len(parts) == 3 and parts[1] in out:
            out[parts[1]][parts[2]] = int(n)
    return {d: dict(sorted(v.items())) for d, v in out.items()}
