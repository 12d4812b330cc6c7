"""Seeking a paused file shows the frame sought, not one the reader had queued before the seek."""

from __future__ import annotations

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


def started(source: str, seen: list[int], realtime: bool = True) -> Engine:
    """An engine on source that has processed its first frames (their indices are appended to seen)."""
    engine = Engine(source, realtime=realtime, on_frame=lambda f: seen.append(f.index)).start()
    wait_for(seen, 2)
    return engine


def wait_for(seen: list[int], count: int) -> None:
    deadline = time.monotonic() + 20
    while len(seen) < count and time.monotonic() < deadline:
        time.sleep(0.01)


@pytest.mark.parametrize("kind", ["video", "images"])
@pytest.mark.parametrize("realtime", [False, True])
def test_seek_then_step_while_paused(clip_300: Path, image_folder: Path, kind: str, realtime: bool) -> None:
    seen: list[int] = []
    engine = started(str(clip_300 if kind == "video" else image_folder), seen, realtime)
    try:
        engine.pause()
        time.sleep(0.3)  # the reader fills its queue meanwhile (the race this guards against)
        before = len(seen)
        engine.seek(20)
        wait_for(seen, before + 1)
        engine.step()
        wait_for(seen, before + 2)
        time.sleep(0.2)
        assert seen[before:] == [20, 21]
    finally:
        engine.stop()
        assert engine.join(10)


@pytest.mark.parametrize("kind", ["video", "images"])
def test_seek_right_after_pause_shows_only_the_frame_sought(clip_300: Path, image_folder: Path, kind: str) -> None:
    """Pause and seek in one go while the engine waits for its next paced frame (a GUI's seek bar click)."""
    seen: list[int] = []
    engine = started(str(clip_300 if kind == "video" else image_folder), seen)
    try:
        engine.pause()
        engine.seek(20)
        deadline = time.monotonic() + 20
        while (not seen or seen[-1] != 20) and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)
        assert seen[-1] == 20 and 21 not in seen
        engine.step()
        wait_for(seen, len(seen) + 1)
        time.sleep(0.3)
        assert seen[-1] == 21 and 22 not in seen
    finally:
        engine.stop()
        assert engine.join(10)
