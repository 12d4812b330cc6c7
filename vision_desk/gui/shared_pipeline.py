"""One pipeline for every tile: the editor's edits, made on the focused tile's pipeline, repeated on the others'.

Each tile keeps a pipeline of its own (trackers, counters and background models
are per stream); only the chain and its parameters are shared. A slot id
belongs to one pipeline, so an edit is carried to the others by position, which
is the same in all of them because they started from the same spec and receive
the same edits in the same order.
"""

from __future__ import annotations

from typing import Any, Callable

from vision_desk.engine.pipeline import Pipeline, PipelineSpec


class MirroredPipeline:
    """The edit interface of :class:`Pipeline` (what the editor calls), applied to ``primary`` and ``followers``.

    Everything else (``errors``, ``stage_rows``, ``is_enabled`` ...) is the primary's.
    """

    def __init__(self, primary: Pipeline, followers: list[Pipeline]) -> None:
        self.primary = primary
        self.followers = followers

    def __getattr__(self, name: str) -> Any:
        return getattr(self.primary, name)

    def _each(self, slot_id: int, edit: Callable[[Pipeline, int], None]) -> None:
        ids = self.primary.slot_ids()
        edit(self.primary, slot_id)  # first: it raises the user's error for a bad edit, and nothing else is touched
        pos = ids.index(slot_id)
        for pipeline in self.followers:
            theirs = pipeline.slot_ids()
            if len(theirs) == len(ids):
                edit(pipeline, theirs[pos])

    def set_params(self, slot_id: int, **changes: Any) -> None:
        self._each(slot_id, lambda p, i: p.set_params(i, **changes))

    def set_enabled(self, slot_id: int, enabled: bool) -> None:
        self._each(slot_id, lambda p, i: p.set_enabled(i, enabled))

    def remove(self, slot_id: int) -> None:
        self._each(slot_id, lambda p, i: p.remove(i))

    def move(self, slot_id: int, index: int) -> None:
        self._each(slot_id, lambda p, i: p.move(i, index))

    def insert(self, index: int, stage_id: str, params: dict[str, Any] | None = None, enabled: bool = True) -> int:
        count = len(self.primary)
        slot_id = self.primary.insert(index, stage_id, params, enabled)
        for pipeline in self.followers:
            if len(pipeline) == count:
                pipeline.insert(index, stage_id, params, enabled)
        return slot_id

    def replace(self, spec: PipelineSpec) -> list[int]:
        ids = self.primary.replace(spec)
        for pipeline in self.followers:
            pipeline.replace(spec)
        return ids
