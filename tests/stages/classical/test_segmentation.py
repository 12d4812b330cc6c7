"""Segmentation and repair: watershed counts coins, GrabCut cuts out a disc, inpainting removes a scribble."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.media import moving_object_frames, skimage_bgr
from tests.stages.classical.stage_runs import entry_tests, run_clip, run_frames
from vision_desk.errors import VisionDeskError
from vision_desk.stages.classical.segmentation import foreground_mask

# -- watershed ------------------------------------------------------------------------------------


def test_watershed_counts_the_coins() -> None:
    """coins() holds 24 coins. Tolerance 2: the dim coin at the top right of the first row is only partly above
    any threshold (scikit-image's own tutorial loses it too), and a coin rim can split off a sliver."""
    frame = run_frames([{"stage": "watershed"}], [skimage_bgr("coins")])[0]
    assert abs(frame.values["watershed_count"] - 24) <= 2
    det = frame.detections.where(source="watershed")
    assert len(det) == frame.values["watershed_count"]
    # One region per coin: no two region centres within a coin radius (~18 px) of each other.
    centres = np.c_[(det.xyxy[:, 0] + det.xyxy[:, 2]) / 2, (det.xyxy[:, 1] + det.xyxy[:, 3]) / 2]
    gaps = np.hypot(*(centres[:, None] - centres[None]).transpose(2, 0, 1)) + np.eye(len(centres)) * 1e9
    assert gaps.min() > 18
    assert frame.extras["watershed"].any()  # boundaries for the overlay


def touching_pair() -> np.ndarray:
    """Two real coins cut from coins() and laid down overlapping by 5 pixels on a plain dark table."""
    coins = skimage_bgr("coins")
    rng = np.random.default_rng(0)
    table = np.clip(rng.normal(60, 3, (140, 200, 3)), 0, 255).astype(np.uint8)
    for (sx, sy, r), cx in [((213, 193, 23), 60), ((274, 194, 22), 60 + 23 + 22 - 5)]:
        disc = np.zeros(coins.shape[:2], np.uint8)
        cv2.circle(disc, (sx, sy), r, 255, -1)
        ys, xs = np.nonzero(disc)
        table[ys - sy + 70, xs - sx + cx] = coins[ys, xs]
    return table


def test_watershed_separates_touching_coins() -> None:
    image = touching_pair()
    fg = foreground_mask(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), "otsu")
    assert cv2.connectedComponents(fg)[0] - 1 == 1  # thresholding alone sees one blob
    frame = run_frames([{"stage": "watershed", "params": {"threshold": "otsu", "min_distance": 15}}], [image])[0]
    assert frame.values["watershed_count"] == 2
    xs = sorted(((b[0] + b[2]) / 2) for b in frame.detections.xyxy)
    assert xs == pytest.approx([60, 100], abs=6)


def test_watershed_dark_objects_on_a_light_background() -> None:
    inverted = 255 - touching_pair()
    frame = run_frames([{"stage": "watershed", "params": {"threshold": "otsu", "objects": "dark", "min_distance": 15}}], [inverted])[0]
    assert frame.values["watershed_count"] == 2


# -- GrabCut ------------------------------------------------------------------------------------------


def test_grabcut_cuts_out_the_disc() -> None:
    image = moving_object_frames(1, start=300, background=skimage_bgr("rocket"))[0][0]
    disc = np.zeros(image.shape[:2], np.uint8)
    cv2.circle(disc, (300, 180), 30, 1, -1)
    frame = run_frames([{"stage": "grabcut", "params": {"region": [250, 130, 100, 100], "downscale": 2.0, "view": "overlay"}}], [image])[0]
    mask = frame.detections.where(source="grabcut").mask[0]
    iou = (mask & disc.astype(bool)).sum() / (mask | disc.astype(bool)).sum()
    assert iou > 0.85
    assert frame.values["grabcut_fraction"] == pytest.approx(np.pi * 30**2 / 100**2, abs=0.06)
    assert (frame.image == image).all()  # overlay view leaves the frame alone


