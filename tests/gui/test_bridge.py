"""Frame handoff: however fast the engine runs, the GUI thread has at most one frame waiting."""

from __future__ import annotations

import time

from vision_desk.engine.runner import Engine
from vision_desk.gui.bridge import FrameBridge


def test_fast_engine_leaves_no_backlog(qtbot) -> None:
    bridge = FrameBridge()
    taken = []
    bridge.connect_view(lambda: taken.append(bridge.take()))
    pushed = []

    def on_frame(frame) -> None:  # noqa: ANN001
        pushed.append(frame.index)
        bridge.push(generation, frame)

    generation = bridge.new_generation()
    engine = Engine("demo:?fps=500", on_frame=on_frame, annotate=False)
    engine.start()
    deadline = time.monotonic() + 30
    while len(pushed) < 20 and time.monotonic() < deadline:
        time.sleep(0.05)  # the GUI thread is busy: no events are processed while the engine produces
    engine.stop()
    assert engine.join(10)
    assert len(pushed) >= 20
    assert bridge.pushed == len(pushed) and bridge.notified == 1 and bridge.pending
    qtbot.waitUntil(lambda: not bridge.pending, timeout=10000)  # the event loop runs the one notification
    assert len(taken) == 1  # one notification (notified == 1 above), not one per frame
    assert taken[0].index == pushed[-1]  # and it carries the newest frame
    assert not bridge.pending


def test_frames_of_a_replaced_engine_are_ignored(qtbot) -> None:
    from vision_desk.engine.frame import Frame
    import numpy as np

    bridge = FrameBridge()
    old = bridge.new_generation()
    new = bridge.new_generation()
    image = np.zeros((4, 4, 3), np.uint8)
    bridge.push(old, Frame(image, 1, 0.0))
    assert bridge.take() is None
    bridge.push(new, Frame(image, 2, 0.0))
    assert bridge.take().index == 2
