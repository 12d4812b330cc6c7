"""Motion: background subtraction on encoded clips of a real photo, and optical flow of a known shift."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.media import moving_object_frames, skimage_bgr, write_clip
from tests.stages.classical.stage_runs import entry_tests, run_clip, run_frames
from vision_desk.engine.pipeline import load_spec

WARM_UP = 20  # frames of the empty scene before the disc enters
SPEED = 8


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """H.264 clips (so there is real compression noise) of the coffee photo: empty, with a moving disc, and with its shadow."""
    folder = tmp_path_factory.mktemp("motion")
    empty, _ = moving_object_frames(WARM_UP, start=-1000)  # the disc is off-screen
    moving, centres = moving_object_frames(50, speed=SPEED, start=60)
    shadowed = []
    for image, (cx, cy) in zip(moving, centres):
        shade = np.ones(image.shape[:2], np.float32)
        cv2.ellipse(shade, (cx + 10, cy + 70), (50, 18), 0, 0, 360, 0.6, -1)  # the disc's shadow on the table
        darker = (image.astype(np.float32) * shade[..., None]).astype(np.uint8)
        cv2.circle(darker, (cx, cy), 30, (30, 30, 220), -1, cv2.LINE_AA)
        shadowed.append(darker)
    return {
        "static": write_clip(folder / "static.mp4", empty * 3),
        "moving": write_clip(folder / "moving.mp4", empty + moving),
        "shadow": write_clip(folder / "shadow.mp4", empty + shadowed),
        "centres": centres,
    }


def box_centres(boxes: np.ndarray) -> np.ndarray:
    return np.c_[(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2]


# -- background subtraction ------------------------------------------------------------------


@pytest.mark.parametrize("params", [{}, {"method": "knn"}, {"shadows": True}, {"method": "knn", "shadows": True}])
def test_bg_subtract_follows_the_one_moving_object(clips, params) -> None:  # noqa: ANN001
    frames = run_clip(clips["moving"], [{"stage": "bg_subtract", "params": params}], 70)
    assert len(frames) == 70
    for f in frames[WARM_UP:]:
        det = f.detections.where(source="bg_subtract", label="motion")
        assert len(det) == 1 and f.values["motion_count"] == 1, f.index
        cx, cy = clips["centres"][f.index - WARM_UP]
        # Within half the disc's radius; the box trails slightly while the model absorbs the uncovered table.
        np.testing.assert_allclose(box_centres(det.xyxy)[0], [cx, cy], atol=15)


@pytest.mark.parametrize("method", ["mog2", "knn"])
def test_bg_subtract_reports_nothing_in_a_static_clip_after_warm_up(clips, method) -> None:  # noqa: ANN001
    frames = run_clip(clips["static"], [{"stage": "bg_subtract", "params": {"method": method}}], 60)
    assert [f.values["motion_count"] for f in frames[5:]] == [0] * 55


@pytest.mark.parametrize("method", ["mog2", "knn"])
def test_bg_subtract_shadows_option_keeps_shadows_out_of_the_objects(clips, method) -> None:  # noqa: ANN001
    plain = run_clip(clips["shadow"], [{"stage": "bg_subtract", "params": {"method": method}}], 45)
    aware = run_clip(clips["shadow"], [{"stage": "bg_subtract", "params": {"method": method, "shadows": True}}], 45)
    for without, with_ in zip(plain[WARM_UP + 5 :], aware[WARM_UP + 5 :]):
        assert without.values["motion_count"] == 2  # the disc and its shadow
        assert with_.values["motion_count"] == 1  # the disc alone
        assert with_.values["shadow_fraction"] > 0.003  # the 50x18 ellipse is ~1.2% of the frame


def test_bg_subtract_mask_view_shows_the_moving_disc(clips) -> None:  # noqa: ANN001
    frames = run_clip(clips["moving"], [{"stage": "bg_subtract", "params": {"view": "mask"}}], WARM_UP + 10)
    last = frames[-1]
    assert (last.image[..., 0] == last.image[..., 2]).all()
    cx, cy = clips["centres"][last.index - WARM_UP]
    ys, xs = np.nonzero(last.image[..., 0] == 255)
    assert abs(xs.mean() - cx) < 10 and abs(ys.mean() - cy) < 10


def test_bg_subtract_forgets_its_background_when_reset(clips) -> None:  # noqa: ANN001
    from vision_desk.engine.frame import Frame
    from vision_desk.stages.classical.motion_flow import BgSubtractStage

    stage = BgSubtractStage()
    empty = moving_object_frames(1, start=-1000)[0][0]
    for i in range(5):
        stage.process(Frame(empty.copy(), i, 0.0))
    assert stage._subtractor is not None
    stage.update_params(stage.Params(method="knn"))
    assert stage._subtractor is None


# -- optical flow ------------------------------------------------------------------------------


def shifted_views(name: str, step: tuple[int, int], n: int = 4) -> list[np.ndarray]:
    """Views of a photo whose content moves by ``step`` (dx, dy) pixels per frame."""
    src = cv2.resize(skimage_bgr(name), (800, 800))
    dx, dy = step
    return [np.ascontiguousarray(src[100 - i * dy : 460 - i * dy, 100 - i * dx : 740 - i * dx]) for i in range(n)]


@pytest.mark.parametrize("step", [(5, -3), (-4, 0), (0, 6)])
def test_lk_flow_measures_a_known_shift(step) -> None:  # noqa: ANN001
    frames = run_frames([{"stage": "lk_flow"}], shifted_views("astronaut", step))
    assert frames[0].values["lk_points"] == 0  # nothing to compare the first frame with
    for f in frames[1:]:
        assert f.values["lk_points"] > 100
        assert f.values["lk_dx"] == pytest.approx(step[0], abs=0.2)
        assert f.values["lk_dy"] == pytest.approx(step[1], abs=0.2)
        assert f.values["lk_speed"] == pytest.approx(np.hypot(*step), abs=0.2)
    trails = frames[-1].extras["lk_flow"]
    assert max(len(t) for t in trails) == len(frames)  # a point followed from the first frame
    (x0, y0), (x1, y1) = trails[0][0], trails[0][-1]
    assert (x1 - x0, y1 - y0) == pytest.approx((step[0] * 3, step[1] * 3), abs=1.0)


def test_lk_flow_sees_no_motion_in_a_still_scene() -> None:
    still = shifted_views("astronaut", (0, 0), 3)
    frames = run_frames([{"stage": "lk_flow"}], still)
    assert frames[-1].values["lk_speed"] == pytest.approx(0.0, abs=0.05)


@pytest.mark.parametrize("downscale", [1.0, 2.0])
def test_dense_flow_measures_a_known_shift(downscale: float) -> None:
    step = (5, -3)
    frames = run_frames([{"stage": "dense_flow", "params": {"downscale": downscale}}], shifted_views("chelsea", step, 3))
    values = frames[-1].values
    assert values["flow_dx"] == pytest.approx(5, abs=0.3) and values["flow_dy"] == pytest.approx(-3, abs=0.3)
    assert values["flow_direction"] == pytest.approx(np.degrees(np.arctan2(-3, 5)) % 360, abs=3)  # 329 deg
    # The mean speed is lower than the true 5.83: flat fur patches report ~0 (the aperture problem).
    assert 0.6 * np.hypot(*step) < values["flow_magnitude"] < 1.05 * np.hypot(*step)
    # Colour coding: hue is the direction (329 deg -> OpenCV hue 164) wherever the flow is strong.
    hsv = cv2.cvtColor(frames[-1].image, cv2.COLOR_BGR2HSV)
    bright = hsv[..., 2] > 128
    assert bright.mean() > 0.5 and abs(float(np.median(hsv[..., 0][bright])) - 164) <= 3


def test_dense_flow_of_a_still_scene_is_zero_and_dark() -> None:
    frames = run_frames([{"stage": "dense_flow", "params": {"saturate_at": 5.0}}], shifted_views("chelsea", (0, 0), 3))
    assert frames[-1].values["flow_magnitude"] < 0.05
    assert frames[-1].image.max() < 10


# -- pipeline files and a real 720p clip ---------------------------------------------------------

VALID = [
    ("bg_subtract", {"method": "knn", "shadows": True, "knn_threshold": 600.0, "learning_rate": 0.01, "view": "mask"}),
    ("lk_flow", {"max_corners": 500, "window": 31, "levels": 2, "trail": 40}),
    ("dense_flow", {"downscale": 4.0, "poly_n": 7, "view": "overlay", "saturate_at": 10.0}),
]
INVALID = [
    ("bg_subtract", {"method": "gmg"}, "method"),
    ("bg_subtract", {"learning_rate": 2.0}, "learning_rate"),
    ("lk_flow", {"window": 2}, "window"),
    ("lk_flow", {"corners": 10}, "corners"),
    ("dense_flow", {"poly_n": 6}, "poly_n"),
    ("dense_flow", {"view": "arrows"}, "view"),
]


def test_preset_loads() -> None:
    spec = load_spec(Path(__file__).parents[3] / "pipelines" / "optical-flow.yaml")
    assert spec.name == "optical-flow" and spec.stages


test_valid_pipeline_entries, test_invalid_pipeline_entries = entry_tests(VALID, INVALID)


@pytest.mark.parametrize(("stage", "params"), VALID)
def test_motion_stages_over_a_720p_clip(clip_720p: Path, stage: str, params: dict) -> None:
    frames = run_clip(clip_720p, [{"stage": stage, "params": params}], max_frames=8)
    assert frames[0].image.shape == (720, 1280, 3)
    if stage == "lk_flow":  # the clip pans 2 px left and 0.5 px up per frame
        assert np.median([f.values["lk_dx"] for f in frames[1:]]) == pytest.approx(-2, abs=0.3)
    if stage == "dense_flow":
        assert frames[-1].values["flow_dx"] == pytest.approx(-2, abs=0.5)
