"""Typed per-frame results: a container of parallel arrays, one row per object.

In the style of Roboflow supervision's ``Detections``: boxes, scores, labels and
track ids are arrays of equal length, and any further per-object column (text,
identity, code payload, polygon, keypoints...) lives in ``data`` with the same
length. Stages append with :meth:`Detections.merge` and filter with boolean
masks; annotators and exporters read the same arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np


def _column(values: Iterable[Any] | np.ndarray, n: int, dtype: Any = object) -> np.ndarray:
    if dtype is object:
        # one object per row, also when every row is an equal-length list (a polygon, a point), which
        # np.asarray would stack into a 2-D or 3-D array that cannot be merged with other stages' columns
        rows = list(values)
        arr = np.empty(len(rows), dtype=object)
        for i, row in enumerate(rows):
            arr[i] = row
    else:
        arr = np.asarray(values, dtype=dtype) if not isinstance(values, np.ndarray) else values
    if len(arr) != n:
        raise ValueError(f"column has {len(arr)} rows, expected {n}")
    return arr


@dataclass
class Detections:
    """Objects found in one frame.

    Attributes:
        xyxy: (N, 4) float32 boxes in pixels.
        score: (N,) float32 confidences (1.0 where a stage has none).
        label: (N,) object array of class names.
        class_id: (N,) int32 class ids (-1 where unknown).
        track_id: (N,) int64 track ids (-1 where untracked).
        mask: optional (N, H, W) bool masks.
        keypoints: optional (N, K, 3) float32 (x, y, confidence).
        data: per-object extra columns, each of length N (object arrays).
        source: (N,) object array naming the stage that produced each row.
    """

    xyxy: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    score: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    label: np.ndarray = field(default_factory=lambda: np.zeros(0, object))
    class_id: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    track_id: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    mask: np.ndarray | None = None
    keypoints: np.ndarray | None = None
    data: dict[str, np.ndarray] = field(default_factory=dict)
    source: np.ndarray = field(default_factory=lambda: np.zeros(0, object))

    @classmethod
    def from_boxes(
        cls,
        xyxy: Iterable[Iterable[float]] | np.ndarray,
        label: str | Iterable[str],
        score: Iterable[float] | np.ndarray | None = None,
        *,
        class_id: Iterable[int] | np.ndarray | None = None,
        track_id: Iterable[int] | np.ndarray | None = None,
        mask: np.ndarray | None = None,
        keypoints: np.ndarray | None = None,
        source: str = "",
        **data: Iterable[Any],
    ) -> "Detections":
        """Builds detections from boxes plus optional columns.

        Args:
            xyxy: boxes as (x1, y1, x2, y2) rows.
            label: one label for all rows, or one per row.
            score: confidences; 1.0 when omitted.
            class_id, track_id: optional integer columns.
            mask, keypoints: optional per-object arrays.
            source: the id of the stage that found them.
            **data: extra per-object columns (``text=[...]``, ``identity=[...]``).
        """
        boxes = np.asarray(xyxy, dtype=np.float32).reshape(-1, 4)
        n = len(boxes)
        labels = [label] * n if isinstance(label, str) else list(label)
        return cls(
            xyxy=boxes,
            score=np.ones(n, np.float32) if score is None else np.asarray(score, np.float32).reshape(n),
            label=_column(labels, n),
            class_id=np.full(n, -1, np.int32) if class_id is None else np.asarray(class_id, np.int32).reshape(n),
            track_id=np.full(n, -1, np.int64) if track_id is None else np.asarray(track_id, np.int64).reshape(n),
            mask=None if mask is None else np.asarray(mask, bool).reshape(n, *np.shape(mask)[1:]),
            keypoints=None if keypoints is None else np.asarray(keypoints, np.float32).reshape(n, *(np.shape(keypoints)[1:] or (0, 3))),
            data={k: _column(list(v), n) for k, v in data.items()},
            source=_column([source] * n, n),
        )

    def __len__(self) -> int:
        return len(self.xyxy)

    @property
    def empty(self) -> bool:
        return len(self) == 0

    def __getitem__(self, index: np.ndarray | slice | list[int]) -> "Detections":
        """Rows selected by a boolean mask, an index list or a slice."""
        if isinstance(index, (int, np.integer)):
            index = [int(index)]
        return Detections(
            xyxy=self.xyxy[index],
            score=self.score[index],
            label=self.label[index],
            class_id=self.class_id[index],
            track_id=self.track_id[index],
            mask=None if self.mask is None else self.mask[index],
            keypoints=None if self.keypoints is None else self.keypoints[index],
            data={k: v[index] for k, v in self.data.items()},
            source=self.source[index],
        )

    def where(self, *, source: str | None = None, label: str | None = None) -> "Detections":
        """Rows from one stage and/or with one label."""
        keep = np.ones(len(self), bool)
        if source is not None:
            keep &= self.source == source
        if label is not None:
            keep &= self.label == label
        return self[keep]

    def rows(self, source: str = "", label: str = "") -> np.ndarray:
        """Indices of the objects of stage ``source`` labelled ``label`` (in any case); an empty filter takes every row.

        The selection stages that work on other stages' objects share (``track``'s ``source``, ``classify``'s
        ``of_class``, the text stages' ``source`` and ``of_class``).
        """
        keep = np.ones(len(self), bool)
        if source:
            keep &= self.source == source
        if label:
            keep &= np.array([str(name).lower() == label.lower() for name in self.label], bool)
        return np.flatnonzero(keep)

    def merge(self, other: "Detections") -> "Detections":
        """All rows of self followed by all rows of other; missing columns are filled with None."""
        if other.empty:
            return self
        if self.empty:
            return other
        n, m = len(self), len(other)
        keys = list(dict.fromkeys([*self.data, *other.data]))
        data = {
            k: np.concatenate([self.data.get(k, np.full(n, None, object)), other.data.get(k, np.full(m, None, object))])
            for k in keys
        }
        return Detections(
            xyxy=np.concatenate([self.xyxy, other.xyxy]),
            score=np.concatenate([self.score, other.score]),
            label=np.concatenate([self.label, other.label]),
            class_id=np.concatenate([self.class_id, other.class_id]),
            track_id=np.concatenate([self.track_id, other.track_id]),
            mask=_merge_optional(self.mask, other.mask, n, m),
            keypoints=_merge_optional(self.keypoints, other.keypoints, n, m),
            data=data,
            source=np.concatenate([self.source, other.source]),
        )

    def to_records(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per object (the export format's ``objects`` list)."""
        records = []
        for i in range(len(self)):
            rec: dict[str, Any] = {
                "xyxy": [round(float(v), 2) for v in self.xyxy[i]],
                "label": str(self.label[i]),
                "score": round(float(self.score[i]), 4),
                "track_id": int(self.track_id[i]) if self.track_id[i] >= 0 else None,
            }
            if self.class_id[i] >= 0:
                rec["class_id"] = int(self.class_id[i])
            if self.source[i]:
                rec["stage"] = str(self.source[i])
            if self.keypoints is not None and not np.isnan(self.keypoints[i]).all():
                rec["keypoints"] = np.round(self.keypoints[i].astype(np.float64), 2).tolist()
            for key, col in self.data.items():
                if col[i] is not None:
                    rec[key] = to_jsonable(col[i])
            records.append(rec)
        return records


