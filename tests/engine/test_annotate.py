"""Captions drawn over objects: what a user reads next to each box."""

from __future__ import annotations

from vision_desk.engine.annotate import _caption
from vision_desk.engine.results import Detections


def test_a_name_or_a_reading_keeps_the_track_number_beside_it() -> None:
    det = Detections.from_boxes([[0, 0, 9, 9]] * 5, ["face", "face", "plate", "qr", "person"],
                                [0.99, 0.9, 0.8, 1.0, 0.87], track_id=[3, -1, 7, 12, 4],
                                identity=["Alice", "Bob", None, None, None],
                                text=[None, None, "KA01AB1234", None, None],
                                payload=[None, None, None, "https://example.org/" + "x" * 60, None])
    assert [_caption(det, i) for i in range(5)] == [
        "#3 Alice",  # recognised and tracked: the name, and which track it is
        "Bob",  # recognised, not tracked
        "#7 KA01AB1234",
        "#12 " + ("https://example.org/" + "x" * 60)[:37] + "...",  # long readings are cut at 40 characters
        "#4 person 0.87",
    ]
