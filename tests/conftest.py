"""Shared fixtures: real clips built once per session from real photos, and a throw-away models folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.media import moving_object_frames, panning_frames, write_clip
from tests.teach_media import captured_sets, fully_taught_model, taught_model, teach_clips  # noqa: F401 - fixtures shared by tests/teach and tests/stages/classify


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def clip_720p(media_dir: Path) -> Path:
    """A 60-frame 1280x720 H.264 clip panning across the astronaut photo."""
    return write_clip(media_dir / "pan720.mp4", panning_frames(60))


@pytest.fixture(scope="session")
def clip_300(media_dir: Path) -> Path:
    """A 300-frame 640x360 H.264 clip: a disc moving over the coffee photo."""
    frames, _ = moving_object_frames(300, speed=2)
    return write_clip(media_dir / "moving300.mp4", frames)


@pytest.fixture(autouse=True)
def private_data_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A throw-away user data folder for every test (VISION_DESK_DATA): no test reads or writes the user's face
    gallery or teach projects."""
    path = tmp_path_factory.mktemp("data")
    monkeypatch.setenv("VISION_DESK_DATA", str(path))
    return path


@pytest.fixture
def permissive_umask():  # noqa: ANN201 - a generator fixture
    """umask 0 for one test: what the code creates gets the mode the code sets, not one the umask narrowed."""
    old = os.umask(0)
    yield
    os.umask(old)


@pytest.fixture
def models_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty, throw-away models folder (VISION_DESK_MODELS), so no test sees or touches the user's models."""
    path = tmp_path / "models"
    monkeypatch.setenv("VISION_DESK_MODELS", str(path))
    return path


@pytest.fixture(scope="session")
def web_site(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201 - (base URL, folder, frame counts)
    """A video web site on 127.0.0.1 (tests/servers/web_video.py) for the whole session."""
    from tests.servers.http_files import serve_folder
    from tests.servers.web_video import WebVideoHandler, build_site

    folder = tmp_path_factory.mktemp("site")
    counts = build_site(folder)
    WebVideoHandler.reset(counts["live_segments"])
    with serve_folder(folder, WebVideoHandler) as base:
        yield base, folder, counts
    WebVideoHandler.gate.set()


@pytest.fixture
def web_base(web_site) -> str:  # noqa: ANN001
    """The site's base URL, with its live broadcast starting now and every link good."""
    from tests.servers.web_video import WebVideoHandler

    WebVideoHandler.reset(web_site[2]["live_segments"])
    return web_site[0]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``gpu`` run only where CUDA is; elsewhere they are skipped and say why."""
    if not any(item.get_closest_marker("gpu") for item in items):
        return
    from vision_desk.weights import pick_device

    if pick_device("cuda").startswith("cuda"):
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU (none here); scripts/gpu-check.sh runs these on a GPU machine")
    for item in items:
        if item.get_closest_marker("gpu"):
            item.add_marker(skip)
