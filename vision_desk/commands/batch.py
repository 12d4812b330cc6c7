"""`vision-desk batch INPUT_DIR|LIST.txt --pipeline FILE --out OUT_DIR`."""

from __future__ import annotations

import argparse
import sys

from vision_desk.wording import plural

ORDER = 20


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("batch", help="process every video and image in a folder or a list",
                       description="Process every video and image in a folder, or every source in a list, through a "
                                   "pipeline, headless.")
    p.add_argument("input_dir", metavar="INPUT",
                   help="a folder of videos and images, or a text file with one source a line: file paths and web "
                        "video URLs (YouTube, any site yt-dlp supports, .m3u8 playlists)")
    p.add_argument("--pipeline", "-p", required=True, help="pipeline YAML file")
    p.add_argument("--out", "-o", required=True, metavar="OUT_DIR", help="output folder (mirrors the input tree)")
    p.add_argument("--recursive", "-r", action="store_true", help="include subfolders")
    p.add_argument("--resume", action="store_true", help="skip inputs whose outputs are already complete")
    p.add_argument("--no-video", action="store_true", help="write only the JSONL results, no annotated video")
    p.add_argument("--raw", action="store_true", help="record videos without overlays")
    p.add_argument("--workers", "-j", default="auto", metavar="N|auto",
                   help="files processed in parallel, each in its own process with its own models (default auto: one "
                        "per core, at most one per file; 1 runs everything in this process)")
    p.add_argument("--segment", type=float, default=None, metavar="SECONDS",
                   help="in parallel runs, cut videos at least 1.5 times this long at keyframes into segments of about "
                        "this length, processed in parallel and joined (default 300; 0 never cuts; pipelines that carry "
                        "state between frames, such as track, are never cut)")
    p.add_argument("--ray", metavar="auto|ADDRESS",
                   help="run the files as tasks on a Ray cluster: auto (the cluster this machine joined), HOST:PORT or "
                        "ray://HOST:PORT; every node must see the inputs, the output folder and the models at the same paths")
    p.add_argument("--on-stage-error", choices=("continue", "stop"), default="stop",
                   help="a stage that raises on a frame: stop (default: that file fails with the error, the others go "
                        "on) or continue (the frame's number and the error are printed, the file goes on)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="STAGE.PARAM=VALUE")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from vision_desk.engine.batch import SEGMENT_SECONDS, run_batch
    from vision_desk.engine.pipeline import ON_STAGE_ERROR, apply_overrides, load_spec
    from vision_desk.errors import VisionDeskError

    if args.workers != "auto" and not (args.workers.isdigit() and int(args.workers) >= 1):
        raise VisionDeskError(f"--workers '{args.workers}' is not a number of processes; give 1, 2, ... or auto.")
    spec = load_spec(args.pipeline)
    if args.overrides:
        spec = apply_overrides(spec, args.overrides)
    for notice in spec.notices:
        print(f"notice: {notice}", file=sys.stderr)
    if args.ray:  # join the cluster first: an unreachable one is one sentence, before any progress bar
        from vision_desk.engine.batch_ray import connect

        connect(args.ray)
    # one overall bar (files done, and the frames of the files in progress), with a line per finished file
    bar = tqdm(total=None, unit="file", desc="batch", file=sys.stderr, dynamic_ncols=True)
    in_progress: dict[str, str] = {}  # file -> "name frames/total"

    def on_progress(p) -> None:  # noqa: ANN001
        bar.total = p.file_count
        in_progress[str(p.item.rel)] = f"{p.item.rel.name} {p.frame}/{p.total_frames or '?'}"
        bar.set_postfix_str(", ".join(in_progress.values())[:80], refresh=True)

    def on_item_done(item) -> None:  # noqa: ANN001
        in_progress.pop(str(item.rel), None)
        bar.update(1)
        msg = {"done": f"ok      {item.rel} ({plural(item.frames, 'frame')}, {item.frames / max(item.seconds, 1e-9):.1f} fps)",
               "skipped": f"skipped {item.rel} (outputs complete)",
               "failed": f"FAILED  {item.failure}",
               "cancelled": f"cancelled {item.rel}"}[item.status]
        for warning in item.warnings:
            bar.write(f"warning {item.rel}: {warning}", file=sys.stderr)
        bar.write(msg, file=sys.stderr)

    summary = run_batch(args.input_dir, spec, args.out, recursive=args.recursive, resume=args.resume,
                        video=not args.no_video, annotated=not args.raw, workers=args.workers, ray=args.ray,
                        segment_seconds=SEGMENT_SECONDS if args.segment is None else args.segment,
                        on_progress=on_progress, on_item_done=on_item_done,
                        stage_errors=ON_STAGE_ERROR[args.on_stage_error])
    bar.close()
    print(
        f"batch: {summary.count('done')} done, {summary.count('failed')} failed, {summary.count('skipped')} skipped; "
        f"{plural(summary.frames, 'frame')} in {summary.seconds:.1f} s ({summary.frames / max(summary.seconds, 1e-9):.1f} fps "
        f"overall, {summary.fps:.1f} fps per file while processing)",
        file=sys.stderr,
    )
    for item in summary.failed:
        print(f"  failed: {item.failure}", file=sys.stderr)
    return 1 if summary.failed else 0
