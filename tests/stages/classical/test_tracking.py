"""Tracking: mean-shift, CAMShift and the colour tracker follow a red disc moving over a real photo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.media import moving_object_frames, skimage_bgr
from tests.stages.classical.stage_runs import entry_tests, run_clip, run_frames
from vision_desk.errors import VisionDeskError
from vision_desk.stages.classical.tracking import hsv_mask

RADIUS = 30
START_BOX = [30, 150, 60, 60]  # the disc's box in the first frame (centre 60, 180)


@pytest.fixture(scope="module")
def disc_frames() -> tuple[list[np.ndarray], list[tuple[int, int]]]:
    """60 frames of a red disc crossing the rocket photo, whose colours have almost no red (0.15% of pixels)."""
    return moving_object_frames(60, speed=6, start=60, background=skimage_bgr("rocket"))


STAGES = [
    ("meanshift", {"region": START_BOX}),
    ("camshift", {"region": START_BOX}),
    ("color_track", {}),
]


@pytest.mark.parametrize(("stage", "params"), STAGES)
def test_tracker_follows_the_moving_disc(disc_frames, stage: str, params: dict) -> None:  # noqa: ANN001
    images, centres = disc_frames
    frames = run_frames([{"stage": stage, "params": params}], images)
    for f, (cx, cy) in zip(frames, centres):
        assert f.values[f"{stage}_found"], f.index
        assert f.values[f"{stage}_x"] == pytest.approx(cx, abs=8)
        assert f.values[f"{stage}_y"] == pytest.approx(cy, abs=8)
        det = f.detections.where(source=stage)
        assert len(det) == 1 and det.track_id[0] == 1
        x1, y1, x2, y2 = det.xyxy[0]
        assert x1 <= cx <= x2 and y1 <= cy <= y2
        assert 1.5 * RADIUS <= x2 - x1 <= 4.5 * RADIUS  # about the disc's size (CAMShift's moment-based box runs large)


def test_camshift_reports_its_rotated_box(disc_frames) -> None:  # noqa: ANN001
    frames = run_frames([{"stage": "camshift", "params": {"region": START_BOX}}], disc_frames[0][:5])
    det = frames[-1].detections.where(source="camshift")
    polygon = np.asarray(det.data["polygon"][0])
    assert polygon.shape == (4, 2)
    cx, cy = disc_frames[1][4]
    assert np.allclose(polygon.mean(axis=0), (cx, cy), atol=8)
    assert "camshift_angle" in frames[-1].values


def test_color_track_draws_a_trail_of_centroids(disc_frames) -> None:  # noqa: ANN001
    images, centres = disc_frames
    frames = run_frames([{"stage": "color_track", "params": {"trail": 10}}], images[:15])
    trail = frames[-1].extras["color_track"]
    assert len(trail) == 10
    np.testing.assert_allclose(trail, centres[5:15], atol=1.0)
    # The overlay has the trail's yellow pixels along the disc's path behind it.
    assert (frames[-1].annotated[180, centres[8][0]] != images[14][180, centres[8][0]]).any()


@pytest.mark.parametrize(("stage", "params"), STAGES)
def test_trackers_lose_the_disc_when_it_leaves(stage: str, params: dict) -> None:
    images, centres = moving_object_frames(40, speed=10, start=500, background=skimage_bgr("rocket"))
    region = {"region": [470, 150, 60, 60]} if "region" in params else {}
    frames = run_frames([{"stage": stage, "params": region}], images)
    gone = [f for f, (cx, _) in zip(frames, centres) if cx >= 640 + RADIUS]
    assert gone and not any(f.values[f"{stage}_found"] for f in gone)
    assert frames[0].values[f"{stage}_found"]


def test_region_trackers_wait_for_a_region(disc_frames) -> None:  # noqa: ANN001
    frame = run_frames([{"stage": "meanshift"}], disc_frames[0][:1])[0]
    assert frame.values["meanshift_found"] is False and frame.detections.empty


def test_region_outside_the_frame_is_a_clear_error(disc_frames) -> None:  # noqa: ANN001
    with pytest.raises(VisionDeskError, match="outside the 640x360 frame"):
        run_frames([{"stage": "camshift", "params": {"region": [900, 500, 50, 50]}}], disc_frames[0][:1])


def test_a_grey_region_is_a_clear_error() -> None:
    with pytest.raises(VisionDeskError, match="no coloured pixels"):
        run_frames([{"stage": "meanshift", "params": {"region": [100, 100, 80, 80]}}], [skimage_bgr("camera")])


@pytest.mark.parametrize(("low", "high", "expected"), [(170, 10, 0), (50, 70, 60), (110, 130, 120)])
def test_hsv_mask_picks_the_hue_range(low: int, high: int, expected: int) -> None:
    """A hue wheel: the mask keeps exactly the hues in range, wrapping through 0 for reds."""
    import cv2

    hues = np.arange(180, dtype=np.uint8).reshape(1, -1).repeat(4, axis=0)
    wheel = cv2.cvtColor(np.dstack([hues, np.full_like(hues, 255), np.full_like(hues, 255)]), cv2.COLOR_HSV2BGR)
    kept = np.nonzero(hsv_mask(wheel, low, high, 100, 60)[0])[0]
    assert expected in kept
    assert len(kept) == (high - low + 1 if low <= high else 180 - low + high + 1)


# -- pipeline files and a real 720p clip ---------------------------------------------------------

VALID = [
    ("meanshift", {"region": [380, 490, 100, 100], "bins": 16, "iterations": 20}),
    ("camshift", {"region": [380, 490, 100, 100], "min_saturation": 30, "min_value": 20, "lost_below": 0.2}),
    ("color_track", {"hue_low": 100, "hue_high": 130, "sat_min": 50, "min_area": 50, "trail": 60}),
]
INVALID = [
    ("meanshift", {"region": [1, 2, 3]}, "region"),
    ("camshift", {"bins": 1}, "bins"),
    ("color_track", {"hue_high": 200}, "hue_high"),
    ("color_track", {"colour": "red"}, "colour"),
]


test_valid_pipeline_entries, test_invalid_pipeline_entries = entry_tests(VALID, INVALID)


def test_tracking_stages_over_a_720p_clip(clip_720p: Path) -> None:
    """The blue mission patch on the astronaut's suit, boxed in frame 0, is followed as the clip pans 2 px left a frame."""
    frames = run_clip(clip_720p, [{"stage": s, "params": p} for s, p in VALID], max_frames=8)
    for f in frames:
        assert {"meanshift_found", "camshift_found", "color_track_found"} <= set(f.values)
        assert f.values["meanshift_found"] and f.values["camshift_found"]
    # Mean-shift settles on the patch in frame 1, then moves with it.
    assert frames[7].values["meanshift_x"] - frames[1].values["meanshift_x"] == pytest.approx(-12, abs=2)
