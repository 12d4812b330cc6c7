"""The draw stage: fields filled per frame, checked once at validation, glyphs and box where the anchor puts them."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.media import skimage_bgr
from tests.stages.classical.stage_runs import entry_tests
from tests.stages.drawing.glyphs import changed_box, ink, put_text_ink
from vision_desk.engine.frame import Frame
from vision_desk.engine.pipeline import Pipeline, load_spec, spec_from_dict
from vision_desk.errors import PipelineError
from vision_desk.stages.drawing.text import FieldValues, fill_fields

MAGENTA = (255, 0, 255)  # a box colour no photo here has, so the box is exactly the pixels that changed

test_valid_pipeline_entries, test_invalid_pipeline_entries = entry_tests(
    valid=[
        ("draw", {}),
        ("draw", {"text": "{time} #{frame:05d}\\nin: {value:count_in}", "time_format": "%H:%M:%S", "anchor": "bottom_right",
                  "margin": 20, "scale": 1.2, "thickness": 1, "color": [0, 255, 255], "background": False}),
        ("draw", {"text": "{source} {{literal}}", "anchor": "point", "position": [40, 300], "background_color": [40, 40, 40]}),
    ],
    invalid=[
        ("draw", {"text": "frame {fram}"}, "text"),
        ("draw", {"text": "{value}"}, "text"),
        ("draw", {"text": "{frame:xyz}"}, "text"),
        ("draw", {"text": "50% {"}, "text"),
        ("draw", {"scale": 0}, "scale"),
        ("draw", {"color": [0, 0, 300]}, "color"),
        ("draw", {"anchor": "middle"}, "anchor"),
    ],
)


def draw_on(image: np.ndarray, index: int = 0, source_id: str = "", values: dict[str, Any] | None = None, **params: Any) -> Frame:
    """Runs the draw stage, built from a validated pipeline entry, over one frame."""
    pipeline = Pipeline(spec_from_dict({"stages": [{"stage": "draw", "params": params}]}))
    pipeline.setup()
    frame = Frame(image.copy(), index, 0.0, source_id=source_id)
    frame.values.update(values or {})
    return pipeline.process(frame)


def test_an_unknown_field_is_one_sentence_at_validation() -> None:
    with pytest.raises(PipelineError) as err:
        spec_from_dict({"stages": [{"stage": "draw", "params": {"text": "in: {value:count_in} at {tme}"}}]}, "stamp.yaml")
    message = str(err.value)
    assert "unknown field {tme}" in message and "{value:NAME}" in message and "\n" not in message
    assert message.startswith("stamp.yaml: stage 1 'draw': parameter 'text'") and message.endswith(".")


def test_fields_are_filled() -> None:
    at = FieldValues(datetime(2024, 5, 6, 7, 8, 9), 42, "rtsp://admin:hunter2@10.0.0.5/live?token=abc&ch=1",
                     {"count_in": 3, "speed": 2.345, "plate": "AB12"})
    text = "{time} {time:%H:%M} #{frame:04d} {source} in={value:count_in} v={value:speed:.1f} {value:plate:.1f} {value:nope} {{x}}"
    assert fill_fields(text, at) == ("2024-05-06 07:08:09 07:08 #0042 rtsp://***:***@10.0.0.5/live?token=***&ch=1 "
                                     "in=3 v=2.3 AB12 - {x}")


@pytest.mark.parametrize(("text", "index", "source_id", "expected"), [
    ("{frame}", 1234, "", "1234"),
    ("frame {frame:06d}", 77, "", "frame 000077"),
    ("{source}", 0, "rtsp://admin:hunter2@10.0.0.5/stream", "rtsp://***:***@10.0.0.5/stream"),
])
def test_text_glyphs_and_colour_in_the_anchored_box(text: str, index: int, source_id: str, expected: str) -> None:
    photo = skimage_bgr("astronaut")
    frame = draw_on(photo, index, source_id, text=text, scale=0.9, thickness=2, color=(0, 255, 255), background_color=MAGENTA,
                    anchor="top_left", margin=12)
    x1, y1, x2, y2 = changed_box(photo, frame.image)
    assert (x1, y1) == (12, 12)  # the box's corner keeps the margin
    box = frame.image[y1:y2, x1:x2]
    assert (box[0] == MAGENTA).all() and (box[:, 0] == MAGENTA).all()  # a filled box behind the text
    glyphs = ink(box, MAGENTA)
    np.testing.assert_array_equal(glyphs, put_text_ink(expected, 0.9, 2, (0, 255, 255), MAGENTA))
    solid = (glyphs == (0, 255, 255)).all(axis=2)
    assert solid.sum() > 0.3 * (glyphs != MAGENTA).any(axis=2).sum()  # stroke cores carry the colour itself


def test_time_field_is_the_wall_clock() -> None:
    photo = skimage_bgr("astronaut")
    before = datetime.now().strftime("%Y-%m-%d")
    frame = draw_on(photo, text="{time}", time_format="%Y-%m-%d", background_color=MAGENTA)
    after = datetime.now().strftime("%Y-%m-%d")
    x1, y1, x2, y2 = changed_box(photo, frame.image)
    glyphs = ink(frame.image[y1:y2, x1:x2], MAGENTA)
    expected = [put_text_ink(day, 0.8, 2, (255, 255, 255), MAGENTA) for day in {before, after}]
    assert any(g.shape == glyphs.shape and (g == glyphs).all() for g in expected)


def test_value_field_shows_what_an_earlier_stage_counted() -> None:
    coins = skimage_bgr("coins")
    spec = load_spec(Path(__file__).resolve().parents[3] / "pipelines" / "coins.yaml")
    stages = [{"stage": s.stage, "params": s.params} for s in spec.stages]
    stages.append({"stage": "draw", "params": {"text": "coins: {value:circles_count}", "background_color": MAGENTA,
                                               "anchor": "bottom_left"}})
    pipeline = Pipeline(spec_from_dict({"stages": stages}))
    pipeline.setup()
    frame = pipeline.process(Frame(coins.copy(), 0, 0.0))
    count = frame.values["circles_count"]
    assert abs(count - 24) <= 1
    x1, y1, x2, y2 = changed_box(coins, frame.image)
    assert (x1, y2) == (10, coins.shape[0] - 10)
    np.testing.assert_array_equal(ink(frame.image[y1:y2, x1:x2], MAGENTA),
                                  put_text_ink(f"coins: {count}", 0.8, 2, (255, 255, 255), MAGENTA))


@pytest.mark.parametrize(("anchor", "where"), [
    ("top_right", lambda box, w, h: box[2] == w - 15 and box[1] == 15),
    ("bottom_left", lambda box, w, h: box[0] == 15 and box[3] == h - 15),
    ("bottom_right", lambda box, w, h: box[2] == w - 15 and box[3] == h - 15),
    ("center", lambda box, w, h: abs(box[0] + box[2] - w) <= 1 and abs(box[1] + box[3] - h) <= 1),
    ("point", lambda box, w, h: box[:2] == (200, 300)),
])
def test_anchors_place_the_box(anchor: str, where: Any) -> None:
    photo = skimage_bgr("astronaut")
    frame = draw_on(photo, text="{frame}", anchor=anchor, margin=15, position=(200, 300), background_color=MAGENTA)
    box = changed_box(photo, frame.image)
    assert where(box, photo.shape[1], photo.shape[0]), box


def test_lines_break_at_backslash_n_and_without_a_box_only_the_text_changes() -> None:
    photo = skimage_bgr("astronaut")
    one = draw_on(photo, text="frame {frame}", background=False, index=5)
    two = draw_on(photo, text="frame {frame}\\nsecond line", background=False, index=5)
    rows = (photo != two.image).any(axis=2).any(axis=1)
    runs = np.flatnonzero(np.diff(rows.astype(np.int8)) == 1)  # where a run of inked rows starts
    assert len(runs) == 2  # two lines of text, one above the other
    first_line = slice(0, int(runs[1]))
    np.testing.assert_array_equal(one.image[first_line], two.image[first_line])
    assert (photo != one.image).any(axis=2).mean() < 0.01  # no box: the photo shows between the letters
