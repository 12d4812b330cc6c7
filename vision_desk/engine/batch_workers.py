"""A batch's files in parallel worker processes on this machine (``vision-desk batch --workers N``).

Each worker is a spawned process that builds the pipeline once (its models load
once) and then runs :func:`~vision_desk.engine.batch.process_item` on one file
after another, exactly as a one-process batch does. The standard library's
``ProcessPoolExecutor`` schedules them; progress comes back through one queue,
cancel goes out through one event. Every worker gets an equal share of the
cores for its own thread pools (OpenMP, torch, OpenCV), so N workers on N
cores do not oversubscribe the machine.
"""

from __future__ import annotations

import os
import queue
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable

from vision_desk.engine.batch import BatchItem, BatchProgress, ItemStatus, process_item, report_progress
from vision_desk.engine.pipeline import Pipeline, PipelineSpec, spec_from_dict

#: The thread-pool variables the libraries a pipeline may load read at start-up.
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

# One worker process's state, set by _start_worker.
_pipeline: Pipeline | None = None
_progress: Any = None
_cancel: Any = None


def _start_worker(spec: dict, progress: Any, cancel: Any, threads: int, stage_errors: str = "raise") -> None:
    global _pipeline, _progress, _cancel
    for name in _THREAD_VARIABLES:
        os.environ[name] = str(threads)
    import cv2

    cv2.setNumThreads(threads)
    _pipeline = Pipeline(spec_from_dict(spec), stage_errors=stage_errors)
    _progress, _cancel = progress, cancel


def _work(index: int, item: BatchItem, video: bool, annotated: bool) -> BatchItem:
    # torch, if a stage needs it, is imported during the first file, after _start_worker set its thread count
    assert _pipeline is not None, "the worker was started by _start_worker"
    return process_item(item, _pipeline, video=video, annotated=annotated, cancel=_cancel,
                        on_frames=lambda done, total: _progress.put((index, done, total)))


def run_in_workers(items: list[BatchItem], todo: list[BatchItem], spec: PipelineSpec, workers: int, *,
                   video: bool, annotated: bool, on_progress: Callable[[BatchProgress], None] | None,
                   on_item_done: Callable[[BatchItem], None] | None, cancel: threading.Event | None,
                   t_start: float, stage_errors: str = "raise") -> None:
    """Processes ``todo`` (part of ``items``) in ``workers`` processes, updating each item in place.

    A worker that dies (killed, out of memory) fails the files it and the pool had left with one sentence
    saying so; the files already done keep their outputs, and ``--resume`` finishes the rest.
    """
    import multiprocessing

    context = multiprocessing.get_context("spawn")  # no fork: the parent may hold threads, Qt, or CUDA
    progress, stop = context.Queue(), context.Event()
    threads = max(1, (os.cpu_count() or 1) // workers)
    futures: dict[Future, int] = {}
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                             initargs=(spec.as_dict(), progress, stop, threads, stage_errors)) as pool:
        position = {id(item): n for n, item in enumerate(items)}
        for item in todo:
            n = position[id(item)]
            futures[pool.submit(_work, n, item, video, annotated)] = n
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
            if cancel is not None and cancel.is_set() and not stop.is_set():
                stop.set()
                for future in pending:
                    future.cancel()  # not started yet: never starts
            _relay(progress, items, on_progress, t_start)
            for future in done:
                item = items[futures[future]]
                _settle(item, future)
                if on_item_done:
                    on_item_done(item)
    _relay(progress, items, on_progress, t_start)


def _settle(item: BatchItem, future: Future) -> None:
    """Copies a worker's result into the item (or says why there is none)."""
    if future.cancelled():
        item.status = ItemStatus.CANCELLED
        return
    try:
        result = future.result()
    except BrokenProcessPool:
        item.status = ItemStatus.FAILED
        item.error = (f"the worker process stopped before finishing {item.rel} (killed or out of memory); "
                      "run the batch again with --resume to finish it")
        return
    item.take_result(result)


def _relay(progress: Any, items: list[BatchItem], on_progress: Callable[[BatchProgress], None] | None,
           t_start: float) -> None:
    """Passes the workers' progress reports on, newest per file."""
    latest: dict[int, tuple[int, int | None]] = {}
    while True:
        try:
            index, done, total = progress.get_nowait()
        except queue.Empty:
            break
        latest[index] = (done, total)
    report_progress(latest, items, on_progress, t_start)
