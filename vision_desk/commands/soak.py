"""`vision-desk soak SOURCE --pipeline F --minutes M`: a long run sampled every few seconds, ending with a verdict.

With `--gui` it runs in the app, and `--gui --layout F` soaks a whole wall (every tile sampled, added up)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from vision_desk.errors import VisionDeskError

ORDER = 25


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("soak", help="run a pipeline for a long time and judge its memory, speed and latency",
                       description="Run a source through a pipeline for minutes or days, print resident memory, fps, "
                                   "latency p95, drops, reconnects, threads and open files every few seconds, and end "
                                   "with a verdict: the memory slope in MB per hour after warm-up, and whether latency "
                                   "stayed flat. Exit code 1 when either is outside its bound.")
    p.add_argument("source", nargs="?", help="any source `run` takes (a camera, a stream, demo: ...); none with --layout")
    p.add_argument("--pipeline", "-p", help="pipeline YAML file")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="STAGE.PARAM=VALUE")
    p.add_argument("--minutes", type=float, required=True, help="how long to run")
    p.add_argument("--interval", type=float, default=10.0, metavar="SECONDS", help="time between samples (default 10)")
    p.add_argument("--warmup", type=float, metavar="SECONDS",
                   help="samples before this are left out of the verdict (default: a quarter of the run, at most 5 min)")
    p.add_argument("--report", metavar="FILE.json", help="write every sample and the verdict as JSON")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--live", action="store_true", help="keep only the newest frame (the default for cameras)")
    mode.add_argument("--lossless", action="store_true", help="process every frame")
    mode.add_argument("--gui", action="store_true",
                      help="run it in the app, as `vision-desk gui SOURCE -p F` would, and sample the painted frames "
                           "and how late the GUI thread runs too")
    p.add_argument("--layout", metavar="FILE|NAME",
                   help="with --gui: open this wall layout (its tiles bring their own sources and pipelines) and "
                        "sample every tile: frames, fps, drops and reconnects added up, the worst latency")
    p.add_argument("--screenshot", metavar="PATH", help="with --gui: save a picture of the window before it closes")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vision_desk.engine.soak import judge, report
    from vision_desk.engine.uri import mask_uri

    if args.minutes <= 0 or args.interval <= 0:
        raise VisionDeskError("--minutes and --interval must be above 0.")
    if args.gui and args.overrides:
        raise VisionDeskError("--set is not taken with --gui (the app has no --set); put the values in the pipeline file.")
    if args.screenshot and not args.gui:
        raise VisionDeskError("--screenshot needs --gui: without the app there is no window to picture.")
    if args.layout and not args.gui:
        raise VisionDeskError("--layout needs --gui: a wall runs in the app.")
    if args.layout and (args.source or args.pipeline):
        raise VisionDeskError("--layout brings its own sources and pipelines; give no SOURCE or --pipeline with it.")
    if not args.source and not args.layout:
        raise VisionDeskError("give a SOURCE to soak (a camera, a stream, a file, demo:), or --gui --layout FILE.")
    if args.layout:
        _check_layout(args.layout)
    seconds = args.minutes * 60
    warmup = args.warmup if args.warmup is not None else min(300.0, seconds / 4)
    name = f"the wall {args.layout}" if args.layout else mask_uri(str(args.source))
    where = " in the app" if args.gui else ""
    print(f"soak: {name}{where} for {args.minutes:g} min, a sample every {args.interval:g} s, "
          f"verdict after {warmup:.0f} s of warm-up", file=sys.stderr)
    print(f"{'t (s)':>8} {'RSS MB':>8} {'frames':>8} {'fps':>6} {'p95 ms':>7} {'dropped':>8} {'reconn':>6} "
          f"{'threads':>7} {'files':>5}" + (f" {'shown':>8} {'GUI late':>8}" if args.gui else "") + "  state",
          file=sys.stderr)

    def show(s) -> None:  # noqa: ANN001
        app = f" {s.frames_shown:8d} {s.gui_late_max_ms:6.0f}ms" if s.frames_shown is not None else ""
        print(f"{s.t_s:8.0f} {s.rss_mb:8.1f} {s.frames:8d} {s.fps:6.1f} {s.latency_p95_ms:7.1f} {s.dropped:8d} "
              f"{s.reconnects:6d} {s.threads:7d} {s.open_files:5d}{app}  {s.source_state}", file=sys.stderr, flush=True)

    try:
        if args.gui:
            from vision_desk.gui.soak_app import soak_in_app

            samples, errors = soak_in_app(args.source, args.pipeline, seconds, args.interval, show, args.screenshot,
                                          layout=args.layout), []
            pipeline_name = ("each tile's own" if args.layout else args.pipeline) or "the app's default pipeline"
        else:
            samples, errors, pipeline_name = _soak_headless(args, seconds, show)
    except KeyboardInterrupt:
        print("stopped early", file=sys.stderr)
        return 130
    if len(samples) < 3:
        raise VisionDeskError(f"the run gave {len(samples)} samples; run longer than three intervals for a verdict.")
    verdict = judge(samples, warmup)
    for line in verdict.lines():
        print(line, file=sys.stderr)
    for err in errors:
        print(f"warning: {err}", file=sys.stderr)
    if args.report:
        Path(args.report).write_text(json.dumps(report(name, pipeline_name, samples, verdict), indent=1))
    return 0 if verdict.passed else 1


def _check_layout(layout: str) -> None:
    """Reads the layout as the app will, so that a bad one is one sentence now, not an empty wall for the whole run."""
    from vision_desk.gui.layouts import layout_path, load_layout

    load_layout(Path(layout) if Path(layout).is_file() else layout_path(layout))


def _soak_headless(args: argparse.Namespace, seconds: float, show) -> tuple[list, list[str], str]:  # noqa: ANN001
    """The engine alone, as ``run`` drives it: (samples, the pipeline's stage errors, the pipeline's name)."""
    from vision_desk.commands.run import build_pipeline
    from vision_desk.engine.soak import soak
    from vision_desk.engine.sources import open_source

    pipeline = build_pipeline(args.pipeline, args.overrides, stage_errors="disable")
    source = open_source(args.source)
    live = True if args.live else False if args.lossless else None
    try:
        samples = soak(source, pipeline, seconds, interval_s=args.interval, on_sample=show, live=live)
    finally:
        pipeline.close()
    return samples, [str(e) for e in pipeline.errors], pipeline.name
