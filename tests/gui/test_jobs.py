"""gui/jobs.py: one function on a worker thread; its progress, its one outcome and then finished, on the GUI thread."""

from __future__ import annotations

import gc
import logging
import threading

import pytest
from PySide6.QtWidgets import QWidget

from vision_desk.errors import VisionDeskError
from vision_desk.gui.jobs import Job, JobCancelled, JobControl, start_job

#: Long enough for a loaded 2-core machine; the jobs here end at once unless a test holds them.
WAIT_MS = 10000


class Recorder:
    """Every signal a job emits, in the order it arrived, with whether the job still ran at that moment."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.events: list[tuple[str, object]] = []
        self.running_at_outcome: bool | None = None
        job.progress.connect(lambda value: self.events.append(("progress", value)))
        job.succeeded.connect(lambda value: self._outcome("succeeded", value))
        job.failed.connect(lambda text: self._outcome("failed", text))
        job.cancelled.connect(lambda: self._outcome("cancelled", None))
        job.finished.connect(lambda: self.events.append(("finished", None)))

    def _outcome(self, kind: str, value: object) -> None:
        self.running_at_outcome = self.job.running()
        self.events.append((kind, value))

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.events if kind != "progress"]


def run_to_end(qtbot, fn, *args, **kwargs) -> Recorder:  # noqa: ANN001
    """Starts ``fn`` as a job and waits for its finished signal."""
    job = start_job(fn, *args, name="test", **kwargs)
    recorder = Recorder(job)
    with qtbot.waitSignal(job.finished, timeout=WAIT_MS):
        pass
    return recorder


def test_the_return_value_arrives_through_succeeded_then_finished(qtbot) -> None:
    def add(control: JobControl, a: int, b: int, *, times: int) -> int:
        return (a + b) * times

    recorder = run_to_end(qtbot, add, 2, 3, times=4)
    assert recorder.events == [("succeeded", 20), ("finished", None)]
    assert recorder.running_at_outcome is False  # the handlers may start the next job at once
    assert not recorder.job.running() and recorder.job.wait(0)


def test_progress_values_arrive_in_order_before_the_outcome(qtbot) -> None:
    def count(control: JobControl) -> str:
        for i in range(200):
            control.report(i)
        return "counted"

    recorder = run_to_end(qtbot, count)
    assert recorder.events == [("progress", i) for i in range(200)] + [("succeeded", "counted"), ("finished", None)]


def test_a_vision_desk_error_is_its_own_sentence_and_is_not_logged(qtbot, caplog: pytest.LogCaptureFixture) -> None:
    message = "The input folder '/nope' does not exist; choose a folder of videos or images."

    def refuse(control: JobControl) -> None:
        raise VisionDeskError(message)

    recorder = run_to_end(qtbot, refuse)
    assert recorder.events == [("failed", message), ("finished", None)]
    assert not [r for r in caplog.records if r.name == "vision_desk.gui.jobs"]


def test_an_unexpected_error_is_one_sentence_for_people_and_a_traceback_for_the_log(
        qtbot, caplog: pytest.LogCaptureFixture) -> None:
    def divide(control: JobControl) -> float:
        raise ZeroDivisionError("division by zero\nwith a second line nobody should see")

    recorder = run_to_end(qtbot, divide)
    assert recorder.kinds() == ["failed", "finished"]
    sentence = recorder.events[0][1]
    assert sentence == ("The test job stopped unexpectedly (ZeroDivisionError: division by zero); "
                        "the details are in the terminal output.")
    assert "Traceback" not in sentence and "\n" not in sentence
    (record,) = [r for r in caplog.records if r.name == "vision_desk.gui.jobs"]
    assert record.levelno == logging.ERROR and record.exc_info[0] is ZeroDivisionError
    assert "Traceback" in caplog.text and "in divide" in caplog.text


def test_cancel_ends_the_job_as_cancelled(qtbot) -> None:
    started, release = threading.Event(), threading.Event()

    def wait_for_release(control: JobControl) -> str:
        started.set()
        release.wait()
        control.check()
        return "not cancelled"

    job = start_job(wait_for_release, name="test")
    recorder = Recorder(job)
    qtbot.waitUntil(started.is_set, timeout=WAIT_MS)
    assert job.running() and not job.wait(0)
    job.cancel()
    release.set()
    with qtbot.waitSignal(job.finished, timeout=WAIT_MS):
        pass
    assert recorder.events == [("cancelled", None), ("finished", None)]
    assert job.wait(0)


def test_a_function_that_sees_the_flag_and_raises_job_cancelled_itself_ends_cancelled(qtbot) -> None:
    """What a job does with a library's own "cancelled" error: it raises JobCancelled instead."""
    release = threading.Event()

    def translate(control: JobControl) -> None:
        release.wait()
        if control.cancelled and control.cancel_event.is_set():
            raise JobCancelled from None
        raise AssertionError("the cancel flag was not seen")

    job = start_job(translate, name="test")
    recorder = Recorder(job)
    job.cancel()
    release.set()
    with qtbot.waitSignal(job.finished, timeout=WAIT_MS):
        pass
    assert recorder.kinds() == ["cancelled", "finished"]


def test_a_job_nobody_holds_still_runs_to_its_end(qtbot) -> None:
    release = threading.Event()
    results: list[object] = []
    start_job(lambda control: release.wait() and "done", name="test").succeeded.connect(results.append)
    gc.collect()  # the caller kept no reference; the module must
    release.set()
    qtbot.waitUntil(lambda: results == ["done"], timeout=WAIT_MS)


class Owner(QWidget):
    """A widget whose slots would touch it after it is gone, as a closed dialog's would."""

    def __init__(self) -> None:
        super().__init__()
        self.outcomes: list[object] = []

    def on_outcome(self, value: object = None) -> None:
        self.outcomes.append(value)
        self.setWindowTitle(str(value))  # raises if the C++ widget was deleted


def test_a_job_whose_owner_is_deleted_is_cancelled_and_emits_into_nothing(qtbot) -> None:
    owner = Owner()
    release = threading.Event()

    def report_then_check(control: JobControl) -> None:
        release.wait()
        control.report("late progress")
        control.check()

    job = start_job(report_then_check, name="test", parent=owner)
    for signal in (job.progress, job.succeeded, job.failed, job.cancelled):
        signal.connect(owner.on_outcome)
    recorder = Recorder(job)
    with qtbot.waitSignal(owner.destroyed, timeout=WAIT_MS):
        owner.deleteLater()
    release.set()
    with qtbot.waitSignal(job.finished, timeout=WAIT_MS):
        pass  # pytest-qt fails the test if a slot raised on the way
    assert recorder.events == [("progress", "late progress"), ("cancelled", None), ("finished", None)]
