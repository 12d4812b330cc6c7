"""Every stage of this half of the toolbox: a valid pipeline entry, an invalid one, and a run over a real 720p clip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vision_desk.engine.frame import Frame
from vision_desk.engine.params import describe
from vision_desk.engine.pipeline import Pipeline, spec_from_dict
from vision_desk.engine.runner import Engine
from vision_desk.engine.stage import all_stages
from vision_desk.errors import PipelineError

MODULES = ("colour", "masks", "geometry", "perspective", "convolution", "thresholds", "morphology", "edges",
           "features", "contours", "histograms")
CATEGORIES = {"Colour", "Geometry", "Filters", "Thresholds", "Morphology", "Edges", "Contours", "Histograms"}

# stage id: (valid params, invalid params, the parameter the error must name)
CASES: dict[str, tuple[dict, dict, str]] = {
    "color_space": ({"space": "lab", "channel": 1}, {"space": "cmyk"}, "space"),
    "brightness_contrast": ({"contrast": 1.3, "brightness": 20}, {"contrast": 5.0}, "contrast"),
    "gamma": ({"gamma": 1.8}, {"gamma": 0}, "gamma"),
    "arithmetic": ({"operation": "subtract", "value": 40, "wrap": True}, {"value": 300}, "value"),
    "bitwise_mask": ({"shape": "ellipse", "region": [100, 100, 400, 300], "operation": "xor"}, {"operation": "nand"}, "operation"),
    "color_filter": ({"preset": "custom", "lower": [20, 50, 50], "upper": [40, 255, 255]}, {"lower": [200, 0, 0]}, "lower"),
    "flip": ({"direction": "both"}, {"direction": "diagonal"}, "direction"),
    "rotate": ({"angle": -30, "expand": True}, {"scale": 0}, "scale"),
    "translate": ({"dx": -40, "dy": 25}, {"dx": "left"}, "dx"),
    "resize": ({"width": 640}, {"interpolation": "bicubic"}, "interpolation"),
    "crop": ({"region": [200, 100, 640, 360]}, {"region": [1, 2, 3]}, "region"),
    "perspective": ({"points": [[100, 50], [1180, 80], [1150, 690], [130, 660]]}, {"points": [[0, 0], [10, 0], [10, 10]]}, "points"),
    "kernel": ({"preset": "custom", "custom": [[1, 1, 1], [1, -8, 1], [1, 1, 1]], "padding": "zero", "stride": 2},
               {"custom": [[1, 2], [3, 4]]}, "custom"),
    "sharpen": ({"method": "kernel", "amount": 0.8}, {"sigma": 0}, "sigma"),
    "denoise": ({"strength": 5, "search": 11}, {"template": 8}, "template"),
    "threshold_ex": ({"method": "adaptive_gaussian", "block_size": 15, "c": 4}, {"method": "niblack"}, "method"),
    "morphology": ({"operation": "tophat", "shape": "ellipse", "ksize": 9}, {"iterations": 0}, "iterations"),
    "edges": ({"method": "sobel", "direction": "x", "ksize": 5}, {"ksize": 4}, "ksize"),
    "hough_lines": ({"votes": 60, "min_length": 80}, {"blur": 4}, "blur"),
    "hough_circles": ({"method": "standard", "min_radius": 5, "max_radius": 60}, {"roundness": 1.5}, "roundness"),
    "blobs": ({"color": "light", "min_circularity": 0.7}, {"min_inertia": -0.1}, "min_inertia"),
    "corners": ({"method": "harris", "max_corners": 200}, {"quality": 0}, "quality"),
    "contours": ({"mode": "tree", "sort": "left_to_right", "draw_hulls": True}, {"sort": "random"}, "sort"),
    "histogram": ({"mode": "gray", "corner": "bottom_left", "log": True}, {"corner": "middle"}, "corner"),
    "equalize": ({"method": "global", "channels": "each"}, {"tiles": 0}, "tiles"),
    "dominant_colors": ({"k": 3, "posterize": True}, {"k": 0}, "k"),
}


def _mine() -> dict:
    prefixes = tuple(f"vision_desk.stages.classical.{m}" for m in MODULES)
    return {sid: cls for sid, cls in all_stages().items() if cls.__module__.startswith(prefixes)}


def test_every_stage_has_a_case_a_category_and_help() -> None:
    mine = _mine()
    assert set(mine) == set(CASES)
    for sid, cls in mine.items():
        assert cls.category in CATEGORIES, sid
        assert cls.title and cls.help.endswith("."), sid
        for spec in describe(cls.Params):
            assert spec.help, f"{sid}.{spec.name} has no help"
    assert _mine()["denoise"].heavy and "Heavy" in _mine()["denoise"].help


def test_no_id_collides_with_the_basic_stages_or_the_other_half() -> None:
    taken = {"grayscale", "blur", "canny", "threshold", "motion", "sketch", "template", "haar", "hog", "bg_subtract",
             "optical_flow", "dense_flow", "meanshift", "camshift", "color_track", "watershed", "grabcut", "inpaint",
             "blur_detect", "compare", "tilt_shift", "stylize", "detail", "cartoon", "pencil"}
    assert not taken & set(CASES)


@pytest.mark.parametrize("stage_id", sorted(CASES))
def test_valid_entry_validates(stage_id: str) -> None:
    valid, _, _ = CASES[stage_id]
    spec = spec_from_dict({"name": "t", "stages": [{"stage": stage_id, "params": valid}]})
    assert spec.stages[0].stage == stage_id and spec.stages[0].params == valid


@pytest.mark.parametrize("stage_id", sorted(CASES))
def test_invalid_entry_names_stage_and_parameter(stage_id: str) -> None:
    _, invalid, name = CASES[stage_id]
    with pytest.raises(PipelineError) as err:
        spec_from_dict({"stages": [{"stage": "flip"}, {"stage": stage_id, "params": invalid}]}, "my.yaml")
    message = str(err.value)
    assert f"stage 2 '{stage_id}'" in message and f"'{name}" in message and message.startswith("my.yaml")


def test_unknown_parameter_is_named() -> None:
    with pytest.raises(PipelineError, match="'ksize' is not a parameter"):
        spec_from_dict({"stages": [{"stage": "gamma", "params": {"ksize": 3}}]})


@pytest.mark.parametrize("stage_id", sorted(CASES))
def test_runs_over_a_real_720p_clip(stage_id: str, clip_720p: Path) -> None:
    valid, _, _ = CASES[stage_id]
    frames: list[Frame] = []
    pipeline = Pipeline(spec_from_dict({"stages": [{"stage": stage_id, "params": valid}]}))
    n = 1 if stage_id == "denoise" else 3  # non-local means takes seconds per 720p frame here
    stats = Engine(str(clip_720p), pipeline, live=False, annotate=True, max_frames=n, on_frame=frames.append).run()
    assert stats.frames_out == n == len(frames)
    for frame in frames:
        assert frame.image.dtype == np.uint8 and frame.image.ndim == 3 and frame.image.shape[2] == 3
        assert frame.annotated is not None and frame.annotated.shape == frame.image.shape
    if stage_id in ("resize",):
        assert frames[-1].image.shape[:2] == (360, 640)
    if stage_id == "crop":
        assert frames[-1].image.shape[:2] == (360, 640)
    if stage_id == "corners":
        assert frames[-1].values["corners_count"] > 50  # a textured photo has plenty
    if stage_id == "hough_lines":
        assert frames[-1].values["lines_count"] > 0


def test_analysing_stages_chain_and_export_together(clip_720p: Path) -> None:
    import json

    from vision_desk.engine.sinks.export import frame_record

    stages = ["color_filter", "hough_lines", "hough_circles", "blobs", "corners", "contours", "histogram", "dominant_colors"]
    spec = {"stages": [{"stage": s, "params": {"output": "original"} if s == "color_filter" else {}} for s in stages]}
    frames: list[Frame] = []
    Engine(str(clip_720p), Pipeline(spec_from_dict(spec)), live=False, max_frames=2, on_frame=frames.append).run()
    record = json.loads(json.dumps(frame_record(frames[-1])))
    found = {o["stage"] for o in record["objects"]}
    assert {"hough_lines", "corners", "contours"} <= found
    line = next(o for o in record["objects"] if o["stage"] == "hough_lines")
    assert len(line["polygon"]) == 2 and {"length", "angle"} <= set(line)
    shape = next(o for o in record["objects"] if o["stage"] == "contours")
    assert len(shape["centroid"]) == 2 and len(shape["polygon"]) >= 3
    assert {"lines_count", "corners_count", "contours_count", "brightness_mean", "dominant_colors"} <= set(record["values"])


@pytest.mark.parametrize("name", ["coins", "document-scan", "shapes"])
def test_presets_load(name: str) -> None:
    from vision_desk.engine.pipeline import load_spec

    root = Path(__file__).resolve().parents[3]
    spec = load_spec(root / "pipelines" / f"{name}.yaml")
    assert spec.name == name and spec.stages


def test_coins_preset_counts_the_coins() -> None:
    from vision_desk.engine.pipeline import load_spec
    from tests.media import skimage_bgr

    pipeline = Pipeline(load_spec(Path(__file__).resolve().parents[3] / "pipelines" / "coins.yaml"))
    pipeline.setup()
    frame = pipeline.process(Frame(skimage_bgr("coins"), 0, 0.0))
    assert abs(frame.values["circles_count"] - 24) <= 1 and abs(frame.values["blobs_count"] - 24) <= 1
