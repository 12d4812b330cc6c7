"""Faces rows: faces per second at 720p, MTCNN detection only (the baseline) and with dlib recognition.

The clip pans across the astronaut photo (one face per frame). Frames are
decoded before timing, so the rows measure the faces stage alone. The
recognition row matches against a gallery holding the astronaut, enrolled
from the photo itself, in a temporary folder.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Iterator

import cv2

from vision_desk.benchmarks import BenchContext, BenchRow
from vision_desk.benchmarks.media import read_frames

ORDER = 60


def faces_rate(frames: list, params: dict) -> tuple[int, int, float]:
    """(frames, faces found, seconds) for the faces stage over the frames (set up before timing)."""
    from vision_desk.engine.frame import Frame
    from vision_desk.engine.pipeline import Pipeline, spec_from_dict

    pipeline = Pipeline(spec_from_dict({"stages": [{"stage": "faces", "params": params}]}))
    pipeline.setup()
    faces = 0
    t0 = time.perf_counter()
    for i, image in enumerate(frames):
        faces += pipeline.process(Frame(image, i, i / 30)).values["faces_count"]
    seconds = time.perf_counter() - t0
    pipeline.close()
    return len(frames), faces, seconds


def astronaut_gallery(folder: Path) -> Path:
    """A dlib gallery in ``folder`` holding the astronaut, enrolled from scikit-image's photo of her."""
    from skimage import data

    from vision_desk.stages.faces.gallery import Gallery
    from vision_desk.stages.faces.recognize import enrol_images

    photo = folder / "astronaut.png"
    cv2.imwrite(str(photo), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    gallery = folder / "gallery.sqlite"
    with Gallery(gallery) as g:
        enrol_images(g, "astronaut", [photo], "dlib")
    return gallery


def rows(ctx: BenchContext) -> Iterator[BenchRow]:
    frames = read_frames(ctx.clip(1280, 720, ctx.frames(40)))
    group = "faces 720p"  # the speed column counts faces per second here
    n, faces, seconds = faces_rate(frames, {})
    yield BenchRow(group, "MTCNN detection (faces/s)", faces / seconds, n, note=f"{n / seconds:.1f} frames/s, {faces} faces in {n} frames")
    with tempfile.TemporaryDirectory() as tmp:
        gallery = astronaut_gallery(Path(tmp))
        n, faces, seconds = faces_rate(frames, {"recognize": True, "backend": "dlib", "gallery": str(gallery)})
    yield BenchRow(group, "MTCNN + dlib recognition (faces/s)", faces / seconds, n, baseline="MTCNN detection (faces/s)",
                   note=f"{n / seconds:.1f} frames/s, {faces} faces in {n} frames")
