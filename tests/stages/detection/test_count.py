"""The count stage: exact line crossings per class and direction, zone occupancy frame by frame."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.stages.detection.conftest import COUNT_EXPECTED, LINE, ZONE, stage_spec, zone_truth
from vision_desk.engine.frame import Frame
from vision_desk.engine.pipeline import Pipeline, spec_from_dict
from vision_desk.engine.results import Detections
from vision_desk.engine.runner import Engine
from vision_desk.engine.sinks.export import JsonlSink
from vision_desk.stages.detection.count import CountStage, LineCounter, ZoneCounter


def run_clip(clip: Path, stages: list[dict], out: Path, annotate: bool = False) -> list[dict]:
    Engine(str(clip), Pipeline(spec_from_dict({"stages": stages})), sinks=[JsonlSink(out)], live=False, annotate=annotate).run()
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_line_counts_every_class_and_direction_exactly(shapes_model: Path, counting_clip, tmp_path: Path) -> None:
    clip, _ = counting_clip
    records = run_clip(clip, [stage_spec(shapes_model, confidence=0.1), {"stage": "track"}, {"stage": "count", "params": {"line": list(LINE)}}], tmp_path / "c.jsonl")
    final = records[-1]["values"]
    got = {d: {k.split("_", 2)[2]: v for k, v in final.items() if k.startswith(f"count_{d}_")} for d in ("in", "out")}
    assert got == COUNT_EXPECTED
    assert final["count_in"] == 3 and final["count_out"] == 4
    events = [e for r in records for e in r.get("events", []) if e.startswith("count: #")]
    assert len(events) == 7
    # counts never go down and appear in the export as they happen
    ins = [r["values"]["count_in"] for r in records]
    assert ins == sorted(ins) and ins[0] == 0


def test_zone_occupancy_matches_ground_truth_frame_by_frame(shapes_model: Path, zone_clip, tmp_path: Path) -> None:
    clip, truth = zone_clip
    expected, margin = zone_truth(truth, ZONE)
    assert margin >= 7  # the scene keeps every centre 7 px or more from the zone's edges
    count = {"zone": [list(p) for p in ZONE], "zone_anchor": "center"}
    records = run_clip(clip, [stage_spec(shapes_model, confidence=0.1), {"stage": "track"}, {"stage": "count", "params": count}], tmp_path / "z.jsonl")
    assert len(records) == len(expected)
    for i, (rec, want) in enumerate(zip(records, expected)):
        values = rec["values"]
        got = {k.removeprefix("count_zone_"): v for k, v in values.items() if k.startswith("count_zone_") and v}
        assert got == want, f"frame {i}: {got} != {want}"
        assert values["count_zone"] == sum(want.values())
    final = records[-1]["values"]
    assert final["count_entries"] == 3
    assert {k: v for k, v in final.items() if k.startswith("count_entries_")} == {"count_entries_circle": 1, "count_entries_square": 1, "count_entries_triangle": 1}


def test_counting_overlay_is_drawn(shapes_model: Path, counting_clip, tmp_path: Path) -> None:
    from vision_desk.engine.annotate import annotate

    clip, _ = counting_clip
    pipeline = Pipeline(spec_from_dict({"stages": [{"stage": "count", "params": {"line": list(LINE), "zone": [list(p) for p in ZONE]}}]}))
    pipeline.setup()
    frame = Frame(np.full((360, 640, 3), 90, np.uint8), 0, 0.0)
    pipeline.process(frame)
    canvas = annotate(frame, pipeline)
    assert tuple(canvas[200, LINE[0]]) == (0, 0, 255)  # the red line
    assert not np.array_equal(canvas[300, 500], frame.image[300, 500])  # the tinted zone


def track(tid: int, label: str, x: float, y: float = 100, w: float = 20) -> Detections:
    return Detections.from_boxes([[x, y, x + w, y + w]], label, [0.9], track_id=[tid], class_id=[0])


def test_each_track_counts_once_per_direction_unless_recount() -> None:
    xs = [100, 180, 100, 180, 100, 180]  # crosses x=160 back and forth (box 20 wide)
    once = LineCounter((160, 0, 160, 300), anchor="box")
    every = LineCounter((160, 0, 160, 300), anchor="box", recount=True)
    for x in xs:
        once.update(track(1, "car", x))
        every.update(track(1, "car", x))
    assert once.counts["in"]["car"] == 1 and once.counts["out"]["car"] == 1
    assert every.counts["in"]["car"] == 3 and every.counts["out"]["car"] == 2


def test_a_track_missed_on_the_line_still_counts() -> None:
    counter = LineCounter((160, 0, 160, 300), anchor="box")
    counter.update(track(3, "bike", 100))
    for _ in range(5):
        counter.update(Detections())  # the detector loses it for a few frames while it crosses
    counter.update(track(3, "bike", 200))
    assert counter.counts["in"]["bike"] == 1


def test_straddling_and_beyond_the_segment_do_not_count() -> None:
    counter = LineCounter((160, 0, 160, 100), anchor="box")
    for x in [100, 155, 100]:  # the box touches the line and comes back
        counter.update(track(1, "car", x, y=40))
    for x in [100, 200]:  # crosses below the end of the segment
        counter.update(track(2, "car", x, y=150))
    assert not counter.counts["in"] and not counter.counts["out"]


def test_min_frames_ignores_a_brief_excursion() -> None:
    counter = LineCounter((160, 0, 160, 300), anchor="center", min_frames=3)
    for x in [100, 120, 170, 120, 100, 170, 175, 180, 185]:
        counter.update(track(5, "bus", x))
    assert counter.counts["in"]["bus"] == 1 and counter.counts["out"]["bus"] == 0


def test_direction_follows_the_line_orientation() -> None:
    down = LineCounter((160, 0, 160, 300), anchor="center")  # drawn top to bottom: moving right is in
    up = LineCounter((160, 300, 160, 0), anchor="center")    # drawn bottom to top: moving right is out
    for x in [100, 200]:
        down.update(track(1, "p", x))
        up.update(track(1, "p", x))
    assert down.counts["in"]["p"] == 1 and up.counts["out"]["p"] == 1


def test_zone_counts_untracked_objects_but_entries_need_tracks() -> None:
    zone = ZoneCounter([(0, 0), (100, 0), (100, 100), (0, 100)], anchor="center")
    det = Detections.from_boxes([[10, 10, 30, 30], [40, 40, 60, 60], [150, 10, 170, 30]], ["a", "b", "a"], track_id=[-1, 3, 4])
    occupancy, inside = zone.update(det)
    assert dict(occupancy) == {"a": 1, "b": 1} and inside.tolist() == [True, True, False]
    assert dict(zone.entries) == {"b": 1}


def test_line_without_tracks_says_what_is_missing() -> None:
    stage = CountStage(CountStage.Params(line=(160, 0, 160, 300)))
    stage.setup()
    frame = Frame(np.zeros((300, 300, 3), np.uint8), 0, 0.0)
    frame.add(Detections.from_boxes([[10, 10, 30, 30]], "car"))
    stage.process(frame)
    assert frame.events == ["count: line crossings need track ids; put a 'track' stage before 'count'."]
    assert frame.values["count_in"] == 0
