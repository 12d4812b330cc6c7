"""The stage API: one small class per stage, registered by its id.

A stage declares ``id``, ``title``, ``category``, ``help`` and a ``Params``
model, then implements :meth:`Stage.process`. Image-transforming stages
replace ``frame.image``; analysing stages call ``frame.add(detections)`` and
fill ``frame.values``, leaving the image alone. Overlays beyond the generic
boxes/labels/masks are drawn in :meth:`Stage.draw` on a copy at the end.

Stages run on the engine's one processing thread, so their own state needs no
locks. Heavy imports (torch, ultralytics) belong in :meth:`Stage.setup`, so that
listing stages stays instant.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

import numpy as np

from vision_desk.engine.frame import Frame
from vision_desk.engine.params import StageParams, param

#: Every registered stage class by id, filled as stage modules are imported.
REGISTRY: dict[str, type["Stage"]] = {}


class NoParams(StageParams):
    """For stages without parameters."""


class AnalysisParams(StageParams):
    """Parameters of a stage that only analyses (leaves the image alone), so that it may run in an async lane.

    Such a stage must add its objects with its own id as ``source`` and draw
    only from the frame (its ``extras``), since it works on a lane's thread while
    the loop draws; see :mod:`vision_desk.engine.lanes`.
    """

    run: Literal["auto", "sync", "async"] = param(
        "auto", help="async: analyse the newest frame beside the video, whose frames all get the latest results, "
                     "moved with the scene (smooth live view); sync: every frame waits for this stage (complete, "
                     "deterministic output); auto: async in live runs (camera, stream), sync for files and batch.")
    motion_gate: bool = param(
        False, help="When run async: skip the analysis while nothing in view has changed since the last one (as "
                    "Frigate does); its results stay on the frames, growing older. Saves the CPU on a still scene.")


class Stage:
    """Base class of every stage.

    Class attributes:
        id: the short id used in pipeline files and on the command line.
        title: a display name for the GUI.
        category: the family the GUI groups it under (Filters, Detection ...).
        help: one or two sentences; heavy stages say so here.
        Params: the parameter model.
        heavy: slow by nature on a CPU (the GUI marks it).
        values: the per-frame values it writes (``frame.values``), name -> one line.
        columns: the per-object columns it writes (``Detections.data``), name -> one line.

    A name in ``values`` or ``columns`` may hold a part in angle brackets: the
    value of the parameter of that name (``<preset>_count`` is ``red_count``
    when preset is red), or any word (``<name>_in_<class>``); see :func:`output_matches`.
    A per-object count is ``<prefix>_count``, the prefix being the stage id or
    what it finds (``motion_count``).
    """

    id: ClassVar[str] = ""
    title: ClassVar[str] = ""
    category: ClassVar[str] = "Other"
    help: ClassVar[str] = ""
    Params: ClassVar[type[StageParams]] = NoParams
    heavy: ClassVar[bool] = False
    values: ClassVar[dict[str, str]] = {}
    columns: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.id:
            if cls.id in REGISTRY and REGISTRY[cls.id].__qualname__ != cls.__qualname__:
                raise RuntimeError(f"two stages share the id {cls.id!r}: {REGISTRY[cls.id]} and {cls}")
            REGISTRY[cls.id] = cls

    def __init__(self, params: StageParams | None = None) -> None:
        self.params = params if params is not None else self.Params()

    @classmethod
    def in_frame_order(cls, params: StageParams) -> bool:
        """Whether, with these parameters, the stage must run on the frame loop, never in an async lane.

        A lane hands back only the rows a stage added (their ``source`` is its id), so a stage that writes
        onto the objects of another stage (ocr or codes reading inside detect's boxes) says so here, and its
        ``run: auto`` stays in order in live runs too.
        """
        return False

    @classmethod
    def carries_state(cls, params: StageParams) -> bool:
        """Whether, with these parameters, a frame's results depend on earlier frames (a tracker, a counter, a
        background model, a model run every N frames).

        A batch cuts long files into segments only for pipelines with no such stage. By default a stage
        carries state when it has state to reset; a stage whose state only matters for some settings says so.
        """
        return cls.reset is not Stage.reset

    # -- lifecycle (all called on the processing thread) ---------------------
    def setup(self) -> None:
        """Loads models or other resources; raise VisionDeskError with a clear message on failure."""

    def process(self, frame: Frame) -> None:
        """Transforms or analyses one frame in place."""
        raise NotImplementedError(f"stage {self.id!r} does not implement process()")

    def batch_size(self) -> int:
        """How many consecutive frames this stage would like at once in lossless runs (1: one at a time).

        Asked after :meth:`setup`. Stages that gain from batched inference (a
        GPU model) return more and override :meth:`process_batch`.
        """
        return 1

    def process_batch(self, frames: list[Frame]) -> None:
        """Processes consecutive frames of one source, in order; the default calls :meth:`process` on each.

        Overlays must then come from each frame's own ``extras`` (not from stage
        state), because every frame of the batch is drawn after the last one is processed.
        """
        for frame in frames:
            self.process(frame)

    def draw(self, canvas: np.ndarray, frame: Frame) -> None:
        """Draws stage-specific overlays (beyond detections) onto canvas, in place."""

    def reset(self) -> None:
        """Forgets per-video state (trackers, background models); called between files and on seek."""

    def update_params(self, params: StageParams) -> None:
        """Applies new parameters; stages whose state depends on them override this to reset."""
        self.params = params

    def close(self) -> None:
        """Releases resources."""

    def summary(self) -> str:
        """A few words on what the stage is running with, once set up (model, input size, device), for the
        monitor; empty for stages with nothing to say. Called from other threads: read attributes only."""
        return ""


def output_matches(declared: str, name: str, params: StageParams | None = None) -> bool:
    """Whether a value or column name a stage wrote fits one it declares.

    Args:
        declared: an exact name or a pattern, e.g. ``<preset>_count`` or ``<name>_in_<class>``.
        name: the name written.
        params: the stage's parameters; a ``<part>`` naming one of them must be its value, any other
            ``<part>`` is any text.
    """
    fields = type(params).model_fields if params is not None else {}
    pieces = re.split(r"<(\w+)>", declared)  # literal, placeholder, literal, ...
    pattern = "".join(
        re.escape(piece) if i % 2 == 0 else re.escape(str(getattr(params, piece))) if piece in fields else ".+"
        for i, piece in enumerate(pieces)
    )
    return re.fullmatch(pattern, name) is not None


def stage_class(stage_id: str) -> type[Stage]:
    """The stage class registered under an id: its own module is loaded, or every stage module if need be."""
    from vision_desk.stages import load_all, load_declaring

    if stage_id not in REGISTRY:
        load_declaring(stage_id)
    if stage_id not in REGISTRY:
        load_all()
    try:
        return REGISTRY[stage_id]
    except KeyError:
        from difflib import get_close_matches

        near = get_close_matches(stage_id, REGISTRY, n=1)
        hint = f" Did you mean '{near[0]}'?" if near else " Run 'vision-desk stages' to list them."
        from vision_desk.errors import PipelineError, one_line

        raise PipelineError(f"unknown stage '{one_line(stage_id)}'.{hint}") from None


def all_stages() -> dict[str, type[Stage]]:
    """Every stage class, sorted by category then id."""
    from vision_desk.stages import load_all

    load_all()
    return dict(sorted(REGISTRY.items(), key=lambda kv: (kv[1].category, kv[0])))
