"""The unit that flows through the pipeline: an image, its timing and its results."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vision_desk.engine.results import Detections


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
    annotated: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width) of the current image."""
        return self.image.shape[0], self.image.shape[1]

    def add(self, detections: Detections) -> None:
        """Appends objects found by a stage."""
        self.detections = self.detections.merge(detections)

    @property
    def display(self) -> np.ndarray:
        """The image to show: annotated when overlays were drawn."""
        return self.annotated if self.annotated is not None else self.image
