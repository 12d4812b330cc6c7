"""Pipeline files (YAML) and the live, editable chain of stages.

A :class:`Pipeline` is owned by the engine's processing thread. Other threads
(the GUI, the CLI) never touch its stages directly: they submit edits, which
the processing thread applies between two frames. That keeps stages lock-free
and makes every edit take effect atomically at a frame boundary.
"""

from __future__ import annotations

import copy
import itertools
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import ValidationError

from vision_desk.config_files import read_yaml
from vision_desk.engine.frame import Frame
from vision_desk.engine.lanes import Carry, Lane, set_up, snapshot, torch_threads_per_lane
from vision_desk.engine.motion import SmallGray
from vision_desk.engine.params import StageParams, format_validation_error, parse_cli_value, shown
from vision_desk.engine.stage import Stage, stage_class
from vision_desk.errors import ModelMissingError, PipelineError, VisionDeskError, one_line


@dataclass
class StageSpec:
    """One stage as written in a pipeline file."""

    stage: str
    params: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"stage": self.stage, "params": dict(self.params)}
        if not self.enabled:
            out["enabled"] = False
        return out


@dataclass
class PipelineSpec:
    """A whole pipeline file: a name, an optional default source and the stages in order.

    ``notices`` are one-line messages for the user about a file that loaded but
    should be updated (an old parameter name); they are not part of the file.
    """

    name: str = "untitled"
    stages: list[StageSpec] = field(default_factory=list)
    source: str | None = None
    notices: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.source:
            out["source"] = self.source
        out["stages"] = [s.as_dict() for s in self.stages]
        return out

    def save(self, path: str | Path) -> None:
        """Writes the pipeline as YAML."""
        Path(path).write_text(yaml.safe_dump(self.as_dict(), sort_keys=False, allow_unicode=True), encoding="utf-8")


def load_spec(path: str | Path) -> PipelineSpec:
    """Reads and validates a pipeline file; every problem names the file, the stage and the parameter."""
    path = Path(path)
    if not path.is_file():
        raise PipelineError(f"{path}: pipeline file not found; check the path or pick one from pipelines/.")
    return spec_from_dict(read_yaml(path, "pipeline file", PipelineError), str(path))


def preset_source(source: str, path: Path) -> str:
    """A pipeline file's ``source:``, a relative file path taken from the file's folder when it is there (the app
    and ``vision-desk run`` alike)."""
    beside = path.parent / source
    if "://" not in source and not Path(source).is_absolute() and beside.exists():
        return str(beside)
    return source


def spec_from_dict(data: Any, where: str = "pipeline") -> PipelineSpec:
    """Validates a parsed pipeline (a dict as in the YAML file)."""
    if not isinstance(data, dict) or not isinstance(data.get("stages"), list):
        raise PipelineError(f"{where}: expected a mapping with a 'stages' list (see pipelines/ for examples).")
    unknown = set(data) - {"name", "stages", "source", "description"}
    if unknown:
        raise PipelineError(f"{where}: unknown top-level key(s) {_keys(unknown)}; allowed are name, source, stages.")
    if data.get("source") is not None and not isinstance(data["source"], (str, int)):
        raise PipelineError(f"{where}: 'source' must be a source URI such as demo: or clip.mp4.")
    specs = []
    notices: list[str] = []
    for i, entry in enumerate(data["stages"], start=1):
        if not isinstance(entry, dict) or "stage" not in entry:
            raise PipelineError(f"{where}: stage {i} must be a mapping with a 'stage' key.")
        if not isinstance(entry["stage"], str):
            raise PipelineError(f"{where}: stage {i}: 'stage' must be a stage id such as blur.")
        sid = entry["stage"]
        extra = set(entry) - {"stage", "params", "enabled"}
        if extra:
            raise PipelineError(f"{where}: stage {i} '{one_line(sid)}' has unknown key(s) {_keys(extra)}; allowed are stage, params, enabled.")
        params = entry.get("params") or {}
        if not isinstance(params, dict):
            raise PipelineError(f"{where}: stage {i} '{one_line(sid)}': 'params' must be a mapping.")
        if not all(isinstance(name, str) for name in params):
            raise PipelineError(f"{where}: stage {i} '{one_line(sid)}': parameter names must be text, "
                                f"not {_keys(n for n in params if not isinstance(n, str))}.")
        enabled = entry.get("enabled", True)
        if not isinstance(enabled, bool):
            raise PipelineError(f"{where}: stage {i} '{one_line(sid)}': 'enabled' must be true or false.")
        try:
            cls = stage_class(sid)
        except PipelineError as err:
            raise PipelineError(f"{where}: stage {i}: {err}") from None
        stage_where = f"{where}: stage {i} '{one_line(sid)}'"
        validate_params(cls, params, stage_where)
        params, renamed = cls.Params.upgrade_names(params)  # the spec keeps the new names, so saving updates the file
        notices += [f"{stage_where}: parameter '{old}' is now '{new}'; the file still loads, "
                    f"write '{new}' in it (or save it from the app) to update it." for old, new in renamed]
        specs.append(StageSpec(sid, params, enabled))
    return PipelineSpec(name=str(data.get("name") or "untitled"), stages=specs, source=data.get("source"), notices=notices)


