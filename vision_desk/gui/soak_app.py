"""``vision-desk soak --gui``: the soak run inside the real app, window, painting and all.

The app is started as ``vision-desk gui SOURCE --pipeline F`` (or
``--layout F``: a wall) starts it, and closed after the run. Every interval the
engines of all its tiles are sampled as the headless soak samples its own
(:func:`vision_desk.engine.soak.take_sample`, which adds a wall's tiles up),
with two figures only the app has: frames painted on screen, and the GUI event
loop's worst lateness since the last sample (:class:`LoopProbe`), which is what
a user feels as a frozen window.
"""

from __future__ import annotations

import argparse
import time
from typing import Callable

from vision_desk.engine.soak import SoakSample, take_sample
from vision_desk.errors import VisionDeskError


def soak_in_app(source: str | None, pipeline: str | None, seconds: float, interval_s: float,
                on_sample: Callable[[SoakSample], None], screenshot: str | None = None,
                layout: str | None = None) -> list[SoakSample]:
    """Runs the app on ``source`` with the pipeline file ``pipeline``, or on the wall ``layout`` (a file or a
    saved layout's name), for ``seconds``; returns the samples.

    Raises VisionDeskError when the app cannot start (a bad pipeline file) or the source never ran.
    """
    from PySide6.QtCore import QTimer

    from vision_desk.gui.app import run_app
    from vision_desk.gui.loop_probe import LoopProbe

    samples: list[SoakSample] = []

    def watch(window) -> None:  # noqa: ANN001 - MainWindow
        probe = LoopProbe(parent=window)
        probe.start()
        started = time.monotonic()

        def sample() -> None:
            tiles = [t for t in window.wall.tiles if t.session.engine is not None]
            if not tiles:
                return  # nothing open yet (or no longer): no figures to take
            samples.append(take_sample([t.session.engine for t in tiles], time.monotonic() - started,
                                       frames_shown=sum(t.frames_shown for t in tiles),
                                       gui_late_max_ms=round(probe.max_ms(interval_s), 1)))
            on_sample(samples[-1])

        timer = QTimer(window)
        timer.timeout.connect(sample)
        timer.start(int(interval_s * 1000))

    args = argparse.Namespace(source=source, pipeline=pipeline, layout=layout, theme=None, screenshot=screenshot,
                              quit_after=seconds + interval_s / 2)  # the last interval's sample is taken first
    if run_app(args, on_window=watch) != 0:
        raise VisionDeskError("the app did not start; the message above says why.")
    if not any(s.frames for s in samples):
        raise VisionDeskError(f"no frame was analysed in the app in {seconds:.0f} s; check the source and pipeline.")
    return samples
