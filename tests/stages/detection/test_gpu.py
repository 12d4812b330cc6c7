"""The detect stage on a CUDA GPU: half precision (the default there) finds what full precision finds."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.stages.detection.conftest import IOU_BAR, stage_spec
from tests.stages.detection.test_detect import held_out, run_frames  # noqa: F401 - held_out is a fixture
from vision_desk.engine.results import box_iou

pytestmark = pytest.mark.gpu


def test_fp16_detections_agree_with_fp32(shapes_model: Path, held_out) -> None:
    """At least 99% of the FP32 boxes have an FP16 box of the same class at IoU >= 0.9 (and the other way round)."""
    frames = held_out[0]
    full = run_frames([stage_spec(shapes_model, backend="pytorch", device="cuda", half=False, confidence=0.25)], frames)
    half = run_frames([stage_spec(shapes_model, backend="pytorch", device="cuda", half=True, confidence=0.25)], frames)
    assert "cuda" in full[0].events[0] and "cuda" in half[0].events[0]

    def share_matched(xs, ys) -> tuple[int, int]:  # noqa: ANN001
        matched = total = 0
        for a, b in zip(xs, ys):
            total += len(a.detections)
            if len(a.detections) and len(b.detections):
                m = box_iou(a.detections.xyxy, b.detections.xyxy)
                same = a.detections.class_id[:, None] == b.detections.class_id[None, :]
                matched += int(((m >= IOU_BAR) & same).any(1).sum())
        return matched, total

    for name, (matched, total) in {"fp32 in fp16": share_matched(full, half), "fp16 in fp32": share_matched(half, full)}.items():
        print(f"{name}: {matched}/{total} boxes matched")
        assert total > 100 and matched >= 0.99 * total, f"{name}: {matched}/{total}"
