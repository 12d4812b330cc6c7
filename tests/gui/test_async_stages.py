"""A stage that takes 2 s to load and 2 s per frame, added to the running window: the video plays on, the
window stays responsive, and the monitor says loading…, then async with the age of its results."""

from __future__ import annotations

import time

import numpy as np

from tests.gui.test_journeys import BASELINE_TICKS, FREEZE_FACTOR, FREEZE_SLACK_MS, WAIT_MS
from vision_desk.engine.frame import Frame
from vision_desk.engine.results import Detections
from vision_desk.engine.stage import AnalysisParams, Stage


class TwoSecondsStage(Stage):
    """Loads for 2 s, then takes 2 s per frame to find the frame's brightest 64x64 block."""

    id = "test_two_seconds"
    title = "Two seconds (tests)"
    category = "Tests"
    Params = AnalysisParams
    values = {"test_two_seconds_level": "Mean level of the brightest block."}

    def setup(self) -> None:
        time.sleep(2.0)

    def process(self, frame: Frame) -> None:
        time.sleep(2.0)
        gray = frame.image.mean(axis=2)
        h, w = (s // 64 * 64 for s in gray.shape)
        blocks = gray[:h, :w].reshape(h // 64, 64, w // 64, 64).mean(axis=(1, 3))
        y, x = np.unravel_index(int(blocks.argmax()), blocks.shape)
        frame.add(Detections.from_boxes([[x * 64, y * 64, x * 64 + 64, y * 64 + 64]], "bright", source=self.id))
        frame.values["test_two_seconds_level"] = round(float(blocks.max()), 1)


def bar_text(window, stage_id: str) -> str:  # noqa: ANN001
    return dict(window.monitor.stage_bar_texts()).get(stage_id, "")


def test_a_two_second_stage_loads_and_runs_beside_a_playing_video(qtbot, window) -> None:
    probe = window.loop_probe
    probe.reset()
    qtbot.waitUntil(lambda: probe.ticks >= BASELINE_TICKS, timeout=WAIT_MS)
    calm = probe.delays_ms()
    bound = FREEZE_FACTOR * float(calm.max()) + FREEZE_SLACK_MS

    window.editor.add_stage("test_two_seconds")
    probe.reset()
    shown = window.frames_shown
    qtbot.waitUntil(lambda: bar_text(window, "test_two_seconds") == "loading…", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.frames_shown >= shown + 10, timeout=WAIT_MS)  # the video plays while it loads
    # loaded, analysed once, and its result is on the frames shown since
    qtbot.waitUntil(lambda: window.last_frame.origin("test_two_seconds") is not None, timeout=WAIT_MS)
    first = window.last_frame.origin("test_two_seconds")
    shown = window.frames_shown
    qtbot.waitUntil(lambda: window.frames_shown >= shown + 15, timeout=WAIT_MS)  # frames pass during the next analysis
    qtbot.waitUntil(lambda: window.last_frame.origin("test_two_seconds") != first, timeout=WAIT_MS)
    frame = window.last_frame
    assert frame.values["test_two_seconds_level"] > 0
    assert frame.origin("test_two_seconds").frame_index < frame.index  # results from an earlier frame, named
    qtbot.waitUntil(lambda: bar_text(window, "test_two_seconds").startswith("async ")
                    and bar_text(window, "test_two_seconds").endswith(" old"), timeout=WAIT_MS)
    delays = probe.delays_ms()
    worst = np.sort(delays)[-5:].round().tolist()
    assert delays.max() <= bound, (
        f"the window froze while the 2 s stage loaded and ran: worst event-loop delays {worst} ms over "
        f"{len(delays)} ticks; bound {bound:.0f} ms (calm worst {calm.max():.0f} ms)")
