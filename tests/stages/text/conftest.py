"""Fixtures for the text family: demo-scene frames and one EasyOCR reader per session (loading takes seconds)."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def demo_frames() -> list[np.ndarray]:
    """Eight 1280x720 frames of the built-in demo scene, half a second apart (its tiles drift a few pixels)."""
    from vision_desk.engine.sources.demo import build_tiles, render_scene

    tiles = build_tiles()
    return [render_scene(tiles, i * 0.5) for i in range(8)]


@pytest.fixture(scope="session")
def ocr_reader():
    """The English EasyOCR reader the ocr stage uses (cached, so stages built in tests share it)."""
    from vision_desk.stages.text.easyocr_models import load_reader

    return load_reader(["en"])