def box_iou(a: np.ndarray | Iterable[float], b: np.ndarray | Iterable[float]) -> np.ndarray:
    """Pairwise intersection over union of xyxy boxes: (N, 4) and (M, 4) give an (N, M) float32 matrix.

    One box of shape (4,) counts as (1, 4); no boxes on a side give an empty matrix; boxes whose union has
    no area (both zero-area) have IoU 0. The arithmetic is supervision's ``box_iou_batch``.
    """
    from supervision import box_iou_batch  # half a second to import: paid when boxes are first compared

    # float64 before supervision sees them: older versions (0.26 among them) compute in the input dtype, where int32 areas overflow
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    return box_iou_batch(a, b).astype(np.float32, copy=False)


def _merge_optional(a: np.ndarray | None, b: np.ndarray | None, n: int, m: int) -> np.ndarray | None:
    """Concatenates optional per-object arrays, padding the side that lacks them."""
    if a is None and b is None:
        return None
    if a is not None and b is not None and a.shape[1:] == b.shape[1:]:
        return np.concatenate([a, b])
    ref = a if a is not None else b
    assert ref is not None
    if ref.dtype == bool:
        pad_a = a if a is not None else np.zeros((n, *ref.shape[1:]), bool)
        pad_b = b if b is not None else np.zeros((m, *ref.shape[1:]), bool)
    else:
        pad_a = a if a is not None else np.full((n, *ref.shape[1:]), np.nan, ref.dtype)
        pad_b = b if b is not None else np.full((m, *ref.shape[1:]), np.nan, ref.dtype)
    if pad_a.shape[1:] != pad_b.shape[1:]:
        # Different keypoint layouts (e.g. 17-point pose and 5-point faces) cannot share an array.
        return None
    return np.concatenate([pad_a, pad_b])


def to_jsonable(value: Any) -> Any:
    """Converts numpy scalars/arrays and tuples into plain JSON types."""
    if isinstance(value, np.ndarray):
        # float64 before rounding: a rounded float32 prints as 142.25999450683594
        return np.round(value.astype(np.float64), 3).tolist() if value.dtype.kind == "f" else value.tolist()
    if isinstance(value, (np.floating, float)):
        return round(float(value), 4)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    return value
