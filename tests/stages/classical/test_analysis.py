"""Analysis: blur detection ranks blurred copies below the original; comparison gives SSIM 1 for identical frames."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.media import skimage_bgr
from tests.stages.classical.stage_runs import entry_tests, run_clip, run_frames
from vision_desk.errors import VisionDeskError
from vision_desk.stages.classical.analysis import compare_images, laplacian_variance

# -- blur detection -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["astronaut", "coffee", "camera"])
def test_blur_detect_ranks_blurred_copies_below_the_original(name: str) -> None:
    photo = skimage_bgr(name)
    copies = [photo] + [cv2.GaussianBlur(photo, (0, 0), sigma) for sigma in (1.0, 2.0, 4.0)]
    frames = run_frames([{"stage": "blur_detect"}], copies)
    variances = [f.values["blur_variance"] for f in frames]
    assert variances == sorted(variances, reverse=True) and variances[0] > 3 * variances[1]
    assert variances[0] == pytest.approx(laplacian_variance(photo), rel=1e-3)
    assert frames[0].values["blurry"] is False  # every sharp photo here is above the default 100
    assert frames[-1].values["blurry"] is True  # sigma 4 leaves almost no Laplacian energy


def test_blur_detect_threshold_sets_the_flag() -> None:
    photo = skimage_bgr("coffee")
    variance = laplacian_variance(photo)
    below = run_frames([{"stage": "blur_detect", "params": {"threshold": variance * 1.1}}], [photo])[0]
    above = run_frames([{"stage": "blur_detect", "params": {"threshold": variance * 0.9}}], [photo])[0]
    assert below.values["blurry"] is True and above.values["blurry"] is False


# -- comparison ----------------------------------------------------------------------------------------


def test_compare_identical_frames_give_ssim_one() -> None:
    photo = skimage_bgr("astronaut")
    frames = run_frames([{"stage": "compare"}], [photo, photo, photo])
    for f in frames:
        assert f.values["compare_ssim"] == 1.0 and f.values["compare_mse"] == 0.0 and f.values["changed"] is False


def test_compare_previous_frame_sees_a_change() -> None:
    photo = skimage_bgr("astronaut")
    changed = photo.copy()
    cv2.rectangle(changed, (100, 100), (300, 300), (0, 0, 0), -1)
    frames = run_frames([{"stage": "compare"}], [photo, photo, changed, changed])
    ssim = [f.values["compare_ssim"] for f in frames]
    assert ssim[0] == ssim[1] == ssim[3] == 1.0  # the last frame equals the one before it
    assert ssim[2] < 0.9 and frames[2].values["changed"] is True
    assert frames[2].values["compare_mse"] > 1000


def test_compare_first_frame_keeps_its_reference() -> None:
    photo = skimage_bgr("coffee")
    noisy = np.clip(photo.astype(int) + np.random.default_rng(1).normal(0, 12, photo.shape), 0, 255).astype(np.uint8)
    frames = run_frames([{"stage": "compare", "params": {"reference": "first"}}], [photo, noisy, noisy])
    assert frames[1].values["compare_ssim"] == frames[2].values["compare_ssim"] < 1.0


def test_compare_with_a_reference_image(tmp_path: Path) -> None:
    photo = skimage_bgr("chelsea")
    path = tmp_path / "ref.png"
    cv2.imwrite(str(path), photo)
    stages = [{"stage": "compare", "params": {"reference": "image", "image": str(path), "view": "difference"}}]
    same, other = run_frames(stages, [photo, skimage_bgr("coffee")[:300, :451]])
    assert same.values["compare_ssim"] == 1.0 and same.image.max() == 0  # difference view: all black
    assert other.values["compare_ssim"] < 0.5 and other.values["changed"] is True


def test_compare_needs_a_readable_reference(tmp_path: Path) -> None:
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    with pytest.raises(VisionDeskError, match="not an image"):
        run_frames([{"stage": "compare", "params": {"reference": "image", "image": str(bad)}}], [skimage_bgr("coffee")])


def test_ssim_falls_as_damage_grows() -> None:
    photo = skimage_bgr("camera")
    scores = [compare_images(photo, cv2.GaussianBlur(photo, (0, 0), s))[1] for s in (0.5, 1.5, 3.0)]
    assert 1.0 > scores[0] > scores[1] > scores[2]


# -- pipeline files and a real 720p clip ---------------------------------------------------------

VALID = [
    ("blur_detect", {"threshold": 50.0}),
    ("compare", {"reference": "first", "ssim_threshold": 0.8, "width": 640, "view": "difference"}),
]
INVALID = [
    ("blur_detect", {"threshold": -1}, "threshold"),
    ("compare", {"reference": "last"}, "reference"),
    ("compare", {"width": 8}, "width"),
]


test_valid_pipeline_entries, test_invalid_pipeline_entries = entry_tests(VALID, INVALID)


def test_analysis_stages_over_a_720p_clip(clip_720p: Path) -> None:
    stages = [{"stage": "blur_detect"}, {"stage": "compare"}]
    frames = run_clip(clip_720p, stages, max_frames=8)
    assert all(f.values["blur_variance"] > 0 for f in frames)
    assert frames[0].values["compare_ssim"] == 1.0
    # A 2-pixel pan between frames changes little: similar, below identical.
    assert all(0.5 < f.values["compare_ssim"] < 1.0 for f in frames[1:])
