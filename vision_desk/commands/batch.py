"""`vision-desk batch INPUT_DIR --pipeline FILE --out OUT_DIR`."""

from __future__ import annotations

import argparse
import sys

ORDER = 20


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("batch", help="process every video and image in a folder", description="Process every video and image in a folder through a pipeline, headless.")
    p.add_argument("input_dir")
    p.add_argument("--pipeline", "-p", required=True, help="pipeline YAML file")
    p.add_argument("--out", required=True, metavar="OUT_DIR", help="output folder (mirrors the input tree)")
    p.add_argument("--recursive", "-r", action="store_true", help="include subfolders")
    p.add_argument("--resume", action="store_true", help="skip inputs whose outputs are already complete")
    p.add_argument("--no-video", action="store_true", help="write only the JSONL results, no annotated video")
    p.add_argument("--raw", action="store_true", help="record videos without overlays")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="STAGE.PARAM=VALUE")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from vision_desk.engine.batch import run_batch
    from vision_desk.engine.pipeline import apply_overrides, load_spec

    spec = load_spec(args.pipeline)
    if args.overrides:
        spec = apply_overrides(spec, args.overrides)
    for notice in spec.notices:
        print(f"notice: {notice}", file=sys.stderr)
    bars: dict[str, tqdm] = {}

    def on_progress(p) -> None:  # noqa: ANN001
        overall = bars.setdefault("all", tqdm(total=p.file_count, unit="file", desc="batch", position=0, file=sys.stderr, dynamic_ncols=True))
        bar = bars.get("file")
        if bar is None or bar.desc != str(p.item.rel):
            if bar is not None:
                bar.close()
            bar = bars["file"] = tqdm(total=p.total_frames, unit="frame", desc=str(p.item.rel), position=1, leave=False, file=sys.stderr, dynamic_ncols=True)
        bar.update(p.frame - bar.n)
        overall.n = p.file_index
        overall.refresh()

    def on_item_done(item) -> None:  # noqa: ANN001
        if "all" in bars:
            bars["all"].n += 0
        msg = {"done": f"ok      {item.rel} ({item.frames} frames, {item.frames / max(item.seconds, 1e-9):.1f} fps)",
               "skipped": f"skipped {item.rel} (outputs complete)",
               "failed": f"FAILED  {item.rel}: {item.error}",
               "cancelled": f"cancelled {item.rel}"}[item.status]
        tqdm.write(msg, file=sys.stderr)

    summary = run_batch(args.input_dir, spec, args.out, recursive=args.recursive, resume=args.resume,
                        video=not args.no_video, annotated=not args.raw, on_progress=on_progress, on_item_done=on_item_done)
    for bar in bars.values():
        bar.close()
    print(
        f"batch: {summary.count('done')} done, {summary.count('failed')} failed, {summary.count('skipped')} skipped; "
        f"{summary.frames} frames in {summary.seconds:.1f} s ({summary.fps:.1f} fps while processing)",
        file=sys.stderr,
    )
    for item in summary.failed:
        print(f"  failed: {item.rel}: {item.error}", file=sys.stderr)
    return 1 if summary.failed else 0