def _keys(keys: Any) -> list[str]:
    """Keys from a file, sorted and printable for a message, whatever their types (YAML keys may be numbers)."""
    return sorted(one_line(key) for key in keys)


def upgrade_names(cls: type[Stage], params: dict[str, Any], where: str) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """A copy of the parameters under their current names and the (old, new) names replaced (see
    ``StageParams.old_names``); PipelineError names where a parameter is given under both names."""
    try:
        return cls.Params.upgrade_names(params)
    except ValueError as err:
        raise PipelineError(f"{where}: {err}.") from None


def validate_params(cls: type[Stage], params: dict[str, Any], where: str) -> StageParams:
    """Builds a stage's parameter model, raising PipelineError that names where and which parameter."""
    params, renamed = upgrade_names(cls, params, where)
    try:
        return cls.Params(**params)
    except ValidationError as err:
        raise PipelineError(format_validation_error(err, where, {new: old for old, new in renamed})) from None


def apply_overrides(spec: PipelineSpec, overrides: list[str]) -> PipelineSpec:
    """Applies ``stage.param=value`` overrides (``stage`` may be ``id`` or ``id#N`` for the N-th of that id)."""
    spec = copy.deepcopy(spec)
    for item in overrides:
        key, sep, raw = item.partition("=")
        target, dot, name = key.partition(".")
        if not sep or not dot or not name:
            raise PipelineError(f"--set {shown(item)}: expected STAGE.PARAM=VALUE, e.g. --set blur.ksize=7.")
        sid, _, nth_text = target.partition("#")
        matches = [s for s in spec.stages if s.stage == sid]
        if not matches:
            raise PipelineError(f"--set {shown(item)}: the pipeline has no stage '{one_line(sid)}'; its stages are {[s.stage for s in spec.stages]}.")
        nth = int(nth_text) if nth_text.isascii() and nth_text.isdigit() else 1  # not int('²')
        if not 1 <= nth <= len(matches):
            raise PipelineError(f"--set {shown(item)}: the pipeline has {len(matches)} '{sid}' stage(s).")
        entry = matches[nth - 1]
        cls = stage_class(sid)
        new = cls.Params.old_names.get(name)
        if new is not None:  # the later --set wins over the file's value, whichever name the file used
            spec.notices.append(f"--set {shown(item)}: parameter '{name}' of stage '{sid}' is now '{new}'; "
                                f"the value was set, write --set {target}.{new}=... to update the command.")
            name = new
        entry.params[name] = parse_cli_value(raw)
        validate_params(cls, entry.params, f"--set {shown(item)}: stage '{sid}'")
    return spec


