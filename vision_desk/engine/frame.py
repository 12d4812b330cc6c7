"""The unit that flows through the pipeline: an image, its timing and its results."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vision_desk.engine.results import Detections


@dataclass(frozen=True)
class ResultOrigin:
    """The frame a stage's results on some frame were computed on.

    A stage that analyses only every N-th frame (and, later, one that runs
    beside the frame loop) puts its latest results on the frames in between;
    the origin tells readers (the tracker, exports) how old those results are.

    Attributes:
        stage: id of the stage that produced the results.
        frame_index: index of the frame they were computed on.
        capture_time: that frame's ``capture_time``.
    """

    stage: str
    frame_index: int
    capture_time: float

    def fresh_on(self, frame: Frame) -> bool:
        """Whether the results were computed on ``frame`` itself."""
        # Both, because a seek repeats frame indices and a test may build frames with one capture time.
        return self.frame_index == frame.index and self.capture_time == frame.capture_time

    def age_ms(self, frame: Frame) -> float:
        """How much earlier than ``frame`` (capture time, milliseconds) the results were computed; 0 when fresh."""
        return 0.0 if self.fresh_on(frame) else (frame.capture_time - self.capture_time) * 1000.0


@dataclass
class Frame:
    """One frame and everything the stages found in it.

    Attributes:
        image: HxWx3 uint8 BGR; image-transforming stages replace it.
        index: frame number within the source (0-based, as decoded).
        timestamp: source presentation time in seconds (file position, or wall
            time since the source started for live sources).
        capture_time: ``time.perf_counter()`` when the reader got the frame;
            end-to-end latency is measured from it.
        source_id: the (credential-masked) source URI.
        detections: objects found by analysing stages.
        values: per-frame numbers and strings (counts, flags, scores).
        events: one-off messages (a new code, a new text) for logs and exports.
        extras: per-stage private data that a stage's ``draw`` needs (histograms,
            flow fields); never exported.
        origins: for each stage (by id) whose results may be carried from an
            earlier frame, where this frame's results come from; see
            :meth:`mark` and :meth:`origin`.
        annotated: the image with overlays, filled in after the last stage.
    """

    image: np.ndarray
    index: int
    timestamp: float
    capture_time: float = field(default_factory=time.perf_counter)
    source_id: str = ""
    detections: Detections = field(default_factory=Detections)
    values: dict[str, Any] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, ResultOrigin] = field(default_factory=dict)
    annotated: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width) of the current image."""
        return self.image.shape[0], self.image.shape[1]

    def add(self, detections: Detections) -> None:
        """Appends objects found by a stage."""
        self.detections = self.detections.merge(detections)

    def mark(self, stage_id: str, carried: ResultOrigin | None = None) -> ResultOrigin:
        """Records where ``stage_id``'s results on this frame come from and returns that origin.

        Args:
            stage_id: the producing stage's id.
            carried: the origin of the results carried onto this frame, as an
                earlier ``mark`` returned it; None when they were computed on
                this frame.
        """
        origin = carried if carried is not None else ResultOrigin(stage_id, self.index, self.capture_time)
        self.origins[stage_id] = origin
        return origin

    def origin(self, stage_id: str) -> ResultOrigin | None:
        """Where ``stage_id``'s results on this frame come from, or None when that stage put none here."""
        return self.origins.get(stage_id)

    @property
    def display(self) -> np.ndarray:
        """The image to show: annotated when overlays were drawn."""
        return self.annotated if self.annotated is not None else self.image
