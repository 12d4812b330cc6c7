"""`vision-desk run SOURCE...`: sources through a pipeline, with recording and export.

One source runs as it always has (``--record OUT.mp4``, ``--export OUT.jsonl``).
Several run in one process (:mod:`vision_desk.engine.multi`), each with its own
pipeline state and the heavy models shared, with outputs named after each
source under ``--record-dir`` and ``--export-dir``. With no source, the
pipeline file's own ``source:`` is run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from vision_desk.engine.pipeline import ON_STAGE_ERROR, Pipeline, PipelineSpec, apply_overrides, load_spec, preset_source
from vision_desk.errors import VisionDeskError

ORDER = 10


def register(sub: argparse._SubParsersAction) -> None:
    from vision_desk.engine.model_pool import GATHER_MS

    p = sub.add_parser("run", help="run one or more sources through a pipeline",
                       description="Run one or more sources through a pipeline, optionally recording and exporting results. "
                                   "Several sources run in one process with the heavy models shared.")
    p.add_argument("sources", nargs="*", metavar="SOURCE",
                   help="0 | cam:0 | video file | image folder or glob | rtsp:// URL | web page or playlist "
                        "URL (YouTube, .m3u8; ?height=720 picks the quality) | screen: | demo: (several: one stream each; "
                        "none: the pipeline file's own source)")
    p.add_argument("--pipeline", "-p", help="pipeline YAML file (default: none, or the file's own source)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="STAGE.PARAM=VALUE", help="override a parameter (repeatable)")
    p.add_argument("--record", metavar="OUT.mp4", help="record H.264 MP4 (annotated unless --raw); one source only")
    p.add_argument("--raw", action="store_true", help="record frames without overlays")
    p.add_argument("--export", metavar="OUT.jsonl", help="write results as JSON Lines, one object per frame; one source only")
    p.add_argument("--record-dir", metavar="DIR", help="record each source to DIR/NAME.mp4, NAME made from the source "
                                                      "as the app names its recordings (credentials left out), e.g. "
                                                      "127-0-0-1-8554-cam.mp4 for rtsp://user:pw@127.0.0.1:8554/cam")
    p.add_argument("--export-dir", metavar="DIR", help="write each source's results to DIR/NAME.jsonl")
    p.add_argument("--gather-ms", type=float, default=GATHER_MS, metavar="MS",
                   help=f"several sources: how long a shared model waits for the other streams' frames to batch them "
                        f"into one inference call (default {GATHER_MS:g})")
    p.add_argument("--max-frames", type=int, metavar="N", help="stop after N processed frames (per source)")
    p.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this many seconds")
    p.add_argument("--on-stage-error", choices=tuple(ON_STAGE_ERROR), default="continue",
                   help="a stage that raises on a frame: continue (default: the frame's number and the error are "
                        "printed, the frame goes on without that stage's results, the next frame tries it again) or "
                        "stop the run (with several sources: that source's stream) with the error; a stage that cannot "
                        "start always stops it")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--live", action="store_true",
                      help="keep only the newest frame (drop when slow); a file then plays at its frame rate, as a camera")
    mode.add_argument("--lossless", action="store_true", help="process every frame (never drop)")
    p.set_defaults(func=run)


def load_pipeline_spec(path: str | None, overrides: list[str]) -> PipelineSpec:
    """The pipeline file (or an empty pipeline) with the ``--set`` overrides applied; notices go to stderr."""
    spec = load_spec(path) if path else PipelineSpec("none")
    if overrides:
        spec = apply_overrides(spec, overrides)
    for notice in spec.notices:
        print(f"notice: {notice}", file=sys.stderr)
    return spec


def build_pipeline(path: str | None, overrides: list[str], stage_errors: str = "raise") -> Pipeline:
    return Pipeline(load_pipeline_spec(path, overrides), stage_errors=stage_errors)


def run(args: argparse.Namespace) -> int:
    from vision_desk.engine.runner import Engine
    from vision_desk.engine.sinks.export import JsonlSink
    from vision_desk.engine.sinks.recorder import RecorderSink
    from vision_desk.engine.sources import open_source

    if args.max_frames is not None and args.max_frames < 1:
        raise VisionDeskError("--max-frames must be at least 1.")
    stage_errors = ON_STAGE_ERROR[args.on_stage_error]
    spec = load_pipeline_spec(args.pipeline, args.overrides)
    sources = list(args.sources) or ([preset_source(spec.source, Path(args.pipeline))] if spec.source else [])
    if not sources:
        raise VisionDeskError("no source given; name one (e.g. vision-desk run demo:) or give a pipeline file with a "
                              "'source:' line.")
    if len(sources) > 1 or args.record_dir or args.export_dir:
        return run_many(args, spec, sources, stage_errors)
    pipeline = Pipeline(spec, stage_errors=stage_errors)
    source = open_source(sources[0])
    sinks = []
    if args.record:
        sinks.append(RecorderSink(args.record, None, annotated=not args.raw))
    if args.export:
        sinks.append(JsonlSink(args.export))
    live = True if args.live else False if args.lossless else None
    # A file run live stands in for a camera: paced at its frame rate (read as fast as it decodes, a file ended
    # before the stages had loaded, and a slow stage saw one frame in five).
    engine = Engine(source, pipeline, sinks=sinks, live=live, realtime=bool(args.live), annotate=bool(args.record and not args.raw),
                    max_frames=args.max_frames, duration=args.duration)
    engine.start()
    reporter = _Progress(engine, args.max_frames)
    wait_reporting(engine, lambda: (reporter.update(), reporter.warn(pipeline)))
    reporter.warn(pipeline)
    reporter.close()
    if engine.error:
        raise engine.error
    print(f"done: {done_words(engine.stats(), args.record, args.export)}", file=sys.stderr)
    if pipeline.failures:
        print(f"warning: {pipeline.failures} stage failure{'s' if pipeline.failures > 1 else ''} in this run "
              "(printed above as they came)", file=sys.stderr)
    return 0


def run_many(args: argparse.Namespace, spec: PipelineSpec, sources: list[str], stage_errors: str) -> int:
    """Several sources in one process, outputs per source; 1 when a stream ended with an error, else 0.

    A stage failure is printed as it comes, naming its stream; with ``--on-stage-error stop`` it ends that
    stream only.
    """
    from vision_desk.engine import model_pool
    from vision_desk.engine.multi import MultiEngine

    if args.record or args.export:
        raise VisionDeskError("--record and --export name one file, for one source; with several sources use "
                              "--record-dir DIR and --export-dir DIR (one file per source).")
    try:
        model_pool.configure(gather_ms=args.gather_ms)
    except ValueError as err:
        raise VisionDeskError(f"--gather-ms: {err}.") from None
    live = True if args.live else False if args.lossless else None
    multi = MultiEngine(sources, spec, record_dir=args.record_dir, export_dir=args.export_dir, raw=args.raw, live=live,
                        realtime=bool(args.live), max_frames=args.max_frames, duration=args.duration,
                        stage_errors=stage_errors).start()
    status = _StatusLine()
    wait_reporting(multi, lambda: status.update(multi))
    status.update(multi)
    status.close()
    for stream in multi.streams:
        if stream.error:
            print(f"error: {stream.label}: {stream.error}", file=sys.stderr)
        print(f"done: {stream.label}: {done_words(stream.stats(), stream.record, stream.export)}", file=sys.stderr)
        if stream.failures:
            print(f"warning: {stream.label}: {stream.failures} stage failure{'s' if stream.failures > 1 else ''} "
                  "(printed above as they came)", file=sys.stderr)
    return 1 if any(stream.error for stream in multi.streams) else 0


def wait_reporting(runner, report) -> None:  # noqa: ANN001 - an Engine or MultiEngine, started; a callable
    """Waits for the run to end, calling ``report()`` four times a second; Ctrl+C stops it (30 s to close)."""
    try:
        while not runner.join(0.25):
            report()
    except KeyboardInterrupt:
        print("\nstopping...", file=sys.stderr)
        runner.stop()
        runner.join(30)


def done_words(s, record: object, export: object) -> str:  # noqa: ANN001 - a StatsSnapshot
    """What a finished run did, for its ``done:`` line."""
    return (f"{s.frames_out} frames in {s.elapsed_s:.1f} s ({s.frames_out / max(s.elapsed_s, 1e-9):.1f} fps), "
            f"dropped {s.dropped}, latency {s.latency_ms:.0f} ms"
            + (f", recorded {record}" if record else "") + (f", exported {export}" if export else ""))


class _StatusLine:
    """One line on a terminal (stderr) for a multi-stream run: each stream's state and fps, the total fps."""

    def __init__(self) -> None:
        self.last = 0.0

    def update(self, multi) -> None:  # noqa: ANN001 - MultiEngine
        """Prints the stage failures reported since the last call (one line each, naming the stream), and the
        status line at most once a second."""
        for stream in multi.streams:
            while stream.engine.pipeline.errors:
                line = f"warning: {stream.label}: {stream.engine.pipeline.errors.popleft()}"
                print(("\n" if self.last else "") + line, file=sys.stderr)
        if time.monotonic() - self.last < 1.0 or not sys.stderr.isatty():
            return
        self.last = time.monotonic()
        stats = [(stream.name, stream.stats()) for stream in multi.streams]
        total = sum(s.fps_out for _, s in stats)
        line = f"{total:.1f} fps | " + " | ".join(f"{name} {s.source_state} {s.fps_out:.1f}" for name, s in stats)
        print("\r" + line[:150].ljust(150), end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.last:
            print(file=sys.stderr)


class _Progress:
    """A progress bar with ETA for finite sources, a one-line status for live ones (stderr)."""

    def __init__(self, engine, max_frames: int | None) -> None:  # noqa: ANN001
        from tqdm import tqdm

        self.engine = engine
        self.bar = None
        self.max_frames = max_frames
        self.tqdm = tqdm
        self.last_line = 0.0

    def update(self) -> None:
        s = self.engine.stats()
        total = self.max_frames or s.total
        if not self.engine.source.live and total:
            if self.bar is None and s.frames_out == 0:
                return  # no bar before the first frame: a stage that cannot start leaves its error on its own line
            if self.bar is None:
                self.bar = self.tqdm(total=total, unit="frame", file=sys.stderr, dynamic_ncols=True)
            self.bar.update(s.frames_out - self.bar.n)
            self.bar.set_postfix_str(f"{s.fps_out:.1f} fps")
        elif time.monotonic() - self.last_line > 1.0 and sys.stderr.isatty():
            self.last_line = time.monotonic()
            line = (f"[{s.source_state}] {s.frames_out} frames, {s.fps_in:.1f} fps in, {s.fps_out:.1f} fps out, "
                    f"dropped {s.dropped}, latency {s.latency_ms:.0f} ms {s.source_message}")
            print("\r" + line[:150].ljust(150), end="", file=sys.stderr, flush=True)

    def warn(self, pipeline: Pipeline) -> None:
        """Prints the stage failures reported since the last call, one line each, above the progress bar."""
        while pipeline.errors:
            line = f"warning: {pipeline.errors.popleft()}"
            if self.bar is not None:
                self.bar.write(line, file=sys.stderr)
            else:
                print(("\n" if self.last_line else "") + line, file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.update()
            self.bar.close()
        elif self.last_line:
            print(file=sys.stderr)
