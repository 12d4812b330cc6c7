"""Shared loaded models and the batching front that gathers the frames several streams have waiting.

Several engines in one process (a multi-stream run, the app's wall, one per
source) build their own pipelines, so each stream keeps its own trackers,
counters and background models. The heavy part, the loaded network, is
shared:

* :func:`share` hands every stage that asks with the same key (model file,
  device, settings) the same loaded model, loading it on first use, and
  :func:`release` frees it when its last user closes. The stage families' own
  loaders (``vision_desk.stages.detection.model_cache``, the classifiers) go
  through it, so there is one cache of models in the process, whoever made
  the engines.
* :func:`batched` runs a shared model's inference through its
  :class:`BatchingFront`, as DeepStream's ``nvstreammux`` does for N cameras:
  the streams' threads each submit their frames and block; the first waiting
  caller leads, collecting what the others submit until every active stream
  has a request in, ``max_batch`` frames are waiting, or the oldest request
  has waited ``gather_ms`` (default 5 ms), and then runs one inference call
  for all of them and hands each caller its own results.

  A stream is active while it has submitted within the last ``active_s``
  seconds (2 s): a single-source run never waits, and a stream that has
  failed, is reconnecting or is paused holds the others up by at most
  ``gather_ms`` per call, and not at all once it has been quiet for
  ``active_s`` (a stage that holds the model without running it, such as a
  heatmap's, never counts). When a batch fails, each request in it is run
  again alone, so a frame that breaks the model fails only the stream that
  sent it.

No thread of its own: a leader is always a caller that wants results, and the
next waiting caller takes over when it is done, so nothing is left running
when the engines close.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable

#: How long the oldest request waits for the other streams' frames (milliseconds), by default.
GATHER_MS = 5.0
#: The most frames one inference call takes, by default (a request is never split, so one may exceed it).
MAX_BATCH = 8
#: A stream that has not submitted for this long (seconds) is no longer waited for, by default.
ACTIVE_S = 2.0


@dataclass
class PoolSettings:
    """The batching front's settings (read at every batch, so a change applies at once)."""

    gather_ms: float = GATHER_MS
    max_batch: int = MAX_BATCH
    active_s: float = ACTIVE_S


settings = PoolSettings()


def configure(*, gather_ms: float | None = None, max_batch: int | None = None,
              active_s: float | None = None) -> PoolSettings:
    """Changes the batching settings for the process; returns them.

    Raises:
        ValueError: a negative window or quiet time, or a batch below one frame.
    """
    if gather_ms is not None:
        if gather_ms < 0:
            raise ValueError(f"gather_ms must be 0 or more, not {gather_ms}")
        settings.gather_ms = float(gather_ms)
    if max_batch is not None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, not {max_batch}")
        settings.max_batch = int(max_batch)
    if active_s is not None:
        if active_s < 0:
            raise ValueError(f"active_s must be 0 or more, not {active_s}")
        settings.active_s = float(active_s)
    return settings


# -- shared models -------------------------------------------------------------------------------------------

@dataclass
class _Entry:
    model: Any
    users: int = 0
    front: "BatchingFront | None" = None


_entries: dict[Hashable, _Entry] = {}
_lock = threading.Lock()  # held briefly: never while a model loads or runs
_loading: dict[Hashable, threading.Lock] = {}  # one per key: two streams asking at once load a model once


def share(key: Hashable, load: Callable[[], Any]) -> Any:
    """The model kept under key, loaded by ``load()`` on first use; one more user is counted.

    A model loads under a lock of its own key, not the pool's: a stream loading a model (seconds for OCR)
    holds up no other stream's inference.
    """
    with _lock:
        gate = _loading.setdefault(key, threading.Lock())
    with gate:
        with _lock:
            entry = _entries.get(key)
            if entry is not None:
                entry.users += 1
                return entry.model
        model = load()
        with _lock:
            _entries[key] = _Entry(model, users=1)
        return model


def release(model: Any) -> None:
    """Forgets a user of a shared model; the last one frees it (a model the pool does not hold is ignored).

    Called on the thread that ran the model (a stage closes where it ran), so its front stops waiting for
    that thread's frames at once.
    """
    with _lock:
        for key, entry in list(_entries.items()):
            if entry.model is model:
                entry.users -= 1
                if entry.users <= 0:
                    del _entries[key]
                front = entry.front
                break
        else:
            return
    if front is not None:
        front.forget(threading.get_ident())


def users(model: Any) -> int:
    """How many users share the model now (0 for a model the pool does not hold)."""
    with _lock:
        entry = _find(model)
        return entry.users if entry is not None else 0


@dataclass(frozen=True)
class PoolRow:
    """One shared model as :func:`snapshot` reports it."""

    key: Hashable
    users: int
    active: int  # streams (calling threads) that ran it within the last active_s seconds
    calls: int  # inference calls its front made
    requests: int  # submissions (one stream's frames each) those calls served
    largest: int  # the most submissions one call served


def snapshot(model: Any = None) -> list[PoolRow]:
    """The models shared now (or only ``model``'s row), with their users and what their batching fronts have
    done (monitor, benchmarks, tests)."""
    with _lock:
        entries = [(k, e) for k, e in _entries.items() if model is None or e.model is model]
    rows = []
    for key, entry in entries:
        front = entry.front
        stats = front.stats if front is not None else FrontStats()
        active = front.active_streams() if front is not None else 0
        rows.append(PoolRow(key, entry.users, active, stats.calls, stats.requests, stats.largest))
    return rows


