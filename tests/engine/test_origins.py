"""Where a frame's results come from: ResultOrigin on the frame."""

from __future__ import annotations

import numpy as np
import pytest

from vision_desk.engine.frame import Frame, ResultOrigin


def test_an_origin_is_fresh_on_its_own_frame_and_ages_by_capture_time() -> None:
    image = np.zeros((4, 4, 3), np.uint8)
    first, later = Frame(image, 7, 0.0, capture_time=20.0), Frame(image, 9, 0.1, capture_time=20.25)
    origin = first.mark("detect")
    assert origin == ResultOrigin("detect", 7, 20.0) and first.origin("detect") is origin
    assert origin.fresh_on(first) and origin.age_ms(first) == 0.0
    assert later.mark("detect", origin) is origin and later.origin("detect") is origin
    assert not origin.fresh_on(later) and origin.age_ms(later) == pytest.approx(250.0)
    assert later.origin("faces") is None  # that stage put nothing here


def test_a_seek_back_to_the_same_index_is_a_new_frame() -> None:
    image = np.zeros((4, 4, 3), np.uint8)
    origin = Frame(image, 5, 0.2, capture_time=1.0).mark("ocr")
    again = Frame(image, 5, 0.2, capture_time=3.0)
    assert not origin.fresh_on(again) and origin.age_ms(again) == pytest.approx(2000.0)