@dataclass
class StageTiming:
    """Rolling processing times of one stage, in milliseconds."""

    samples: deque = field(default_factory=lambda: deque(maxlen=240))

    def add(self, ms: float) -> None:
        self.samples.append(ms)

    def summary(self) -> tuple[float, float, float]:
        """Mean, 95th percentile and maximum of the recent samples.

        The maximum is what shows a stage that works every N frames (OCR,
        faces): its slow frames are too rare to reach the 95th percentile.
        """
        if not self.samples:
            return 0.0, 0.0, 0.0
        arr = np.fromiter(self.samples, float)
        return float(arr.mean()), float(np.percentile(arr, 95)), float(arr.max())


#: Slot ids are unique in the process, so a stats row from a pipeline replaced since never names a stage of the new one.
_slot_ids = itertools.count(1)


class StageSlot:
    """A stage in the chain with its enabled flag, timing and last failure, known by an id that never changes.

    ``wanted_params`` and ``wanted_enabled`` are what the last edit asked for
    (written by any thread under the pipeline's lock); ``params`` (what the
    stage has or its lane will give it next) and ``enabled`` are what runs,
    brought in line by :meth:`Pipeline.apply_edits`.

    ``lane`` is the thread that owns the stage while it runs async or loads in
    the background; ``carry`` puts that lane's latest results on each frame.
    """

    def __init__(self, stage: Stage, enabled: bool = True) -> None:
        self.id = next(_slot_ids)
        self.stage = stage
        self.enabled = enabled
        self.params = self.wanted_params = stage.params
        self.wanted_enabled = enabled
        self.timing = StageTiming()
        self.failure: VisionDeskError | None = None  # what switched it off: a ModelMissingError keeps its fields
        self.ready = False
        self.lane: Lane | None = None
        self.carry = Carry()
        self.age_ms: float | None = None  # of the results the last frame got from the lane
        self._timed_seq = 0  # the last lane result whose analysis time went into ``timing``

    @property
    def run_mode(self) -> str:
        """The stage's ``run`` parameter ("auto", "sync" or "async"); "sync" for a stage that may only run in order
        (one without the parameter, or whose parameters tie it to the frame loop: :meth:`Stage.in_frame_order`)."""
        if type(self.stage).in_frame_order(self.params):
            return "sync"
        return str(getattr(self.params, "run", "sync"))

    @property
    def spec(self) -> StageSpec:
        return StageSpec(self.stage.id, self.params.model_dump(mode="json"), self.enabled)


STAGE_ERROR_MODES = ("raise", "continue", "disable")
# what the command line's --on-stage-error says, in the pipeline's terms
ON_STAGE_ERROR = {"continue": "continue", "stop": "raise"}