def loaded_count() -> int:
    """How many distinct models are loaded now (tests check sharing with it)."""
    with _lock:
        return len(_entries)


def _find(model: Any) -> _Entry | None:
    return next((e for e in _entries.values() if e.model is model), None)


def batched(model: Any, run: Callable[[list], list], items: list) -> list:
    """``run(items)``, gathered with what other streams submit to the same shared model meanwhile.

    Args:
        model: a model from :func:`share`; any other object runs its items at once, alone.
        run: the model's batch function: a list of items in, one result per item out, in order. Always the
            same function for one model (the front keeps the first one it is given).
        items: this caller's items (frames of one stream), kept together in one call.

    Returns:
        One result per item, as ``run`` gives them.
    """
    with _lock:
        entry = _find(model)
        if entry is not None and entry.front is None:
            entry.front = BatchingFront(run)
        front = entry.front if entry is not None else None
    if front is None:
        return run(items)
    return front.run(items)


# -- the batching front ----------------------------------------------------------------------------------------

@dataclass
class _Request:
    items: list
    since: float = field(default_factory=time.monotonic)
    results: list | None = None
    error: BaseException | None = None
    done: bool = False


@dataclass
class FrontStats:
    """What a front has done: calls made and requests (streams' submissions) and items they carried."""

    calls: int = 0
    requests: int = 0
    items: int = 0
    largest: int = 0  # the most requests one call served


class BatchingFront:
    """Gathers concurrent callers' items into one call of ``run`` (see the module's docstring).

    A stream is a calling thread (an engine's processing thread, or its stage's lane); each blocks until its
    results come, so it has one request in at a time.

    Args:
        run: the batch function (items in, one result each out, in order).
    """

    def __init__(self, run: Callable[[list], list]) -> None:
        self._run = run
        self._cond = threading.Condition()
        self._queue: list[_Request] = []
        self._leading = False  # a caller is gathering or running a batch
        self._seen: dict[int, float] = {}  # calling thread -> when it last submitted
        self.stats = FrontStats()

    def active_streams(self) -> int:
        """The streams (calling threads) that submitted within the last ``active_s`` seconds."""
        with self._cond:
            return self._active(time.monotonic())

    def forget(self, thread_id: int) -> None:
        """Stops waiting for a thread's frames (its stage has closed)."""
        with self._cond:
            self._seen.pop(thread_id, None)
            self._cond.notify_all()

    def _active(self, now: float) -> int:
        for ident, when in list(self._seen.items()):
            if now - when > settings.active_s:
                del self._seen[ident]
        return len(self._seen)

    def run(self, items: list) -> list:
        """Runs items (one caller's, kept together) in the next batch; blocks until their results come.

        Raises:
            Exception: whatever ``run`` raised on these items (run alone after the batch failed).
        """
        request = _Request(list(items))
        with self._cond:
            self._seen[threading.get_ident()] = request.since
            self._queue.append(request)
            self._cond.notify_all()  # a leader waiting for the other streams counts this one
            while not request.done:
                if not self._leading and self._queue and self._queue[0] is request:
                    self._lead()
                else:
                    self._cond.wait()
        if request.error is not None:
            raise request.error
        assert request.results is not None
        return request.results

    def _lead(self) -> None:
        """Gathers a batch from the queue's head, runs it outside the lock and resolves it (lock held on entry
        and exit); the next waiting caller then leads the batch after."""
        self._leading = True
        try:
            deadline = self._queue[0].since + settings.gather_ms / 1000.0
            while not self._closed(deadline):
                self._cond.wait(max(0.0, deadline - time.monotonic()))
            batch = self._take()
            self._cond.release()
            try:
                self._serve(batch)
            finally:
                self._cond.acquire()
                for request in batch:
                    request.done = True
            self.stats.calls += 1
            self.stats.requests += len(batch)
            self.stats.items += sum(len(r.items) for r in batch)
            self.stats.largest = max(self.stats.largest, len(batch))
        finally:
            self._leading = False
            self._cond.notify_all()

    def _closed(self, deadline: float) -> bool:
        """Whether the window closes: every active stream has a request in, the batch is full, or time is up."""
        now = time.monotonic()
        waiting = sum(len(r.items) for r in self._queue)
        return len(self._queue) >= self._active(now) or waiting >= settings.max_batch or now >= deadline

    def _take(self) -> list[_Request]:
        """The requests at the head of the queue that fit in one batch (always at least one)."""
        batch = [self._queue.pop(0)]
        size = len(batch[0].items)
        while self._queue and size + len(self._queue[0].items) <= settings.max_batch:
            size += len(self._queue[0].items)
            batch.append(self._queue.pop(0))
        return batch

    def _serve(self, batch: list[_Request]) -> None:
        """Runs the batch as one call and hands out the results; after a failure, each request alone."""
        try:
            results = self._call([item for r in batch for item in r.items])
        except BaseException as err:  # noqa: BLE001 - handed to the callers, never lost
            if len(batch) == 1:
                batch[0].error = err
            else:
                for request in batch:
                    self._serve([request])
            return
        start = 0
        for request in batch:
            request.results = results[start:start + len(request.items)]
            start += len(request.items)

    def _call(self, items: list) -> list:
        results = list(self._run(items))
        if len(results) != len(items):
            raise RuntimeError(f"a batch of {len(items)} items gave {len(results)} results")
        return results
