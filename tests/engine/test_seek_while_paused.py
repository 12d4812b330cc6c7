"""Seeking a paused file shows the frame sought, not one the reader had queued before the seek; a file that
has ended stays seekable, as in any player.

No test here sleeps and then asserts that nothing happened: frames are delivered in order by one thread, so a
later event the test causes (a step, a seek) orders the stream, and any frame the engine should not have
shown would appear before it.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import pytest

from tests.media import moving_object_frames
from vision_desk.engine.runner import Engine


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("seq")
    frames, _ = moving_object_frames(30, size=(160, 120), radius=10, speed=4, start=10)
    for i, image in enumerate(frames):
        cv2.imwrite(str(folder / f"{i:03d}.png"), image)
    return folder


class Seen:
    """The indices of the frames an engine finished, with a wait that fails loudly at its deadline."""

    def __init__(self) -> None:
        self.indices: list[int] = []
        self._cond = threading.Condition()

    def __call__(self, frame) -> None:  # noqa: ANN001 - on_frame callback
        with self._cond:
            self.indices.append(frame.index)
            self._cond.notify_all()

    def wait(self, what: str, condition, timeout: float = 30.0) -> None:  # noqa: ANN001
        with self._cond:
            if not self._cond.wait_for(lambda: condition(self.indices), timeout):
                pytest.fail(f"waited {timeout:.0f} s for {what}; frames seen: {self.indices}")

    def wait_count(self, count: int) -> None:
        self.wait(f"{count} frames", lambda seen: len(seen) >= count)


def started(source: str, seen: Seen, realtime: bool = True, hold_at_end: bool = True) -> Engine:
    """An engine on source (held at its end, as the app runs files) that has processed its first frames."""
    engine = Engine(source, realtime=realtime, hold_at_end=hold_at_end, on_frame=seen).start()
    seen.wait_count(2)
    return engine


def wait_at_end(engine: Engine, timeout: float = 30.0) -> None:
    """Waits until a held engine reports the end of its file; fails loudly at the deadline."""
    deadline = time.monotonic() + timeout
    while not engine.at_end:
        assert time.monotonic() < deadline, f"waited {timeout:.0f} s for the engine to hold at the end"
        time.sleep(0.01)


def sources(clip: Path, folder: Path) -> dict[str, str]:
    return {"video": str(clip), "images": str(folder)}


@pytest.mark.parametrize("kind", ["video", "images"])
@pytest.mark.parametrize("realtime", [False, True])
def test_seek_then_step_while_paused(clip_300: Path, image_folder: Path, kind: str, realtime: bool) -> None:
    """As fast as possible the 30-image folder may end before the pause lands: the held end still seeks."""
    seen = Seen()
    engine = started(sources(clip_300, image_folder)[kind], seen, realtime)
    try:
        engine.pause()
        before = len(seen.indices)
        engine.seek(20)
        seen.wait("the frame sought", lambda s: 20 in s[before:])
        before = seen.indices.index(20, before)
        engine.step()
        seen.wait_count(before + 2)
        engine.seek(5)  # a later event: any frame shown out of turn would come before it
        seen.wait("the second frame sought", lambda s: 5 in s[before:])
        assert seen.indices[before:] == [20, 21, 5]
    finally:
        engine.stop()
        assert engine.join(10)


@pytest.mark.parametrize("kind", ["video", "images"])
def test_seek_right_after_pause_shows_only_the_frame_sought(clip_300: Path, image_folder: Path, kind: str) -> None:
    """Pause and seek in one go while the engine waits for its next paced frame (a GUI's seek bar click)."""
    seen = Seen()
    engine = started(sources(clip_300, image_folder)[kind], seen)
    try:
        engine.pause()
        engine.seek(20)
        seen.wait("the frame sought", lambda s: s[-1] == 20)
        at = len(seen.indices)
        engine.step()
        seen.wait_count(at + 1)
        engine.seek(3)
        seen.wait("the second frame sought", lambda s: s[-1] == 3)
        assert seen.indices[at - 1:] == [20, 21, 3]
    finally:
        engine.stop()
        assert engine.join(10)


@pytest.mark.parametrize("kind", ["video", "images"])
def test_many_seeks_while_paused_show_only_the_last(clip_300: Path, image_folder: Path, kind: str) -> None:
    """A seek-bar drag makes a seek per mouse move: the paused engine shows the last one, not one frame per seek."""
    seen = Seen()
    engine = started(sources(clip_300, image_folder)[kind], seen)
    try:
        engine.pause()
        for index in range(4, 15):
            engine.seek(index)
        seen.wait("the last frame sought", lambda s: s[-1] == 14)
        at = len(seen.indices)
        engine.seek(2)
        seen.wait("a later seek", lambda s: s[-1] == 2)
        assert seen.indices[at:] == [2]  # nothing ran on past 14 in between
        assert engine.paused
    finally:
        engine.stop()
        assert engine.join(10)


@pytest.mark.parametrize("kind", ["video", "images"])
def test_a_file_that_ended_stays_seekable(clip_300: Path, image_folder: Path, kind: str) -> None:
    """At the end the engine pauses on the last frame; seek, step and play from there all work."""
    seen = Seen()
    source = sources(clip_300, image_folder)[kind]
    last = 299 if kind == "video" else 29
    engine = Engine(source, hold_at_end=True, on_frame=seen).start()
    try:
        seen.wait("the last frame", lambda s: s and s[-1] == last)
        wait_at_end(engine)
        assert engine.paused and engine.running
        assert engine.stats().source_state == "ended"
        engine.step()  # nothing after the last frame: a step there is a no-op, not a queued surprise
        assert engine._steps == 0
        engine.seek(10)
        seen.wait("the frame sought after the end", lambda s: s[-1] == 10)
        assert not engine.at_end and engine.stats().source_state == "running"
        engine.step()
        seen.wait("a step after it", lambda s: s[-1] == 11)
        at = len(seen.indices)
        engine.seek(last - 3)  # play from here to the end again
        engine.resume()
        seen.wait("the end again", lambda s: s[-1] == last and len(s) > at + 2)
        assert seen.indices[at:] == list(range(last - 3, last + 1))
        wait_at_end(engine)
    finally:
        engine.stop()
        assert engine.join(10)
    assert engine.error is None


def test_without_hold_a_file_that_ends_ends_the_run(image_folder: Path) -> None:
    seen = Seen()
    stats = Engine(str(image_folder), on_frame=seen).run()
    assert seen.indices == list(range(30)) and stats.frames_out == 30