class Pipeline:
    """An ordered, editable chain of stages.

    Edits (:meth:`set_params`, :meth:`insert`, ...) may come from any thread and
    address a stage by its slot id (:meth:`insert` returns it, :meth:`slot_ids`
    lists them). Each edit is checked and made at once on the chain as edited so
    far, so it raises in the caller's thread and a second edit builds on the
    first; :meth:`process` makes the running chain match that one before the
    next frame, on the processing thread. ``stage_errors`` decides what a
    failing stage does: ``"raise"`` stops the run (``--on-stage-error stop``,
    batch's default), ``"continue"`` records the error with the frame's index
    and runs the stage again on the next frame (``vision-desk run``'s default:
    one bad frame in a hundred must not end a night's run; a stage that cannot
    start still stops it), ``"disable"`` switches the stage off and records its
    error (GUI).
    """

    def __init__(self, spec: PipelineSpec | None = None, *, stage_errors: str = "raise", live: bool = False) -> None:
        if stage_errors not in STAGE_ERROR_MODES:
            raise ValueError(f"stage_errors must be one of {', '.join(STAGE_ERROR_MODES)}, not {stage_errors!r}")
        self.name = spec.name if spec else "untitled"
        self.stage_errors = stage_errors
        # live: frames may be dropped (camera, stream), so stages load in the background and ``run: auto``
        # stages run async; otherwise every frame gets every stage's result, in order (files, batch, exports)
        self.live = live
        self._slots: list[StageSlot] = []  # the running chain: only the processing thread changes it
        self._lock = threading.Lock()
        self._reset_requested = False
        # failures for the user, oldest first, kept as errors (not text) so a missing model keeps its fields
        self.errors: deque[VisionDeskError] = deque(maxlen=50)
        self.failures = 0  # stage failures so far (``errors`` keeps only the latest 50)
        for s in spec.stages if spec else []:
            self._slots.append(StageSlot(_make_stage(s.stage, s.params), s.enabled))
        self._wanted: list[StageSlot] = list(self._slots)  # the chain as edited so far, under the lock
        self._wanted_name = self.name
        self._edited = False

    @classmethod
    def from_file(cls, path: str | Path, **kwargs: Any) -> "Pipeline":
        return cls(load_spec(path), **kwargs)

    # -- thread-safe views ---------------------------------------------------
    def spec(self) -> PipelineSpec:
        """The running chain as a spec (for saving); reflects edits already applied."""
        with self._lock:
            return PipelineSpec(self.name, [slot.spec for slot in self._slots])

    def runs_async(self, slot: StageSlot) -> bool:
        """Whether a stage runs in an async lane: ``run: async``, or ``auto`` in a live run."""
        return slot.run_mode == "async" or (slot.run_mode == "auto" and self.live)

    def stage_rows(self) -> list[dict[str, Any]]:
        """Per running stage, for stats:

        - ``id``, ``stage``, ``enabled``;
        - ``mean_ms``, ``p95_ms``, ``max_ms``: its time per frame (for an async stage, per analysis);
        - ``summary``: the stage's own words on what it runs (model, input size, device);
        - ``state``: "loading", "ready", "failed" or "off";
        - ``run``: "sync" or "async" (how it runs now); ``age_ms``: how old the results on the last frame
          were (async only, None before the first); ``analysis_fps``: the lane's analyses per second;
        - ``error``: its last error as a sentence, or None; ``missing_models``: where that error was a
          missing model, each as :meth:`MissingModel.as_dict` (empty otherwise).
        """
        with self._lock:
            rows = []
            for slot in self._slots:
                mean, p95, peak = slot.timing.summary()
                failure = slot.failure
                missing = failure.missing if isinstance(failure, ModelMissingError) else ()
                lane = slot.lane
                loading = lane.loading if lane is not None else False
                running_async = lane is not None and lane.ready and self.runs_async(slot)
                state = ("failed" if failure else "off" if not slot.enabled else "loading" if loading
                         else "ready" if slot.ready or (lane is not None and lane.ready) else "loading")
                rows.append({"id": slot.id, "stage": slot.stage.id, "enabled": slot.enabled, "mean_ms": mean,
                             "p95_ms": p95, "max_ms": peak, "error": str(failure) if failure else None,
                             "missing_models": [m.as_dict() for m in missing], "summary": slot.stage.summary(),
                             "state": state, "run": "async" if self.runs_async(slot) else "sync",
                             "age_ms": slot.age_ms if running_async else None,
                             "analysis_fps": lane.analysis_fps() if running_async else None})
            return rows

    def slot_ids(self) -> list[int]:
        """The slot ids of the chain as edited so far, in order."""
        with self._lock:
            return [slot.id for slot in self._wanted]

    def is_enabled(self, slot_id: int) -> bool:
        """Whether the stage is switched on as edited so far; a failure switches it off too."""
        with self._lock:
            return self._find(slot_id)[1].wanted_enabled

    def __len__(self) -> int:
        """The number of stages as edited so far."""
        with self._lock:
            return len(self._wanted)

    # -- edits (any thread) --------------------------------------------------
    def _find(self, slot_id: int) -> tuple[int, StageSlot]:
        """The position and slot of an id in the chain as edited so far (call with the lock held)."""
        for pos, slot in enumerate(self._wanted):
            if slot.id == slot_id:
                return pos, slot
        raise PipelineError(f"the pipeline has no stage with slot id {slot_id}; it was removed or belongs to another pipeline.")

    def set_params(self, slot_id: int, **changes: Any) -> None:
        """Changes some parameters of a stage (checked now against earlier edits, applied at the next frame)."""
        with self._lock:
            pos, slot = self._find(slot_id)
            changes, _ = upgrade_names(type(slot.stage), changes, f"stage {pos + 1} '{slot.stage.id}'")
            merged = {**slot.wanted_params.model_dump(), **changes}
            slot.wanted_params = validate_params(type(slot.stage), merged, f"stage {pos + 1} '{slot.stage.id}'")
            self._edited = True

    def set_enabled(self, slot_id: int, enabled: bool) -> None:
        with self._lock:
            self._find(slot_id)[1].wanted_enabled = enabled
            self._edited = True

    def insert(self, index: int, stage_id: str, params: dict[str, Any] | None = None, enabled: bool = True) -> int:
        """Adds a stage (validated now) at index; ``len(pipeline)`` appends. Returns the new slot's id."""
        slot = StageSlot(_make_stage(stage_id, params or {}), enabled)
        with self._lock:
            if not 0 <= index <= len(self._wanted):
                raise PipelineError(f"cannot add stage '{stage_id}' at position {index + 1}: the pipeline has {len(self._wanted)} stage(s).")
            self._wanted.insert(index, slot)
            self._edited = True
        return slot.id

    def remove(self, slot_id: int) -> None:
        with self._lock:
            self._wanted.pop(self._find(slot_id)[0])
            self._edited = True

    def move(self, slot_id: int, index: int) -> None:
        """Moves a stage so that it ends up at index."""
        with self._lock:
            pos, slot = self._find(slot_id)
            if not 0 <= index < len(self._wanted):
                raise PipelineError(f"cannot move stage '{slot.stage.id}' to position {index + 1}: the pipeline has {len(self._wanted)} stage(s).")
            self._wanted.insert(index, self._wanted.pop(pos))
            self._edited = True

    def replace(self, spec: PipelineSpec) -> list[int]:
        """Swaps the whole chain for another (validated now); returns the new slot ids in order."""
        slots = [StageSlot(_make_stage(s.stage, s.params), s.enabled) for s in spec.stages]
        with self._lock:
            self._wanted, self._wanted_name = slots, spec.name
            self._edited = True
        return [slot.id for slot in slots]

    def request_reset(self) -> None:
        """Asks every stage to forget per-video state before the next frame (seek, new file)."""
        with self._lock:
            self._reset_requested = True

    # -- processing thread ---------------------------------------------------
    def apply_edits(self) -> None:
        """Makes the running chain the one edited so far (between two frames)."""
        with self._lock:
            if self._edited:
                self._edited = False
                kept = {slot.id for slot in self._wanted}
                for old in self._slots:
                    if old.id not in kept:
                        self._retire(old)
                for slot in self._wanted:
                    if slot.params is not slot.wanted_params:  # an edit made a new model: the stage may reset on it
                        slot.params = slot.wanted_params
                        if slot.lane is not None:
                            slot.lane.set_params(slot.params)
                        else:
                            slot.stage.update_params(slot.params)
                        slot.failure = None
                    if slot.enabled != slot.wanted_enabled:
                        slot.enabled = slot.wanted_enabled
                        if slot.enabled:
                            slot.failure = None
                self._slots = list(self._wanted)  # a copy: other threads go on editing _wanted
                self.name = self._wanted_name
            reset, self._reset_requested = self._reset_requested, False
            slots = list(self._slots)
        if reset:
            for slot in slots:
                slot.carry = Carry()
                if slot.lane is not None:
                    slot.lane.reset()
                else:
                    slot.stage.reset()

    def setup(self) -> None:
        """Loads every enabled stage's resources (so start-up cost is not in the first frame's timing).

        In a live pipeline this only starts the loading: each stage loads on a
        thread of its own and joins the chain when ready, while frames go on.
        """
        self.apply_edits()
        for slot in list(self._slots):
            if slot.enabled:
                self._ensure_ready(slot)

    def loading(self) -> bool:
        """Whether an enabled stage is still loading in the background."""
        with self._lock:
            return any(s.enabled and s.lane is not None and s.lane.loading for s in self._slots)

    def _ensure_ready(self, slot: StageSlot) -> bool:
        """Whether the stage can process the next frame in order; sets it up first (live: starts loading it)."""
        if slot.lane is not None and not self._settle(slot):
            return False
        if slot.ready:
            return True
        if self.live:  # load beside the frame loop: a lane that stops once set up
            slot.lane = Lane(slot.stage, name=f"load-{slot.stage.id}", background=False)
            slot.lane.stop()
            return False
        try:
            set_up(slot.stage, freeze=False)  # lossless: a collection's pause holds up no live view
        except Exception as err:  # noqa: BLE001 - any setup failure becomes a user message
            self._fail(slot, err, "could not start")
            return False
        slot.ready = True
        return True

    def _settle(self, slot: StageSlot) -> bool:
        """Takes a stage back from a lane that has finished (True), reporting the lane's failure; False while it runs."""
        lane = slot.lane
        assert lane is not None
        if not lane.finished:
            return False
        slot.lane = None
        slot.ready = lane.ready
        if lane.error is not None:
            self._fail(slot, lane.error, "failed" if lane.ready else "could not start")
            return False
        return True

    def _retire(self, slot: StageSlot) -> None:
        """Closes a stage leaving the chain; one in a lane is closed by the lane once its analysis is done."""
        if slot.lane is not None:
            slot.lane.stop(close=True)
        else:
            _close_quietly(slot.stage)
        slot.ready = False

    def _fail(self, slot: StageSlot, err: BaseException, what: str, frames: list[Frame] | None = None) -> None:
        msg = str(err) if isinstance(err, VisionDeskError) else f"{type(err).__name__}: {err}"
        where = ""
        if frames:
            first, last = frames[0].index, frames[-1].index
            where = f" on frame {first}" if first == last else f" on frames {first}-{last}"
        text = f"stage '{slot.stage.id}' {what}{where}: {msg}"
        # the stage's name goes in front of the message; a missing model stays one, with its fields, for the GUI
        failure = ModelMissingError(text, err.missing) if isinstance(err, ModelMissingError) else VisionDeskError(text)
        self.failures += 1
        if self.stage_errors == "raise" or (self.stage_errors == "continue" and what == "could not start"):
            raise failure from err
        if self.stage_errors == "continue":  # the frame goes on without this stage's results; the next one tries again
            self.errors.append(failure)
            return
        with self._lock:
            slot.enabled = slot.wanted_enabled = False  # off as edited too: a later tick by the user is what turns it on again
            slot.failure = failure
        self.errors.append(failure)

    def process(self, frame: Frame) -> Frame:
        """Runs the enabled stages over one frame, in order, timing each."""
        self.process_batch([frame])
        return frame

    def process_batch(self, frames: list[Frame]) -> list[Frame]:
        """Runs the enabled stages over consecutive frames: each stage sees the whole batch before the next.

        Stateful stages still see the frames in order; a stage's time is spread
        evenly over the frames of the batch. An async stage's lane is offered
        each frame and its latest results go on each.
        """
        self.apply_edits()
        slots = list(self._slots)
        views: dict[int, tuple[np.ndarray, SmallGray]] = {}  # lanes at one place in the chain share a frame's copies
        for k, slot in enumerate(slots):
            if not slot.enabled:
                if slot.lane is not None and slot.lane.ready:  # switched off: the lane ends, the stage stays loaded
                    slot.lane.stop()
                    self._settle(slot)
                continue
            if self.runs_async(slot):
                self._run_async(slot, frames, _follower(slot, slots[k + 1:]), views)
                continue
            lane = slot.lane
            if lane is not None and lane.ready:
                lane.stop()  # back to sync: the lane's analysis under way ends first
                if not self._settle(slot):
                    if slot.lane is not None:  # meanwhile its latest results ride on, as in async
                        for frame in frames:
                            slot.carry.apply(frame, lane.latest(), SmallGray.of(frame.image))
                    continue
            if not self._ensure_ready(slot):
                continue
            t0 = time.perf_counter()
            try:
                if len(frames) == 1:
                    slot.stage.process(frames[0])
                else:
                    slot.stage.process_batch(frames)
            except Exception as err:  # noqa: BLE001 - a failing stage must not kill the app
                self._fail(slot, err, "failed", frames)
                continue
            per_frame = (time.perf_counter() - t0) * 1000.0 / len(frames)
            for _ in frames:
                slot.timing.add(per_frame)
        return frames

    def _run_async(self, slot: StageSlot, frames: list[Frame], follow: str, views: dict[int, tuple[np.ndarray, SmallGray]]) -> None:
        """Offers each frame to the stage's lane (started if need be) and puts its latest results on it.

        ``views`` keeps each frame image's copy and reduced grey image for the next lane, so lanes in a row
        (no stage between them changes the image) copy and reduce a frame once; lanes only read the image.
        """
        lane = slot.lane
        if lane is not None and lane.finished:
            if not self._settle(slot):
                return
            lane = None
        if lane is None:
            slot.lane = lane = Lane(slot.stage, ready=slot.ready)
            lanes = [s.lane for s in self._slots if s.lane is not None and self.runs_async(s)]
            for other in lanes:
                other.torch_threads = torch_threads_per_lane(len(lanes))
        slot.carry.follow = follow
        for frame in frames:
            key = id(frame.image)
            if key not in views:
                views[key] = (frame.image.copy(), SmallGray.of(frame.image))
            image, gray = views[key]
            lane.offer(snapshot(frame, image))
            result = lane.latest()
            slot.carry.apply(frame, result, gray)
            if result is not None and result.seq != slot._timed_seq and result.analysed:
                slot._timed_seq = result.seq
                slot.timing.add(result.took_ms)
            slot.age_ms = result.origin.age_ms(frame) if result is not None else None

    def batch_size(self) -> int:
        """The largest batch an enabled, ready stage asks for (1 when none does)."""
        with self._lock:
            slots = [s for s in self._slots if s.enabled and s.ready and s.lane is None]
        sizes = []
        for slot in slots:
            try:
                sizes.append(int(slot.stage.batch_size()))
            except Exception:  # noqa: BLE001 - a stage that cannot say gets frames one at a time
                sizes.append(1)
        return max([1, *sizes])

    def draw(self, canvas: np.ndarray, frame: Frame) -> None:
        """Lets each enabled stage draw its own overlays (an async stage's from the results it put on the frame)."""
        for slot in self._slots:
            if slot.enabled and (slot.ready or (slot.lane is not None and slot.lane.ready)):
                try:
                    slot.stage.draw(canvas, frame)
                except Exception as err:  # noqa: BLE001
                    self._fail(slot, err, "failed to draw")

    def reset(self) -> None:
        """Resets every stage now (processing thread only)."""
        for slot in self._slots:
            slot.carry = Carry()
            if slot.lane is not None:
                slot.lane.reset()
            else:
                slot.stage.reset()

    def close(self, timeout: float = 60.0) -> None:
        """Closes every stage; waits for a lane to finish the analysis under way (OCR takes seconds on a CPU)
        and close its stage, up to ``timeout`` seconds, after which the lane closes it on its own. The wait
        matters: a process that exits while a lane is inside torch is aborted by torch's thread pool."""
        for slot in self._slots:
            self._retire(slot)
        deadline = time.monotonic() + timeout
        for slot in self._slots:
            if slot.lane is not None:
                slot.lane.join(max(0.0, deadline - time.monotonic()))
                slot.lane = None


def _follower(slot: StageSlot, later: list[StageSlot]) -> str:
    """How a lane's rows follow the scene between its results: "tracker" when a later track stage tracks this
    stage's rows (its motion prediction moves them), else "flow"."""
    for other in later:
        if other.enabled and other.stage.id == "track" and getattr(other.params, "source", None) == slot.stage.id:
            return "tracker"
    return "flow"


def _make_stage(stage_id: str, params: dict[str, Any]) -> Stage:
    cls = stage_class(stage_id)
    return cls(validate_params(cls, params, f"stage '{stage_id}'"))


def _close_quietly(stage: Stage) -> None:
    try:
        stage.close()
    except Exception:  # noqa: BLE001 - closing must never mask the real outcome
        pass
