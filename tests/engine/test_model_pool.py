"""The model pool: shared models counted and freed; the batching front gathering several streams' frames into one
call, never waiting for a stream that has gone quiet, and isolating a frame that breaks the model."""

from __future__ import annotations

import threading
from typing import Callable

import numpy as np
import pytest

from tests.holding import wait_until
from vision_desk.engine import model_pool
from vision_desk.engine.model_pool import BatchingFront

#: What a stream does in one round: submit these items, call this function on its thread, or nothing.
Step = list | Callable[[], object] | None


def reciprocals(items: list[float]) -> list[float]:
    """A real batch function: 1/x per item (raises for 0, as a model may on a bad frame)."""
    return [1.0 / x for x in items]


def run_streams(front: BatchingFront, rounds: list[tuple[float, list[Step]]], timeout: float = 60.0) -> list[list]:
    """Each stream is a thread of its own, kept across the rounds (a front knows streams by their thread).
    Before each round the window is set to that round's gather_ms, then every stream starts it together.
    Returns, per round, what each stream got: results, the exception raised, or what its function returned."""
    streams = len(rounds[0][1])
    out = [[None] * streams for _ in rounds]
    current = iter(rounds)
    start = threading.Barrier(streams, action=lambda: model_pool.configure(gather_ms=next(current)[0]))

    def stream(k: int) -> None:
        for r, (_, steps) in enumerate(rounds):
            start.wait()
            step = steps[k]
            try:
                out[r][k] = step() if callable(step) else front.run(step) if step is not None else None
            except Exception as err:  # noqa: BLE001 - what the caller got is the result under test
                out[r][k] = err

    threads = [threading.Thread(target=stream, args=(k,)) for k in range(streams)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not any(t.is_alive() for t in threads), "a caller was never answered"
    return out


@pytest.fixture(autouse=True)
def pool_settings():
    """Every stream stays active for the test's length unless it says otherwise; the defaults come back after."""
    saved = (model_pool.settings.gather_ms, model_pool.settings.max_batch, model_pool.settings.active_s)
    model_pool.configure(active_s=60)
    yield
    model_pool.configure(gather_ms=saved[0], max_batch=saved[1], active_s=saved[2])


def test_streams_gather_into_one_call_and_each_gets_its_own_results() -> None:
    """Once the streams are known (round 1), a call goes out as soon as every one is in, however long the window."""
    front = BatchingFront(reciprocals)
    _, second = run_streams(front, [(0, [[1.0], [2.0], [4.0]]), (600_000, [[1.0, 2.0], [4.0], [5.0, 8.0]])])
    assert second == [[1.0, 0.5], [0.25], [0.2, 0.125]]
    assert front.stats.largest == 3 and front.stats.requests == 6 and front.stats.items == 8


def test_a_silent_stream_holds_a_call_up_only_for_the_window() -> None:
    """Two streams are known, one submits nothing (failed, reconnecting, paused): the window closes on time."""
    front = BatchingFront(reciprocals)
    _, second = run_streams(front, [(0, [[2.0], [4.0]]), (20, [[2.0], None])])
    assert second == [[0.5], None]


def test_a_stream_quiet_for_active_s_is_not_waited_for_at_all() -> None:
    model_pool.configure(active_s=0.2)
    front = BatchingFront(reciprocals)
    run_streams(front, [(0, [[2.0], [4.0]])])
    wait_until(lambda: front.active_streams() == 0, "the quiet streams to be forgotten")
    (alone,) = run_streams(front, [(600_000, [[8.0]])])  # a window far longer than the test may take
    assert alone == [[0.125]]


def test_a_stream_whose_stage_closes_is_not_waited_for() -> None:
    """release() on the thread that ran the model: the front stops counting that stream at once."""
    model = model_pool.share(("test", "closing"), lambda: np.zeros(1))
    model_pool.share(("test", "closing"), lambda: np.zeros(1))

    def call(items: list[float]) -> Callable[[], list]:
        return lambda: model_pool.batched(model, reciprocals, items)

    try:
        rounds = run_streams(None, [(0, [call([2.0]), call([4.0])]),  # type: ignore[arg-type] - every step calls the pool
                                    (0, [None, lambda: model_pool.release(model)]),
                                    (600_000, [call([8.0]), None])])
        assert rounds[0] == [[0.5], [0.25]] and rounds[2][0] == [0.125]
    finally:
        model_pool.release(model)
    assert model_pool.users(model) == 0


def test_a_frame_that_breaks_the_model_fails_only_its_stream() -> None:
    front = BatchingFront(reciprocals)
    _, (good, bad, other) = run_streams(front, [(0, [[1.0], [1.0], [1.0]]), (600_000, [[1.0], [0.0], [4.0, 2.0]])])
    assert good == [1.0] and other == [0.25, 0.5]
    assert isinstance(bad, ZeroDivisionError)


def test_max_batch_splits_the_queue_into_calls_but_never_a_request() -> None:
    """A request left over after a full call waits (as any) for the streams just served: here they have nothing
    more to send, so the round's window is short."""
    model_pool.configure(max_batch=3)
    front = BatchingFront(reciprocals)
    _, second = run_streams(front, [(0, [[1.0, 1.0]] * 4), (200, [[1.0, 2.0], [4.0, 5.0], [8.0], [10.0]])])
    assert second == [[1.0, 0.5], [0.25, 0.2], [0.125], [0.1]]
    assert front.stats.largest <= 2 and front.stats.items == 8 + 6  # never two 2-item requests in one call


def test_shared_models_are_counted_and_freed_by_their_last_user() -> None:
    before = model_pool.loaded_count()
    loads = []

    def load() -> np.ndarray:
        loads.append(1)
        return np.arange(3)

    a = model_pool.share(("test", "weights"), load)
    b = model_pool.share(("test", "weights"), load)
    assert a is b and len(loads) == 1 and model_pool.users(a) == 2
    assert model_pool.loaded_count() == before + 1
    # a shared model's calls go through its front; an object the pool does not hold runs alone
    assert model_pool.batched(a, lambda xs: [x * 2 for x in xs], [1, 2]) == [2, 4]
    assert model_pool.batched(object(), lambda xs: [x + 1 for x in xs], [1]) == [2]
    (row,) = model_pool.snapshot(a)
    assert row.users == 2 and row.calls == 1
    model_pool.release(a)
    assert model_pool.loaded_count() == before + 1
    model_pool.release(b)
    assert model_pool.loaded_count() == before and model_pool.users(a) == 0


def test_configure_refuses_nonsense() -> None:
    for bad, word in (({"gather_ms": -1}, "gather_ms"), ({"max_batch": 0}, "max_batch"), ({"active_s": -1}, "active_s")):
        with pytest.raises(ValueError, match=word):
            model_pool.configure(**bad)
