"""How late the GUI thread's event loop runs: a timer that compares each tick's planned and actual time.

A timer started every ``interval_ms`` should fire that often. When something
holds the GUI thread (a slow slot) or Python's GIL (a thread importing torch),
ticks come late; the lateness is what a user feels as a frozen window. The
probe keeps the recent lateness values so the monitor can show them and the
tests can compare a loaded stretch with a calm one.
"""

from __future__ import annotations

import itertools
import time
from collections import deque

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer

#: Tick period: short enough to see a 50 ms freeze, long enough to cost nothing.
INTERVAL_MS = 20
#: Ticks kept: five minutes at 20 ms, so a test can look back over a whole slow model load (about 1 MB).
KEPT = 15000


class LoopProbe(QObject):
    """Measures the GUI event loop's delay with a precise QTimer.

    ``delays_ms()`` are how much later than planned each tick came
    (0 = on time); a window freeze of N ms shows as one delay of N less up
    to one interval.
    """

    def __init__(self, interval_ms: int = INTERVAL_MS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.interval_ms = interval_ms
        self._timer = QTimer(self)
        # A coarse timer may fire up to 5% early or late by design; precise keeps the timer's own jitter out.
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)
        self._delays: deque[tuple[float, float]] = deque(maxlen=KEPT)  # (monotonic time of the tick, delay ms)
        self._last: float | None = None

    # -- control -------------------------------------------------------------------------
    def start(self) -> None:
        """Starts ticking (and forgets no earlier values)."""
        self._last = None
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        self._last = None

    def reset(self) -> None:
        """Forgets the delays measured so far; the next tick starts a new series."""
        self._delays.clear()
        self._last = None

    @property
    def running(self) -> bool:
        return self._timer.isActive()

    def _tick(self) -> None:
        now = time.monotonic()
        if self._last is not None:
            # Qt plans the next tick one interval after this one fired, so the gap past the interval is the delay.
            self._delays.append((now, max(0.0, (now - self._last) * 1000.0 - self.interval_ms)))
        self._last = now

    # -- readings ------------------------------------------------------------------------
    def delays_ms(self, window_s: float | None = None) -> np.ndarray:
        """Delays of the ticks in the last ``window_s`` seconds (all kept ones when None), oldest first."""
        if window_s is None:
            return np.array([d for _, d in self._delays], dtype=float)
        cutoff = time.monotonic() - window_s
        recent = list(itertools.takewhile(lambda td: td[0] >= cutoff, reversed(self._delays)))  # newest first
        return np.array([d for _, d in reversed(recent)], dtype=float)

    def max_ms(self, window_s: float | None = None) -> float:
        """The largest delay in the window (0 before two ticks)."""
        delays = self.delays_ms(window_s)
        return float(delays.max()) if len(delays) else 0.0

    def p95_ms(self, window_s: float | None = None) -> float:
        """The 95th percentile delay in the window (0 before two ticks)."""
        delays = self.delays_ms(window_s)
        return float(np.percentile(delays, 95)) if len(delays) else 0.0

    @property
    def ticks(self) -> int:
        """Delays measured and kept so far."""
        return len(self._delays)
