"""Async lanes: a slow analysing stage beside a live video leaves every frame flowing, with its results
carried onto each frame, moved with the object, and named by the frame they were found on.

The stage under test finds a real photo's patch (the cat from scikit-image) on a real background by
template matching, after a delay the test sets: the slow model of any heavy stage (OCR, faces on a CPU).
The clip is played as a live 30 fps source (paced at its frame rate, newest frame only).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.media import skimage_bgr, write_clip
from vision_desk.engine.frame import Frame
from vision_desk.engine.params import param
from vision_desk.engine.pipeline import Pipeline, spec_from_dict
from vision_desk.engine.results import Detections, box_iou
from vision_desk.engine.runner import Engine
from vision_desk.engine.stage import AnalysisParams, Stage

SIZE = (640, 360)
PATCH = 72
#: Pixels per frame the patch moves: 6 px at 30 fps is a walker crossing a 640 px view in 3.5 s.
SPEED = 6
FRAMES = 90


def patch_image() -> np.ndarray:
    return cv2.resize(skimage_bgr("chelsea")[40:260, 100:320], (PATCH, PATCH), interpolation=cv2.INTER_AREA)


def patch_box(index: int) -> np.ndarray:
    x = 20 + SPEED * index
    return np.float32([x, 140, x + PATCH, 140 + PATCH])


@pytest.fixture(scope="module")
def patch_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The cat's patch moving right over the coffee photo, 90 frames at 30 fps."""
    bg = cv2.resize(skimage_bgr("coffee"), SIZE)
    patch = patch_image()
    frames = []
    for i in range(FRAMES):
        img = bg.copy()
        x1, y1, x2, y2 = patch_box(i).astype(int)
        img[y1:y2, x1:x2] = patch
        frames.append(img)
    return write_clip(tmp_path_factory.mktemp("lanes") / "patch.mp4", frames)


class SlowFindParams(AnalysisParams):
    delay_ms: int = param(500, ge=0, le=5000, help="How long each analysis takes beyond the matching itself.")


class SlowFindStage(Stage):
    """Finds the cat patch by template matching, slowly; logs which frames it analysed and what it found."""

    id = "test_slow_find"
    title = "Slow patch finder (tests)"
    category = "Tests"
    Params = SlowFindParams
    values = {"test_slow_find_count": "Patches found."}
    found: dict[int, np.ndarray] = {}  # frame index -> box found on it, filled on the lane's thread

    def setup(self) -> None:
        self._patch = patch_image()

    def process(self, frame: Frame) -> None:
        time.sleep(self.params.delay_ms / 1000)
        scores = cv2.matchTemplate(frame.image, self._patch, cv2.TM_CCOEFF_NORMED)
        _, best, _, (x, y) = cv2.minMaxLoc(scores)
        boxes = [[x, y, x + PATCH, y + PATCH]] if best > 0.8 else []
        SlowFindStage.found[frame.index] = np.float32(boxes[0]) if boxes else None
        frame.add(Detections.from_boxes(boxes, "cat", source=self.id))
        frame.values["test_slow_find_count"] = len(boxes)


def play_live(clip: Path, stage_params: dict, *, record: bool = True) -> tuple[list[Frame], Engine]:
    """Plays the clip as a live 30 fps source through the slow finder; returns the output frames."""
    SlowFindStage.found = {}
    out: list[Frame] = []
    pipeline = Pipeline(spec_from_dict({"stages": [{"stage": "test_slow_find", "params": stage_params}]}))
    engine = Engine(str(clip), pipeline, live=True, realtime=True, annotate=False,
                    on_frame=out.append if record else None)
    engine.run()
    return out, engine


def test_a_500_ms_stage_run_async_leaves_the_video_at_the_source_rate(patch_clip: Path) -> None:
    frames, engine = play_live(patch_clip, {"delay_ms": 500, "run": "async"})
    stats = engine.stats()
    assert stats.frames_out >= 0.85 * stats.frames_in, f"{stats.frames_out} of {stats.frames_in} frames came out"
    # the same stage run in order holds every frame for half a second: the lane is what keeps the video moving
    frames_sync, engine_sync = play_live(patch_clip, {"delay_ms": 500, "run": "sync"})
    sync = engine_sync.stats()
    assert sync.frames_out <= 0.3 * sync.frames_in, f"sync: {sync.frames_out} of {sync.frames_in} frames came out"


def test_async_output_frames_are_the_newest_ones(patch_clip: Path) -> None:
    """When each frame comes out, the reader has delivered at most a few newer ones (no backlog grows)."""
    lags: list[int] = []
    SlowFindStage.found = {}
    pipeline = Pipeline(spec_from_dict({"stages": [{"stage": "test_slow_find", "params": {"delay_ms": 500, "run": "async"}}]}))
    engine = Engine(str(patch_clip), pipeline, live=True, realtime=True, annotate=False,
                    on_frame=lambda f: lags.append(engine._stats.frames_in - 1 - f.index))
    engine.run()
    assert len(lags) >= 0.85 * FRAMES
    lags_arr = np.array(lags)
    # a loaded machine may hold the loop a moment; a growing backlog would show in many frames, not a few
    assert (lags_arr <= 3).mean() >= 0.95, f"lag in frames behind the reader: {np.bincount(np.clip(lags_arr, 0, 20))}"


