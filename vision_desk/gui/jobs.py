"""Background jobs for the GUI: one function on a worker thread, its progress and outcome as Qt signals.

Every long task the window starts (a batch, a face enrolment, a model
download, training) runs through :func:`start_job`, so threads, cancelling and
the sentence a failure shows are written once.

How a job reaches the GUI thread: the worker emits only two private signals on
the :class:`Job`, which lives in the GUI thread, so Qt queues them there; the
job's slots re-emit the public signals from the GUI thread. Hence a caller may
connect right after ``start_job`` returns (nothing is delivered before the GUI
thread is back in its event loop), progress and outcome keep their order (one
queue, one receiver), and ``running()`` is already False in the outcome's
handlers (the thread is joined first; its last act was to post the outcome).

Why a job is never a Qt child of its ``parent``: Qt would delete it with the
parent while the worker still emits on it. A module-level set keeps each job
alive until its outcome is delivered; when the parent is destroyed the job is
cancelled, and Qt drops the connections to the parent's slots, so whatever the
worker still sends reaches no one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Qt, Signal, Slot

from vision_desk.errors import VisionDeskError

T = TypeVar("T")

log = logging.getLogger(__name__)

#: Jobs whose outcome is not yet delivered; the only strong reference a job needs while it runs.
_live_jobs: set[Job] = set()

_SUCCEEDED, _FAILED, _CANCELLED = "succeeded", "failed", "cancelled"


class JobCancelled(Exception):
    """Raised by :meth:`JobControl.check` after :meth:`Job.cancel`; the job then ends as cancelled.

    A job function that catches broad exceptions must let this one through.
    """


class JobControl:
    """What a job function gets as its first argument, to use on the worker thread."""

    def __init__(self, job: Job, cancel_event: threading.Event) -> None:
        self._job = job
        self._cancel_event = cancel_event

    def report(self, value: object) -> None:
        """Sends ``value`` to ``Job.progress`` on the GUI thread, in the order reported."""
        self._job._progress_from_worker.emit(value)

    @property
    def cancelled(self) -> bool:
        """True once :meth:`Job.cancel` was called."""
        return self._cancel_event.is_set()

    @property
    def cancel_event(self) -> threading.Event:
        """The cancel flag as an event, for engine functions that take one (``run_batch(cancel=...)``)."""
        return self._cancel_event

    def check(self) -> None:
        """Raises :class:`JobCancelled` when the job was cancelled; call it between steps."""
        if self._cancel_event.is_set():
            raise JobCancelled


def failure_sentence(name: str, err: BaseException) -> str:
    """The one sentence a job's failure shows: a VisionDeskError's message as is, anything else named briefly."""
    if isinstance(err, VisionDeskError):
        return str(err)
    detail = str(err).strip().splitlines()[0].rstrip(".") if str(err).strip() else ""
    kind = type(err).__name__ + (f": {detail}" if detail else "")
    return f"The {name} job stopped unexpectedly ({kind}); the details are in the terminal output."


class Job(QObject):
    """A function running on a daemon thread; made by :func:`start_job`, used from the GUI thread.

    Signals (all emitted on the GUI thread):
        progress(object): each value the function passed to ``control.report``.
        succeeded(object): the function's return value.
        failed(str): one sentence for people, never a traceback (see :func:`failure_sentence`).
        cancelled(): the function raised :class:`JobCancelled`.
        finished(): always last, once, after exactly one of succeeded, failed or cancelled.
    """

    progress = Signal(object)
    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    finished = Signal()

    # Emitted on the worker thread only, queued to the slots below.
    _progress_from_worker = Signal(object)
    _ended_on_worker = Signal(str, object)

    def __init__(self, fn: Callable[..., Any], args: tuple, kwargs: dict, name: str) -> None:
        super().__init__()
        self.name = name
        self._cancel_event = threading.Event()
        self._control = JobControl(self, self._cancel_event)
        self._call = (fn, args, kwargs)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._progress_from_worker.connect(self._deliver_progress, Qt.ConnectionType.QueuedConnection)
        self._ended_on_worker.connect(self._deliver_outcome, Qt.ConnectionType.QueuedConnection)

    def cancel(self) -> None:
        """Asks the function to stop; it notices through ``control.cancelled`` or ``control.check()``.

        A function that returns normally anyway has succeeded: its work is done.
        """
        self._cancel_event.set()

    def running(self) -> bool:
        """True while the worker thread is alive."""
        return self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> bool:
        """Joins the worker thread (at close and in tests); True when it has ended.

        The outcome signals still arrive through the GUI thread's event loop afterwards.
        """
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _start(self) -> None:
        _live_jobs.add(self)
        self._thread.start()

    def _run(self) -> None:
        fn, args, kwargs = self._call
        self._call = None  # the arguments (frames, specs) are not kept past the run
        try:
            outcome = (_SUCCEEDED, fn(self._control, *args, **kwargs))
        except JobCancelled:
            outcome = (_CANCELLED, None)
        except BaseException as err:  # noqa: BLE001 - every failure becomes a sentence; the traceback goes to the log
            if not isinstance(err, VisionDeskError):
                log.exception("Background job %r failed", self.name)
            outcome = (_FAILED, failure_sentence(self.name, err))
        self._ended_on_worker.emit(*outcome)

    @Slot(object)
    def _deliver_progress(self, value: object) -> None:
        self.progress.emit(value)

    @Slot(str, object)
    def _deliver_outcome(self, kind: str, payload: object) -> None:
        self._thread.join()  # the worker posted this as its last act, so this returns at once
        try:
            if kind == _SUCCEEDED:
                self.succeeded.emit(payload)
            elif kind == _FAILED:
                self.failed.emit(payload)
            else:
                self.cancelled.emit()
        finally:
            self.finished.emit()
            _live_jobs.discard(self)


def start_job(fn: Callable[..., T], *args: Any, name: str, parent: QObject | None = None, **kwargs: Any) -> Job:
    """Runs ``fn(control, *args, **kwargs)`` on a daemon thread named ``name``; call it on the GUI thread.

    Connect to the returned job's signals right away: none is delivered before
    the GUI thread returns to its event loop.

    Args:
        fn: the work; gets a :class:`JobControl` first, then ``args`` and ``kwargs``. Its return value goes to
            ``succeeded``; raising :class:`JobCancelled` ends the job as cancelled (translate library errors that
            mean "cancelled", such as ``DownloadCancelled``, into it); any other exception goes to ``failed``.
        name: the thread's name; also names the job in the sentence an unexpected error shows ("The NAME job ...").
        parent: the owner; when it is destroyed the job is cancelled and its signals reach no one.

    Returns:
        The running job.
    """
    job = Job(fn, args, kwargs, name)
    if parent is not None:
        parent.destroyed.connect(job.cancel)
    job._start()
    return job
