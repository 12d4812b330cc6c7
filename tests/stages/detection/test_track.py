"""The track stage: one id per object through crossings, resets between files, determinism, MOT export."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.stages.detection.conftest import crossing_movers, min_gap, stage_spec
from vision_desk.engine.batch import run_batch
from vision_desk.engine.frame import Frame
from vision_desk.engine.pipeline import Pipeline, spec_from_dict
from vision_desk.engine.results import Detections, box_iou
from vision_desk.engine.runner import Engine
from vision_desk.engine.sinks.export import JsonlSink
from vision_desk.engine.sinks.mot import MotSink, mot_lines
from vision_desk.stages.detection.track import TrackStage


def run_clip(clip: Path, stages: list[dict], out: Path) -> list[dict]:
    Engine(str(clip), Pipeline(spec_from_dict({"stages": stages})), sinks=[JsonlSink(out)], live=False).run()
    return [json.loads(line) for line in out.read_text().splitlines()]


def ids_per_object(records: list[dict], truth: list) -> tuple[dict[int, set[int]], dict[int, int]]:
    """For each true object, the track ids of the boxes that match it (IoU >= 0.5), and in how many frames it matched."""
    ids: dict[int, set[int]] = {}
    hits: dict[int, int] = {}
    for rec, shapes in zip(records, truth):
        objs = [o for o in rec["objects"] if o["track_id"] is not None]
        if not objs or not shapes:
            continue
        m = box_iou(np.array([s.xyxy for s in shapes]), np.array([o["xyxy"] for o in objs]))
        for k, s in enumerate(shapes):
            j = int(m[k].argmax())
            if m[k, j] >= 0.5 and objs[j]["label"] == s.label:
                ids.setdefault(s.track_id, set()).add(objs[j]["track_id"])
                hits[s.track_id] = hits.get(s.track_id, 0) + 1
    return ids, hits


@pytest.mark.parametrize("tracker", ["bytetrack", "botsort"])
def test_one_id_per_object_through_crossings(shapes_model: Path, crossing_clip, tmp_path: Path, tracker: str) -> None:
    clip, truth = crossing_clip
    assert min_gap(crossing_movers(), len(truth)) < 2  # the circles pass each other touching
    records = run_clip(clip, [stage_spec(shapes_model, confidence=0.1), {"stage": "track", "params": {"tracker": tracker}}], tmp_path / "t.jsonl")
    ids, hits = ids_per_object(records, truth)
    shown = {m: sum(any(s.track_id == m for s in shapes) for shapes in truth) for m in ids}
    assert sorted(ids) == [1, 2, 3, 4]
    for obj, seen in ids.items():
        assert len(seen) == 1, f"object {obj} got ids {seen}"
        assert hits[obj] >= 0.9 * shown[obj], f"object {obj} tracked in only {hits[obj]} of its {shown[obj]} frames"
    assert len({next(iter(s)) for s in ids.values()}) == 4  # four different ids


def test_boxes_keep_moving_and_ids_stay_when_detect_runs_every_third_frame(shapes_model: Path, crossing_clip, tmp_path: Path) -> None:
    clip, truth = crossing_clip
    records = run_clip(clip, [stage_spec(shapes_model, confidence=0.1, every=3), {"stage": "track"}], tmp_path / "e.jsonl")
    ids, hits = ids_per_object(records, truth)
    assert all(len(s) == 1 for s in ids.values()) and len(ids) == 4
    # On frames without a fresh detection the boxes are the tracker's predictions, not copies of old boxes.
    moved = [rec for i, rec in enumerate(records) if i % 3 and rec["objects"]]
    assert moved
    for i, rec in enumerate(records):
        if i < 6 or i % 3 == 0 or not rec["objects"]:
            continue  # (the first frames: a new track's Kalman filter knows no velocity yet)
        fresh = records[i - i % 3]["objects"]
        assert [o["xyxy"] for o in rec["objects"]] != [o["xyxy"] for o in fresh if o["track_id"] is not None]
    shown = {m: sum(any(s.track_id == m for s in shapes) for shapes in truth) for m in ids}
    assert all(hits[m] >= 0.8 * shown[m] for m in ids)


def test_batch_resets_trackers_and_two_runs_give_the_same_export(shapes_model: Path, crossing_clip, tmp_path: Path) -> None:
    clip, _ = crossing_clip
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(clip, inputs / "a.mp4")
    shutil.copy(clip, inputs / "b.mp4")
    spec = spec_from_dict({"stages": [
        stage_spec(shapes_model, confidence=0.1), {"stage": "track", "params": {"mot_path": str(tmp_path / "mot" / "{source}.txt")}},
        {"stage": "count", "params": {"line": [320, 0, 320, 360]}},
    ]})
    outs = []
    for run in ("run1", "run2"):
        summary = run_batch(inputs, spec, tmp_path / run, video=False)
        assert summary.count("done") == 2
        outs.append(tmp_path / run)
    a1, b1 = (outs[0] / "a.jsonl").read_text(), (outs[0] / "b.jsonl").read_text()
    assert a1 == b1, "the second file starts from fresh trackers and counters"
    assert a1 == (outs[1] / "a.jsonl").read_text(), "the same pipeline on the same file gives the same export"
    first_ids = [o["track_id"] for o in json.loads(b1.splitlines()[1])["objects"]]
    assert min(first_ids) == 1
    mot_a, mot_b = (tmp_path / "mot" / "a.txt").read_text(), (tmp_path / "mot" / "b.txt").read_text()
    assert mot_a == mot_b and mot_a
    rows = [line.split(",") for line in mot_a.splitlines()]
    records = [json.loads(line) for line in a1.splitlines()]
    tracked = sum(1 for r in records for o in r["objects"] if o["track_id"] is not None)
    assert len(rows) == tracked and all(len(r) == 10 and r[7:] == ["-1", "-1", "-1"] for r in rows)
    assert int(rows[0][0]) == 1 + next(r["frame"] for r in records if any(o["track_id"] for o in r["objects"]))


def _frame(i: int, label: str, x: float) -> Frame:
    frame = Frame(np.zeros((120, 200, 3), np.uint8), i, i / 30, source_id="synthetic")
    frame.add(Detections.from_boxes([[x, 40, x + 30, 70]], label, [0.9], class_id=[["circle", "square"].index(label)], source="detect"))
    return frame


@pytest.mark.parametrize("smoothing, expected", [(15, "circle"), (0, "square")])
def test_class_smoothing_keeps_a_track_on_its_usual_class(smoothing: int, expected: str) -> None:
    stage = TrackStage(TrackStage.Params(class_smoothing=smoothing))
    stage.setup()
    labels = ["circle"] * 6 + ["square"] + ["circle"] * 3
    frames = [_frame(i, lab, 10 + 6 * i) for i, lab in enumerate(labels)]
    for f in frames:
        stage.process(f)
    assert frames[6].detections.label.tolist() == [expected]
    assert set(frames[9].detections.track_id.tolist()) == {1}


def test_reset_restarts_ids_and_trails() -> None:
    stage = TrackStage(TrackStage.Params(trail=10))
    stage.setup()
    frames = [_frame(i, "circle", 10 + 6 * i) for i in range(5)]
    for f in frames:
        stage.process(f)
    trails = frames[-1].extras["track"]["trails"]
    assert list(trails) == [1] and len(trails[1]) == 5
    canvas = frames[-1].image.copy()
    stage.draw(canvas, frames[-1])
    assert canvas[:, :, :].any(), "the trail is drawn"
    stage.reset()
    again = [_frame(i, "circle", 150 - 6 * i) for i in range(3)]
    for f in again:
        stage.process(f)
    assert again[-1].detections.track_id.tolist() == [1] and len(again[-1].extras["track"]["trails"][1]) == 3


def test_mot_rows_are_one_based_and_skip_untracked(tmp_path: Path) -> None:
    frame = Frame(np.zeros((10, 10, 3), np.uint8), 4, 0.1)
    frame.add(Detections.from_boxes([[1, 2, 11, 22], [0, 0, 5, 5]], "car", [0.5, 0.4], track_id=[7, -1]))
    assert mot_lines(frame) == ["5,7,1.00,2.00,10.00,20.00,0.5000,-1,-1,-1"]
    sink = MotSink(tmp_path / "x.txt", atomic=True)
    sink.write(frame)
    assert not (tmp_path / "x.txt").exists()
    sink.close()
    assert (tmp_path / "x.txt").read_text() == mot_lines(frame)[0] + "\n"


def test_tracker_boxes_are_the_kalman_estimates() -> None:
    raw = TrackStage(TrackStage.Params(boxes="detector"))
    smooth = TrackStage(TrackStage.Params(boxes="tracker"))
    raw.setup()
    smooth.setup()
    jitter = [0, 4, -3, 5, -4, 3, 0, 4]
    for i, dy in enumerate(jitter):
        a, b = _frame(i, "circle", 10 + 6 * i), _frame(i, "circle", 10 + 6 * i)
        for f in (a, b):
            f.detections.xyxy[:, [1, 3]] += dy
        raw.process(a)
        smooth.process(b)
    assert np.array_equal(a.detections.xyxy, _frame(7, "circle", 52).detections.xyxy + [0, 4, 0, 4])
    assert not np.array_equal(b.detections.xyxy, a.detections.xyxy)
    assert abs(b.detections.xyxy[0, 1] - 40) < abs(a.detections.xyxy[0, 1] - 40)  # pulled towards the steady path


def _scene(i: int, extra: list[list[float]]) -> Frame:
    """A circle moving right at 6 px per frame, plus the given extra square boxes (score 0.9) in this frame."""
    frame = Frame(np.zeros((240, 320, 3), np.uint8), i, i / 30, source_id="synthetic.mp4")
    boxes = [[10 + 6 * i, 40, 40 + 6 * i, 70], *extra]
    frame.add(Detections.from_boxes(boxes, ["circle"] + ["square"] * len(extra), [0.9] * len(boxes),
                                    class_id=[0] + [1] * len(extra), source="detect"))
    return frame


#: A box seen in frame 8 only (a duplicate a detector may throw up once), and one seen in frames 12 and 13.
ONCE = {8: [[200, 150, 230, 180]]}
TWICE = {12: [[100, 150, 130, 180]], 13: [[102, 150, 132, 180]]}


def test_a_detection_seen_once_never_becomes_a_track(tmp_path: Path) -> None:
    from ultralytics.engine.results import Boxes

    from vision_desk.stages.detection.tracker import make_tracker

    mot = tmp_path / "tracks.txt"
    stage = TrackStage(TrackStage.Params(mot_path=str(mot)))
    stage.setup()
    frames = [_scene(i, {**ONCE, **TWICE}.get(i, [])) for i in range(20)]
    for f in frames:
        stage.process(f)
    stage.close()
    assert len(frames[8].detections) == 1 and frames[8].detections.track_id.tolist() == [1]  # the one-off is gone
    assert frames[8].values["track_count"] == 1
    # Seen twice, it is confirmed on its second frame (Ultralytics' activation rule), not its first.
    assert len(frames[12].detections) == 1 and sorted(frames[13].detections.track_id.tolist())[0] == 1
    second = frames[13].detections.track_id.tolist()
    assert len(second) == 2 and len(set(second)) == 2
    assert {int(line.split(",")[1]) for line in mot.read_text().splitlines()} == set(second)  # nor in the export

    # Ultralytics' own tracker, given the same detections, reports the same ids frame by frame.
    reference = make_tracker(TrackStage.Params())
    for i, f in enumerate(_scene(i, {**ONCE, **TWICE}.get(i, [])) for i in range(20)):
        det = f.detections
        data = np.column_stack([det.xyxy, det.score, det.class_id]).astype(np.float32)
        tracks = reference.update(Boxes(data, f.shape), f.image)
        assert sorted(int(t[4]) for t in tracks) == sorted(frames[i].detections.track_id.tolist()), f"frame {i}"


def test_keep_untracked_keeps_the_one_off_without_an_id() -> None:
    stage = TrackStage(TrackStage.Params(keep_untracked=True))
    stage.setup()
    frames = [_scene(i, ONCE.get(i, [])) for i in range(10)]
    for f in frames:
        stage.process(f)
    assert frames[8].detections.track_id.tolist() == [1, -1] and frames[8].values["track_count"] == 1


def test_a_class_that_flickers_never_splits_the_object() -> None:
    stage = TrackStage(TrackStage.Params(class_smoothing=15))
    stage.setup()
    labels = ["circle", "square"] * 6 + ["circle"]  # the detector cannot decide, frame after frame
    frames = [_frame(i, lab, 10 + 6 * i) for i, lab in enumerate(labels)]
    for f in frames:
        stage.process(f)
    assert {int(t) for f in frames for t in f.detections.track_id} == {1}
    assert [str(f.detections.label[0]) for f in frames[2:]] == ["circle"] * (len(frames) - 2)  # ties go to the first seen


def test_tracks_lost_for_good_are_forgotten() -> None:
    """A camera watched for days must not keep the trail and class history of every track it ever saw."""
    stage = TrackStage(TrackStage.Params(trail=10, class_smoothing=5, lost_frames=10))
    stage.setup()
    for i in range(8):  # one object crosses, then the scene is empty
        stage.process(_frame(i, "circle", 10 + 6 * i))
    assert set(stage._trails) == {1} and set(stage._history) == {1}
    for i in range(8, 8 + 10 + 64):  # past the tracker's lost buffer and the next clean-up
        empty = Frame(np.zeros((120, 200, 3), np.uint8), i, i / 30, source_id="synthetic")
        empty.add(Detections.from_boxes(np.zeros((0, 4)), [], [], source="detect"))
        stage.process(empty)
    assert stage._trails == {} and stage._history == {}
