"""draw_rect, draw_line, draw_circle and draw_image on real photos: the pixels they must colour, and exact alpha blending."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from tests.media import skimage_bgr
from tests.stages.classical.stage_runs import entry_tests, run_clip
from tests.stages.drawing.glyphs import changed_box
from vision_desk.engine.annotate import annotate
from vision_desk.engine.frame import Frame
from vision_desk.engine.pipeline import Pipeline, spec_from_dict
from vision_desk.errors import VisionDeskError

MAGENTA = (255, 0, 255)

test_valid_pipeline_entries, test_invalid_pipeline_entries = entry_tests(
    valid=[
        ("draw_rect", {"region": [100, 80, 300, 200], "color": [0, 0, 255], "thickness": 4, "filled": False}),
        ("draw_line", {"line": [0, 360, 1279, 360], "color": [255, 255, 0], "thickness": 3, "arrow": True}),
        ("draw_circle", {"center": [640, 360], "radius": 120, "filled": True}),
        ("draw_image", {"image": "logo.png", "anchor": "bottom_right", "margin": 24, "scale": 0.5, "opacity": 0.8}),
    ],
    invalid=[
        ("draw_rect", {"region": [10, 10, -5, 20]}, "region"),
        ("draw_rect", {"thickness": 0}, "thickness"),
        ("draw_line", {"line": [0, 0, 10]}, "line"),
        ("draw_circle", {"radius": 0}, "radius"),
        ("draw_circle", {"color": [0, 256, 0]}, "color"),
        ("draw_image", {"opacity": 1.5}, "opacity"),
        ("draw_image", {"anchor": "left"}, "anchor"),
    ],
)


def run(stage: str, picture: np.ndarray, **params: Any) -> Frame:
    """One stage, built from a validated pipeline entry, over one frame, overlays drawn as the engine does."""
    pipeline = Pipeline(spec_from_dict({"stages": [{"stage": stage, "params": params}]}))
    pipeline.setup()
    frame = pipeline.process(Frame(picture.copy(), 0, 0.0))
    frame.annotated = annotate(frame, pipeline)
    return frame


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return skimage_bgr("astronaut")


def test_rectangle_outline_has_the_colour_and_leaves_the_inside(photo: np.ndarray) -> None:
    x, y, w, h = 100, 120, 200, 150
    out = run("draw_rect", photo, region=(x, y, w, h), color=MAGENTA, thickness=5).image
    for px, py in [(x + w // 2, y), (x, y + h // 2), (x + w - 1, y + h // 2), (x + w // 2, y + h - 1), (x + 2, y + 2)]:
        assert tuple(out[py, px]) == MAGENTA, (px, py)
    assert (out[y + 10 : y + h - 10, x + 10 : x + w - 10] == photo[y + 10 : y + h - 10, x + 10 : x + w - 10]).all()
    x1, y1, x2, y2 = changed_box(photo, out)  # a thick outline spreads to both sides of the rectangle's edge
    assert x - 5 <= x1 < x and y - 5 <= y1 < y and x + w < x2 <= x + w + 5 and y + h < y2 <= y + h + 5
    filled = run("draw_rect", photo, region=(x, y, w, h), color=MAGENTA, filled=True).image
    assert (filled[y : y + h, x : x + w] == MAGENTA).all()


def test_rectangle_of_zeros_borders_the_whole_frame(photo: np.ndarray) -> None:
    out = run("draw_rect", photo, region=(0, 0, 0, 0), color=MAGENTA, thickness=3).image
    h, w = photo.shape[:2]
    for px, py in [(0, h // 2), (w - 1, h // 2), (w // 2, 0), (w // 2, h - 1)]:
        assert tuple(out[py, px]) == MAGENTA


def test_line_and_arrow_head(photo: np.ndarray) -> None:
    out = run("draw_line", photo, line=(50, 100, 400, 100), color=MAGENTA, thickness=3).image
    assert (out[99:102, 60:390] == MAGENTA).all()
    assert (out[110, :] == photo[110, :]).all() and (out[90, :] == photo[90, :]).all()
    arrow = run("draw_line", photo, line=(50, 100, 400, 100), color=MAGENTA, thickness=3, arrow=True).image
    # the head's wings run 35 px (a tenth of the line) back from the tip at 45 degrees
    for px, py in [(388, 88), (388, 112)]:
        assert tuple(arrow[py, px]) == MAGENTA and tuple(out[py, px]) != MAGENTA


def test_circle_outline_and_fill(photo: np.ndarray) -> None:
    out = run("draw_circle", photo, center=(256, 256), radius=100, color=MAGENTA, thickness=4).image
    for px, py in [(356, 256), (156, 256), (256, 156), (256, 356), (327, 327)]:  # 327 ~ 256 + 100 / sqrt(2)
        assert tuple(out[py, px]) == MAGENTA, (px, py)
    assert (out[200:312, 200:312] == photo[200:312, 200:312]).all()
    filled = run("draw_circle", photo, center=(256, 256), radius=100, color=MAGENTA, filled=True).image
    inside = (np.hypot(*np.mgrid[-256:256, -256:256]) < 98)
    assert (filled[inside] == MAGENTA).all()


@pytest.fixture(scope="module")
def logo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    """A 60x80 BGRA PNG: a colour gradient whose alpha ramps from 0 (left column) to 255 (right column)."""
    h, w = 60, 80
    bgra = np.zeros((h, w, 4), np.uint8)
    bgra[..., 0] = np.linspace(0, 255, h, dtype=np.uint8)[:, None]
    bgra[..., 1] = 200
    bgra[..., 2] = np.linspace(255, 0, w, dtype=np.uint8)[None, :]
    bgra[..., 3] = np.linspace(0, 255, w).round().astype(np.uint8)[None, :]
    path = tmp_path_factory.mktemp("logo") / "logo.png"
    assert cv2.imwrite(str(path), bgra)
    return path, bgra


def expected_blend(frame: np.ndarray, bgra: np.ndarray, opacity: float = 1.0) -> np.ndarray:
    a = bgra[..., 3:].astype(np.float64) / 255.0 * opacity
    return bgra[..., :3] * a + frame.astype(np.float64) * (1.0 - a)


@pytest.mark.parametrize("opacity", [1.0, 0.4])
def test_logo_blends_through_its_alpha(photo: np.ndarray, logo: tuple[Path, np.ndarray], opacity: float) -> None:
    path, bgra = logo
    out = run("draw_image", photo, image=str(path), anchor="point", position=(100, 50), opacity=opacity).image
    region = (slice(50, 110), slice(100, 180))
    diff = np.abs(out[region].astype(np.float64) - expected_blend(photo[region], bgra, opacity))
    assert diff.max() <= 1.0
    assert (out[region][:, 0] == photo[region][:, 0]).all()  # alpha 0: the photo untouched
    if opacity == 1.0:
        assert (out[region][:, -1] == bgra[:, -1, :3]).all()  # alpha 255: the logo itself
    outside = np.ones(photo.shape[:2], bool)
    outside[region] = False
    assert (out[outside] == photo[outside]).all()


def test_logo_anchor_scale_and_clipping(photo: np.ndarray, logo: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    _, bgra = logo
    opaque = tmp_path / "opaque.jpg"  # no alpha channel: drawn opaque
    assert cv2.imwrite(str(opaque), bgra[..., :3])
    out = run("draw_image", photo, image=str(opaque), anchor="top_right", margin=10, scale=0.5).image
    assert changed_box(photo, out) == (512 - 10 - 40, 10, 512 - 10, 10 + 30)
    clipped = run("draw_image", photo, image=str(opaque), anchor="point", position=(-20, -10)).image
    assert changed_box(photo, clipped) == (0, 0, 60, 50)


def test_scaled_logo_bleeds_no_colour_from_its_transparent_pixels(tmp_path: Path) -> None:
    bgra = np.zeros((40, 40, 4), np.uint8)
    bgra[...] = (0, 255, 0, 0)  # invisible green around ...
    bgra[10:30, 10:30] = (0, 0, 255, 255)  # ... an opaque red square
    path = tmp_path / "square.png"
    assert cv2.imwrite(str(path), bgra)
    grey = np.full((100, 100, 3), 128, np.uint8)
    out = run("draw_image", grey, image=str(path), anchor="point", position=(20, 20), scale=0.35).image
    assert out[..., 2].max() > 250  # the red square is there, ~7 px wide
    assert out[..., 1].max() <= 128  # and its edges blend red into grey, never towards green


def test_missing_or_unreadable_logo_is_one_sentence_naming_the_path(photo: np.ndarray, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-logo.png"
    broken = tmp_path / "broken.png"
    broken.write_text("not a picture")
    for path, says in [(missing, "does not exist"), (broken, "not an image OpenCV can read")]:
        with pytest.raises(VisionDeskError) as err:
            run("draw_image", photo, image=str(path))
        message = str(err.value)
        assert str(path) in message and says in message and "pick" in message and message.endswith(".") and "\n" not in message


def test_without_a_picture_the_frame_is_unchanged_and_the_view_says_so(photo: np.ndarray) -> None:
    frame = run("draw_image", photo)
    assert (frame.image == photo).all()
    assert frame.annotated is not None and (frame.annotated[10:40] != photo[10:40]).any()  # the hint


def test_drawing_stages_over_a_720p_clip_mark_the_recorded_image(clip_720p: Path, logo: tuple[Path, np.ndarray]) -> None:
    stages = [
        {"stage": "draw_rect", "params": {"region": [600, 300, 200, 100], "color": list(MAGENTA), "filled": True}},
        {"stage": "draw_line", "params": {"line": [0, 700, 1279, 700], "color": [0, 255, 0], "thickness": 5}},
        {"stage": "draw_circle", "params": {"center": [100, 600], "radius": 40, "color": [255, 0, 0], "filled": True}},
        {"stage": "draw_image", "params": {"image": str(logo[0]), "anchor": "bottom_right"}},
        {"stage": "draw", "params": {"text": "#{frame}", "anchor": "top_left", "background_color": [0, 0, 255]}},
    ]
    frames = run_clip(clip_720p, stages, max_frames=3)
    for f in frames:  # the image itself (what a --raw recording keeps), not only the overlay
        assert (f.image[300:400, 600:800] == MAGENTA).all()
        assert (f.image[699:702, 10:1180] == (0, 255, 0)).all()  # the logo covers its right end
        assert tuple(f.image[600, 100]) == (255, 0, 0)
        assert (f.image[720 - 10 - 60 : 720 - 10, 1280 - 11] == logo[1][:, -1, :3]).all()
        assert tuple(f.image[10, 10]) == (0, 0, 255)
