"""Long videos cut at keyframes, processed in parallel and joined: the same export as a whole-file run."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from tests.engine.test_batch import SPEC as MOTION
from tests.media import moving_object_frames, write_clip
from vision_desk.engine.batch import BatchItem, ItemStatus, plan, run_batch
from vision_desk.engine.batch_segments import SegmentedBatch, segment_starts, stateful_stages
from vision_desk.engine.pipeline import spec_from_dict

# stateless: each frame's contours depend on that frame alone
CONTOURS = spec_from_dict({"name": "contours", "stages": [{"stage": "contours", "params": {}}]})


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10 s at 30 fps with a keyframe every second (frames 0, 30, ... 270)."""
    frames, _ = moving_object_frames(300, size=(320, 180), radius=15, speed=1)
    return write_clip(tmp_path_factory.mktemp("segments") / "in" / "long.mp4", frames, gop=30)


def _times(path: Path) -> list[float]:
    with av.open(str(path)) as container:
        return [frame.time for frame in container.decode(video=0)]


@pytest.mark.parametrize(("gop", "frames", "seconds", "starts"), [
    (30, 300, 3.0, [0, 90, 180]),  # the last piece takes the remaining 120 frames
    (100, 300, 3.0, [0, 100, 200]),  # keyframes further apart than a segment: the first one after each cut
    (30, 290, 6.6, [0]),  # under 1.5 segments: not cut
    (300, 300, 3.0, [0]),  # one keyframe: nowhere to cut
    (30, 600, 5.0, [0, 150, 300, 450]),  # keyframes at or before each multiple
])
def test_cuts_fall_on_keyframes_found_by_seeking(tmp_path: Path, gop, frames, seconds, starts) -> None:
    images, _ = moving_object_frames(frames, size=(160, 90), radius=8, speed=0)
    clip = write_clip(tmp_path / "clip.mp4", images, gop=gop)
    assert segment_starts(clip, seconds) == (starts, frames)


def test_a_stateless_pipeline_gives_the_whole_file_export(long_clip: Path, tmp_path: Path) -> None:
    items = plan([long_clip], long_clip.parent, tmp_path / "cut", video=True)
    cut = SegmentedBatch(items, items, CONTOURS, 3.0, video=True, resume=False, on_progress=None, on_item_done=None)
    assert [w.span for w in cut.work] == [(0, 90), (90, 180), (180, 300)]

    whole = run_batch(long_clip.parent, CONTOURS, tmp_path / "whole", workers=1)
    seen = []
    parallel = run_batch(long_clip.parent, CONTOURS, tmp_path / "cut", workers=2, segment_seconds=3.0,
                         on_progress=seen.append)
    assert whole.items[0].status == parallel.items[0].status == ItemStatus.DONE
    assert parallel.items[0].frames == 300
    # the JSONL byte for byte: global frame numbers and times, the same objects on every frame
    assert (tmp_path / "cut" / "long.jsonl").read_bytes() == (tmp_path / "whole" / "long.jsonl").read_bytes()
    # the MP4 joined without re-encoding: every frame, at the whole file's times
    assert _times(tmp_path / "cut" / "long.mp4") == _times(tmp_path / "whole" / "long.mp4")
    assert sorted(p.name for p in (tmp_path / "cut").iterdir()) == ["long.jsonl", "long.mp4"]  # segments cleared
    assert {p.item.rel.name for p in seen} == {"long.mp4"} and {p.total_frames for p in seen} == {300}


def test_a_stateful_pipeline_is_never_cut(long_clip: Path, tmp_path: Path) -> None:
    """motion's background model would start afresh at each cut, so the file goes whole to one worker."""
    assert stateful_stages(MOTION) == ["motion"] and stateful_stages(CONTOURS) == []
    items = plan([long_clip], long_clip.parent, tmp_path / "out", video=False)
    cut = SegmentedBatch(items, items, MOTION, 3.0, video=False, resume=False, on_progress=None, on_item_done=None)
    assert [w.span for w in cut.work] == [None]
    whole = run_batch(long_clip.parent, MOTION, tmp_path / "whole", workers=1, video=False)
    parallel = run_batch(long_clip.parent, MOTION, tmp_path / "two", workers=2, segment_seconds=3.0, video=False)
    assert whole.items[0].status == parallel.items[0].status == ItemStatus.DONE
    assert (tmp_path / "two" / "long.jsonl").read_bytes() == (tmp_path / "whole" / "long.jsonl").read_bytes()
    detect_every_2 = spec_from_dict({"name": "d", "stages": [{"stage": "detect", "params": {"every": 2}}]})
    assert stateful_stages(detect_every_2) == ["detect"]
    assert stateful_stages(spec_from_dict({"name": "d", "stages": [{"stage": "detect", "params": {}}]})) == []


def test_resume_keeps_finished_segments_and_joins(long_clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    items = plan([long_clip], long_clip.parent, out, video=False)
    first = SegmentedBatch(items, items, CONTOURS, 3.0, video=False, resume=False, on_progress=None,
                           on_item_done=None)
    # a run killed after the middle segment finished: only its (renamed, complete) outputs exist
    from vision_desk.engine.batch import process_item
    from vision_desk.engine.pipeline import Pipeline

    pipeline = Pipeline(CONTOURS, stage_errors="raise")
    try:
        assert process_item(first.work[1], pipeline, video=False).status == ItemStatus.DONE
    finally:
        pipeline.close()
    middle = first.work[1].outputs[0]
    stamp = middle.stat().st_mtime_ns

    again = plan([long_clip], long_clip.parent, out, video=False)
    resumed = SegmentedBatch(again, again, CONTOURS, 3.0, video=False, resume=True, on_progress=None,
                             on_item_done=None)
    assert [w.span for w in resumed.work] == [(0, 90), (180, 300)]  # the finished one is not redone
    assert middle.stat().st_mtime_ns == stamp
    summary = run_batch(long_clip.parent, CONTOURS, out, workers=2, segment_seconds=3.0, resume=True, video=False)
    assert summary.items[0].status == ItemStatus.DONE
    whole = run_batch(long_clip.parent, CONTOURS, tmp_path / "whole", workers=1, video=False)
    assert whole.items[0].status == ItemStatus.DONE
    assert (out / "long.jsonl").read_bytes() == (tmp_path / "whole" / "long.jsonl").read_bytes()


def test_a_segment_that_fails_fails_its_file_with_the_reason(tmp_path: Path) -> None:
    """A file cut short after its keyframes were counted: the segment past the cut fails, the file says why."""
    frames, _ = moving_object_frames(300, size=(320, 180), radius=15, speed=1)
    clip = write_clip(tmp_path / "in" / "long.mp4", frames, gop=30)
    items = plan([clip], clip.parent, tmp_path / "out", video=False)
    cut = SegmentedBatch(items, items, CONTOURS, 3.0, video=False, resume=False, on_progress=None, on_item_done=None)
    finished: list[BatchItem] = []
    cut._on_item_done = finished.append
    late = cut.work[-1]
    late.span = (late.span[0], late.span[1] + 200)  # asks for frames the file does not have
    from vision_desk.engine.batch import process_item
    from vision_desk.engine.pipeline import Pipeline

    pipeline = Pipeline(CONTOURS, stage_errors="raise")
    try:
        for work in cut.work:
            process_item(work, pipeline, video=False)
            cut.done(work)
    finally:
        pipeline.close()
    assert [f.status for f in finished] == [ItemStatus.FAILED]
    assert "truncated or corrupt: decoded 120 of 320 frames from frame 180" in finished[0].error
    assert not (tmp_path / "out" / "long.jsonl").exists()
