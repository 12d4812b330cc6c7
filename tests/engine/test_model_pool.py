"""The model pool's batching front: callers on several threads, gathered into one call; isolation of failures."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from vision_desk.engine import model_pool
from vision_desk.engine.model_pool import BatchingFront


def reciprocals(items: list[float]) -> list[float]:
    """A real batch function: 1/x per item (raises for 0, as a model may on a bad frame)."""
    return [1.0 / x for x in items]


def submit_all(front: BatchingFront, requests: list[list[float]], timeout: float = 30.0) -> list:
    """Each request from a thread of its own, all at once; returns each caller's results or exception."""
    out: list = [None] * len(requests)
    start = threading.Barrier(len(requests))

    def call(k: int) -> None:
        start.wait()
        try:
            out[k] = front.run(requests[k])
        except Exception as err:  # noqa: BLE001 - what the caller got is the result under test
            out[k] = err

    threads = [threading.Thread(target=call, args=(k,)) for k in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not any(t.is_alive() for t in threads), "a caller was never answered"
    return out


@pytest.fixture
def gather_ms():
    """Sets the window for one test and restores the default."""
    saved = (model_pool.settings.gather_ms, model_pool.settings.max_batch)

    def set_window(ms: float, max_batch: int = model_pool.MAX_BATCH) -> None:
        model_pool.configure(gather_ms=ms, max_batch=max_batch)

    yield set_window
    model_pool.configure(gather_ms=saved[0], max_batch=saved[1])


def test_streams_gather_into_one_call_and_each_gets_its_own_results(gather_ms) -> None:
    """With a window far longer than the test may take, the call goes out as soon as every stream is in."""
    gather_ms(600_000)
    front = BatchingFront(reciprocals, streams=lambda: 3)
    out = submit_all(front, [[1.0, 2.0], [4.0], [5.0, 8.0]])
    assert out == [[1.0, 0.5], [0.25], [0.2, 0.125]]
    assert (front.stats.calls, front.stats.requests, front.stats.items, front.stats.largest) == (1, 3, 5, 3)


def test_a_silent_stream_holds_no_batch_up(gather_ms) -> None:
    """Two streams use the model, one submits nothing (failed, reconnecting): the window closes on time."""
    gather_ms(20)
    front = BatchingFront(reciprocals, streams=lambda: 2)
    assert submit_all(front, [[2.0]]) == [[0.5]]
    assert front.stats.calls == 1


def test_a_frame_that_breaks_the_model_fails_only_its_stream(gather_ms) -> None:
    gather_ms(600_000)
    front = BatchingFront(reciprocals, streams=lambda: 3)
    good, bad, other = submit_all(front, [[1.0], [0.0], [4.0, 2.0]])
    assert good == [1.0] and other == [0.25, 0.5]
    assert isinstance(bad, ZeroDivisionError)


def test_max_batch_splits_the_queue_into_calls_but_never_a_request(gather_ms) -> None:
    gather_ms(600_000, max_batch=3)
    front = BatchingFront(reciprocals, streams=lambda: 4)
    out = submit_all(front, [[1.0, 2.0], [4.0, 5.0], [8.0], [10.0]])
    assert out == [[1.0, 0.5], [0.25, 0.2], [0.125], [0.1]]
    assert front.stats.requests == 4 and front.stats.calls >= 2
    assert front.stats.items == 6


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
    (row,) = [r for r in model_pool.snapshot() if r.key == ("test", "weights")]
    assert row.users == 2 and row.calls == 1
    model_pool.release(a)
    assert model_pool.loaded_count() == before + 1
    model_pool.release(b)
    assert model_pool.loaded_count() == before and model_pool.users(a) == 0


def test_configure_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="gather_ms"):
        model_pool.configure(gather_ms=-1)
    with pytest.raises(ValueError, match="max_batch"):
        model_pool.configure(max_batch=0)