def test_carried_boxes_follow_the_moving_object_and_name_their_frame(patch_clip: Path) -> None:
    frames, _ = play_live(patch_clip, {"delay_ms": 150, "run": "async"})
    found = SlowFindStage.found
    assert len(found) >= 5, f"the lane analysed only {len(found)} frames"
    between = 0
    for frame in frames:
        origin = frame.origin("test_slow_find")
        if origin is None:  # before the first result arrived
            continue
        # results name the frame they were found on: one the stage analysed, not newer than this one
        assert origin.frame_index in found and origin.frame_index <= frame.index
        assert origin.age_ms(frame) >= 0
        rows = frame.detections[frame.detections.source == "test_slow_find"]
        if found[origin.frame_index] is None:
            continue
        assert len(rows) == 1 and frame.values["test_slow_find_count"] == 1
        iou = float(box_iou(rows.xyxy, patch_box(frame.index)[None])[0, 0])
        assert iou >= 0.7, (f"frame {frame.index}: the box carried from frame {origin.frame_index} lies at "
                            f"{rows.xyxy[0].round()} where the patch is at {patch_box(frame.index)} (IoU {iou:.2f})")
        if origin.frame_index != frame.index:
            between += 1
    assert between >= 0.5 * len(frames), "too few frames between analyses were checked"
    # unmoved, the box of frame k would sit 6 px x (frames since k) behind: the flow is what keeps it on
    stale = [float(box_iou(patch_box(f.origin("test_slow_find").frame_index)[None], patch_box(f.index)[None])[0, 0])
             for f in frames if f.origin("test_slow_find") is not None]
    assert min(stale) < 0.7


def test_a_lossless_run_is_sync_in_auto_and_has_every_result() -> None:
    frames = [np.zeros((SIZE[1], SIZE[0], 3), np.uint8) for _ in range(3)]
    pipeline = Pipeline(spec_from_dict({"stages": [{"stage": "test_slow_find", "params": {"delay_ms": 0}}]}))
    assert not pipeline.live and not pipeline.runs_async(pipeline._slots[0])
    pipeline.setup()
    SlowFindStage.found = {}
    for i, img in enumerate(frames):
        pipeline.process(Frame(img, i, i / 30))
    assert sorted(SlowFindStage.found) == [0, 1, 2]  # every frame analysed, in order
    live = Pipeline(spec_from_dict({"stages": [{"stage": "test_slow_find", "params": {"delay_ms": 0}}]}), live=True)
    assert live.runs_async(live._slots[0])
    live.close()


def test_a_stage_loading_in_a_live_run_never_holds_the_frames(patch_clip: Path) -> None:
    """The first frames come out while a stage still loads (its row says so), then its results follow."""
    release = threading.Event()

    class SlowLoadStage(SlowFindStage):
        id = "test_slow_load"

        def setup(self) -> None:
            release.wait(30)
            super().setup()

    out: list[Frame] = []
    pipeline = Pipeline(spec_from_dict({"stages": [{"stage": "test_slow_load", "params": {"delay_ms": 0}}]}))
    engine = Engine(str(patch_clip), pipeline, live=True, realtime=True, annotate=False, on_frame=out.append).start()
    try:
        deadline = time.monotonic() + 30
        while len(out) < 10 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(out) >= 10 and all(f.origin("test_slow_load") is None for f in out[:10])
        assert engine.stats().stages[0]["state"] == "loading"
        release.set()
        while not any(f.origin("test_slow_load") for f in out[-5:]) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert engine.stats().stages[0]["state"] == "ready"
        row = engine.stats().stages[0]
        assert row["run"] == "async"
    finally:
        release.set()
        engine.stop()
        engine.join(30)


def test_motion_gating_skips_the_analysis_of_a_still_view(patch_clip: Path, tmp_path: Path) -> None:
    """On a still view, a gated lane analyses once and its result stays (ageing); on the moving patch it
    analyses on as before."""
    still = write_clip(tmp_path / "still.mp4", [cv2.resize(skimage_bgr("coffee"), SIZE)] * 120)
    frames, _ = play_live(still, {"delay_ms": 0, "run": "async", "motion_gate": True})
    assert len(SlowFindStage.found) <= 2, f"analysed {sorted(SlowFindStage.found)} of a still view"
    ages = [f.origin("test_slow_find").age_ms(f) for f in frames if f.origin("test_slow_find")]
    assert len(ages) >= 30 and ages[-1] > ages[0]  # the one result rides on every frame, older each time
    ungated, _ = play_live(still, {"delay_ms": 0, "run": "async"})
    # without the gate the lane analyses the still view again and again (many times a second on a quiet
    # machine; a lane runs below the loop's priority, so a loaded one leaves it fewer)
    assert len(SlowFindStage.found) >= 6
    play_live(patch_clip, {"delay_ms": 0, "run": "async", "motion_gate": True})
    assert len(SlowFindStage.found) >= 6  # the moving patch passes the gate
