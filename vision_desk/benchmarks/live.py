"""Live rows: heavy stages in async lanes against the same stages in order, on live sources (``--only live``).

Three cases, each played as a live source for 30 s (10 s with ``--quick``)
once the stages have loaded:

- the showcase pipeline (faces, codes, OCR) on the demo source;
- detect + track on a 30 fps 1280x720 file of six shapes bouncing around the
  view, played live (the ``shapes640`` model at its own 640);
- faces with dlib recognition on the demo source.

Per case, the ``source`` row is the frames the source delivered per second
and the display rows the frames that came out, so their ratio is the share
of the camera's frames the viewer sees (goal 0.9 or more on 2 cores). The
notes give the p95 capture-to-output latency (goal 100 ms or less), the
longest gap between two output frames (goal 150 ms or less: no freeze),
each lane's analyses per second, and the overlay accuracy: the mean IoU of
the boxes shown against the boxes the same stage computes in order on the
same frames (each reference box paired with its best shown box, 0 when none),
so that smoothness is never bought with stale boxes. The in-order row runs
the same stages with ``run: sync`` (a third of the time) as the baseline.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from vision_desk.benchmarks import BenchContext, BenchRow

ORDER = 90
SECONDS = 30.0


@dataclass
class LiveRun:
    """What came out of one live run, once its stages had loaded."""

    fps_in: float
    fps_out: float
    latency_p95_ms: float
    longest_gap_ms: float
    lanes: dict[str, float]  # stage id -> analyses per second
    shown: dict[int, np.ndarray] = field(default_factory=dict)  # frame index -> boxes of the scored stage

    def note(self, accuracy: float | None = None) -> str:
        lanes = ", ".join(f"{k} {v:.1f}/s" for k, v in self.lanes.items())
        acc = f", overlay IoU {accuracy:.2f}" if accuracy is not None else ""
        return (f"p95 latency {self.latency_p95_ms:.0f} ms, longest gap {self.longest_gap_ms:.0f} ms"
                + (f", lanes: {lanes}" if lanes else "") + acc)


def play_live(source: str, stages: list[dict], seconds: float, scored: str | None = None) -> LiveRun:
    """Plays a source live (a file paced at its frame rate) through the stages; measures after loading."""
    from vision_desk.engine.pipeline import Pipeline, spec_from_dict
    from vision_desk.engine.runner import Engine

    outs: list[tuple[float, float]] = []  # (capture time, output time) of frames after loading
    shown: dict[int, np.ndarray] = {}
    window: dict[str, float] = {}
    lanes: dict[str, float] = {}
    engine: Engine

    def on_frame(frame) -> None:  # noqa: ANN001
        now = time.perf_counter()
        if "start" not in window:
            if engine.pipeline.loading():
                return
            window["start"], window["in0"] = now, engine.stats().frames_in
        outs.append((frame.capture_time, now))
        if len(outs) % 30 == 0:  # the lanes' rates while they run (they are gone once the run ends)
            lanes.update({r["stage"]: r["analysis_fps"] for r in engine.pipeline.stage_rows() if r.get("analysis_fps")})
        if scored:
            shown[frame.index] = frame.detections.xyxy[frame.detections.source == scored].copy()

    engine = Engine(source, Pipeline(spec_from_dict({"stages": stages})), live=True, realtime=True,
                    annotate=True, duration=seconds, on_frame=on_frame)
    engine.run()
    stats = engine.stats()
    span = outs[-1][1] - window["start"] if len(outs) > 1 else float("nan")
    capture, out = np.array(outs).T
    return LiveRun(fps_in=(stats.frames_in - window["in0"]) / span, fps_out=(len(outs) - 1) / span,
                   latency_p95_ms=float(np.percentile((out - capture) * 1000, 95)),
                   longest_gap_ms=float(np.diff(out).max() * 1000), lanes=lanes, shown=shown)


def overlay_accuracy(shown: dict[int, np.ndarray], reference: dict[int, np.ndarray]) -> float:
    """Mean over the reference boxes of the best IoU with a box shown on the same frame (0 where none)."""
    from vision_desk.engine.results import box_iou

    ious = []
    for index, ref in reference.items():
        got = shown.get(index)
        if got is None:
            continue
        if len(ref) and len(got):
            ious.extend(box_iou(ref, got).max(axis=1).tolist())
        else:
            ious.extend([0.0] * len(ref))
    return float(np.mean(ious)) if ious else float("nan")


def reference_boxes(images: dict[int, np.ndarray], stages: list[dict], scored: str) -> dict[int, np.ndarray]:
    """The stages run in order (sync) on the frames, by index: the boxes a synchronous run computes."""
    from vision_desk.engine.frame import Frame
    from vision_desk.engine.pipeline import Pipeline, spec_from_dict

    pipeline = Pipeline(spec_from_dict({"stages": with_run(stages, "sync")}))
    pipeline.setup()
    out = {}
    for index, image in sorted(images.items()):
        frame = pipeline.process(Frame(image, index, index / 30))
        out[index] = frame.detections.xyxy[frame.detections.source == scored]
    pipeline.close()
    return out


def demo_frames(indices: list[int]) -> dict[int, np.ndarray]:
    from vision_desk.engine.sources.demo import build_tiles, render_scene

    tiles = build_tiles()
    return {i: render_scene(tiles, i / 30).copy() for i in indices}


def file_frames(path: Path, indices: list[int]) -> dict[int, np.ndarray]:
    """Every frame of the file up to the last index asked for (a tracker needs them all, in order)."""
    import cv2

    out = {}
    cap = cv2.VideoCapture(str(path))
    for i in range(max(indices) + 1):
        ok, image = cap.read()
        if not ok:
            break
        out[i] = image
    cap.release()
    return out


def sample(shown: dict[int, np.ndarray], n: int) -> list[int]:
    keys = sorted(shown)
    return keys[:: max(1, len(keys) // n)]


def with_run(stages: list[dict], run: str) -> list[dict]:
    from vision_desk.engine.stage import AnalysisParams, stage_class

    return [{**s, "params": {**s.get("params", {}), "run": run}}
            if issubclass(stage_class(s["stage"]).Params, AnalysisParams) else s for s in stages]


def case_rows(group: str, source: str, stages: list[dict], seconds: float, scored: str | None = None,
              frames_of=None, reference: list[dict] | None = None) -> Iterator[BenchRow]:  # noqa: ANN001
    """The rows of one case; with ``scored``, the overlay accuracy of that stage's boxes against ``reference``
    (stages) run in order on ``frames_of(indices)``."""
    lanes = play_live(source, with_run(stages, "async"), seconds, scored)
    accuracy = None
    if scored and frames_of is not None and reference is not None:
        picked = sample(lanes.shown, 60)
        boxes = reference_boxes(frames_of(picked), reference, scored)
        accuracy = overlay_accuracy({i: lanes.shown[i] for i in picked}, {i: boxes[i] for i in picked if i in boxes})
    in_order = play_live(source, with_run(stages, "sync"), max(5.0, seconds / 3))
    yield BenchRow(group, "source", lanes.fps_in)
    yield BenchRow(group, "display, stages async (lanes)", lanes.fps_out, baseline="source", note=lanes.note(accuracy))
    yield BenchRow(group, "display, stages in order (sync)", in_order.fps_out, baseline="source", note=in_order.note())


def bouncing_clip(folder: Path, frames: int) -> Path:
    """A 30 fps 1280x720 clip of six shapes of the shapes640 world bouncing around the view (2-6 px per frame),
    so every part of a live run has the same objects in view to score."""
    from vision_desk.benchmarks.shapes import CLASSES, Mover, world_scale, write_movers_clip

    scale = world_scale("parity-640", 1280)
    rng = np.random.default_rng(11)
    movers = []
    for k in range(6):
        r = float(rng.uniform(30, 44)) * scale
        angle = rng.uniform(0, 2 * np.pi)
        speed = float(rng.uniform(1.0, 3.0)) * scale
        movers.append(Mover(CLASSES[k % 3], float(rng.uniform(r, 1280 - r)), float(rng.uniform(r, 720 - r)),
                            speed * np.cos(angle), speed * np.sin(angle), r, k + 1, bounce=(1280, 720)))
    return write_movers_clip(folder / f"bouncing_720p_{frames}.mp4", movers, frames, (1280, 720), bg="coffee")


def rows(ctx: BenchContext) -> Iterator[BenchRow]:
    from vision_desk.benchmarks.detect import bench_cache, bench_model
    from vision_desk.engine.pipeline import load_spec

    seconds = 10.0 if ctx.quick else SECONDS
    root = Path(__file__).resolve().parents[2]
    showcase = [s.as_dict() for s in load_spec(root / "pipelines" / "showcase.yaml").stages]
    yield from case_rows("live: showcase on demo:", "demo:", showcase, seconds, "faces", demo_frames,
                         [{"stage": "faces"}])

    model = bench_model("shapes640-yolo11n.pt", "parity-640")
    clip = bouncing_clip(bench_cache(), int(30 * (seconds + 30)))  # long enough for loading + the run
    detect = {"stage": "detect", "params": {"model": str(model), "confidence": 0.1}}
    pipeline = [detect, {"stage": "track"}]
    yield from case_rows("live: detect + track, 720p file", str(clip), pipeline, seconds, "detect",
                         lambda idx: file_frames(clip, idx), pipeline)

    from vision_desk.benchmarks.faces import astronaut_gallery

    with tempfile.TemporaryDirectory() as tmp:
        gallery = astronaut_gallery(Path(tmp))
        faces = {"stage": "faces", "params": {"recognize": True, "backend": "dlib", "gallery": str(gallery)}}
        yield from case_rows("live: faces + recognition on demo:", "demo:", [faces], seconds, "faces", demo_frames,
                             [{"stage": "faces"}])
