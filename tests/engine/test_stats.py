"""The rate meter behind fps in and out: real rates for fast and slow pipelines, 0 once frames stop."""

from __future__ import annotations

import pytest

from vision_desk.engine.stats import RateMeter


def meter_after(ticks: list[float]) -> RateMeter:
    meter = RateMeter(window_s=2.0)
    for t in ticks:
        meter.tick(t)
    return meter


@pytest.mark.parametrize(
    ("ticks", "now", "expected"),
    [
        ([i / 30 for i in range(90)], 89 / 30 + 0.01, 30.0),  # 30 fps, read just after a frame
        ([0.0, 2.7, 5.4], 5.5, 1 / 2.7),  # OCR-slow: slower than two frames per window, still its real rate
        ([0.0, 2.7, 5.4], 5.4 + 2.6, 1 / 2.7),  # waiting for the next slow frame, not yet late
        ([0.0, 2.7, 5.4], 5.4 + 5.4, 1 / 5.4),  # that frame is late: the rate falls with the wait
        ([0.0, 2.7, 5.4], 5.4 + 8.2, 0.0),  # no frame for three usual intervals: stalled
        ([i / 30 for i in range(90)], 89 / 30 + 2.1, 0.0),  # a fast pipeline that stopped reads 0 after the window
        ([0.0], 0.1, 0.0),  # one frame has no rate yet
    ],
)
def test_rate_meter(ticks: list[float], now: float, expected: float) -> None:
    assert meter_after(ticks).rate(now) == pytest.approx(expected, rel=0.02, abs=1e-9)
