"""Sinks consume processed frames: the recorder and the exporters."""

from __future__ import annotations

from vision_desk.engine.frame import Frame


class Sink:
    """Base class: ``write`` each processed frame, then ``close`` once.

    ``close(ok=False)`` is called when the run failed; sinks that write to a
    temporary name then leave the final name untouched.
    """

    def attach(self, source, live: bool = False) -> None:  # noqa: ANN001 - Source; avoids an import cycle
        """Called with the opened source before the first frame is written (again when a sink is added).

        ``live`` is true when the run keeps only the newest frame (it drops frames when slow), false
        when it processes every frame in order.
        """

    def write(self, frame: Frame) -> None:
        raise NotImplementedError

    def close(self, ok: bool = True) -> None:
        pass
