"""The event-loop delay probe: a blocked GUI thread shows as a late tick, and the monitor shows the delay."""

from __future__ import annotations

import re
import time

from vision_desk.gui.loop_probe import INTERVAL_MS, LoopProbe

BLOCK_MS = 300


def block_gui_thread(ms: float) -> None:
    """Keeps the GUI thread busy (no events run) for at least ``ms`` milliseconds."""
    end = time.monotonic() + ms / 1000
    while time.monotonic() < end:
        pass


def test_a_blocked_event_loop_shows_as_one_late_tick(qtbot) -> None:
    probe = LoopProbe()
    probe.start()
    qtbot.waitUntil(lambda: probe.ticks >= 3, timeout=10000)
    before = probe.ticks
    block_gui_thread(BLOCK_MS)
    qtbot.waitUntil(lambda: probe.ticks > before, timeout=10000)
    # The tick after the block cannot come before the block ends: at least BLOCK_MS after the previous tick,
    # which is one interval late of plan at most (a lower bound every machine meets, however slow).
    assert probe.max_ms() >= BLOCK_MS - INTERVAL_MS
    assert probe.max_ms(window_s=60) == probe.max_ms() and probe.p95_ms() <= probe.max_ms()
    probe.reset()
    assert probe.ticks == 0 and probe.max_ms() == 0.0 and len(probe.delays_ms()) == 0
    probe.stop()
    assert not probe.running


def test_the_monitor_shows_the_gui_delay(qtbot, window) -> None:
    label = window.monitor.numbers["gui_delay"]
    assert window.loop_probe.running
    qtbot.waitUntil(lambda: re.fullmatch(r"\d+ ms", label.text()) is not None, timeout=10000)
    block_gui_thread(BLOCK_MS)
    # The monitor shows the worst delay of the last seconds, so the block is there at the next refresh.
    qtbot.waitUntil(lambda: int(label.text().split()[0]) >= BLOCK_MS - INTERVAL_MS, timeout=10000)