def test_grabcut_cutout_keeps_the_astronauts_head() -> None:
    photo = skimage_bgr("astronaut")
    frame = run_frames([{"stage": "grabcut", "params": {"region": [140, 20, 250, 300]}}], [photo])[0]
    assert (frame.image[125, 225] == photo[125, 225]).all()  # her nose
    assert (frame.image[40, 160] == 0).all()  # the wall inside the rectangle
    assert (frame.image[450, 450] == 0).all()  # outside the rectangle
    assert 0.1 < frame.values["grabcut_fraction"] < 0.6


def test_grabcut_region_must_leave_some_background() -> None:
    with pytest.raises(VisionDeskError, match="no background to learn from"):
        run_frames([{"stage": "grabcut", "params": {"region": [0, 0, 512, 512]}}], [skimage_bgr("astronaut")])


# -- inpainting --------------------------------------------------------------------------------------

GREEN = {"mask_from": "color", "hue_low": 50, "hue_high": 70, "sat_min": 200, "val_min": 200}


@pytest.mark.parametrize("method", ["telea", "ns"])
def test_inpaint_removes_a_coloured_scribble(method: str) -> None:
    photo = skimage_bgr("astronaut")
    scribbled = photo.copy()
    cv2.polylines(scribbled, [np.int32([[60, 300], [150, 250], [250, 330], [350, 260], [450, 320]])], False, (0, 255, 0), 3)
    drawn = np.any(scribbled != photo, axis=2)
    before = np.abs(scribbled.astype(int) - photo)[drawn].mean()
    frame = run_frames([{"stage": "inpaint", "params": {**GREEN, "method": method}}], [scribbled])[0]
    after = np.abs(frame.image.astype(int) - photo)[drawn].mean()
    assert after < before / 4  # ~140 grey levels off before, ~25 after
    assert np.abs(frame.image.astype(int) - photo)[~drawn].mean() < 1.0  # the rest is (nearly) untouched
    assert frame.values["inpaint_fraction"] == pytest.approx(drawn.mean(), rel=0.5, abs=0.005)


def test_inpaint_threshold_mask_repairs_a_white_scratch() -> None:
    photo = skimage_bgr("coffee")
    scratched = photo.copy()
    cv2.line(scratched, (40, 60), (560, 330), (255, 255, 255), 2)
    drawn = np.any(scratched != photo, axis=2)
    frame = run_frames([{"stage": "inpaint", "params": {"threshold": 250}}], [scratched])[0]
    before = np.abs(scratched.astype(int) - photo)[drawn].mean()
    after = np.abs(frame.image.astype(int) - photo)[drawn].mean()
    assert after < before / 3
    mask_view = run_frames([{"stage": "inpaint", "params": {"threshold": 250, "view": "mask"}}], [scratched])[0].image
    assert mask_view[drawn].min() == 255


# -- pipeline files and a real 720p clip ---------------------------------------------------------

VALID = [
    ("watershed", {"threshold": "otsu", "objects": "dark", "min_distance": 20, "min_area": 50}),
    ("grabcut", {"region": [330, 20, 520, 680], "iterations": 2, "downscale": 4.0, "view": "overlay"}),
    ("inpaint", {"mask_from": "color", "hue_low": 50, "hue_high": 70, "method": "ns", "radius": 5, "grow": 2}),
]
INVALID = [
    ("watershed", {"threshold": "triangle"}, "threshold"),
    ("watershed", {"min_distance": 0}, "min_distance"),
    ("grabcut", {"iterations": 0}, "iterations"),
    ("grabcut", {"region": "all"}, "region"),
    ("inpaint", {"method": "fast"}, "method"),
    ("inpaint", {"threshold": 300}, "threshold"),
]


test_valid_pipeline_entries, test_invalid_pipeline_entries = entry_tests(VALID, INVALID)


@pytest.mark.parametrize(("stage", "params"), VALID)
def test_segmentation_stages_over_a_720p_clip(clip_720p: Path, stage: str, params: dict) -> None:
    frames = run_clip(clip_720p, [{"stage": stage, "params": params}], max_frames=4)
    assert frames[0].image.shape == (720, 1280, 3)
    if stage == "grabcut":  # the rectangle holds the astronaut's head and chest: her face is foreground
        for f in frames:
            assert f.values["grabcut_fraction"] > 0.1
            assert f.detections.where(source="grabcut").mask[0][150, 570 - 2 * f.index]
    if stage == "watershed":
        assert all(f.values["watershed_count"] >= 1 for f in frames)
