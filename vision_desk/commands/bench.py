"""`vision-desk bench`: throughput of the engine and the stage families, as ratios to baselines."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

ORDER = 40


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="measure frames per second (prints ratios to baselines)")
    p.add_argument("--only", action="append", metavar="FAMILY", help="run one family's rows (core, classical, detect, ...)")
    p.add_argument("--quick", action="store_true", help="fewer frames (a rough figure in a fraction of the time)")
    p.add_argument("--workdir", help="where generated clips are cached (default: a temporary folder)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vision_desk.benchmarks import BenchContext, ratio, run_all

    done = []

    def report(row) -> None:  # noqa: ANN001
        done.append(row)
        r = ratio(row, done)
        rtext = f"{r:5.2f}x {row.baseline}" if r is not None else ""
        speed = f"{row.fps:8.1f} fps" if row.fps else f"{'':12}"  # a row of seconds (an overhead) has no speed
        print(f"{row.group:<14} {row.name:<48} {speed}  {rtext} {row.note}".rstrip(), flush=True)

    print(f"{'group':<14} {'row':<48} {'speed':>12}  ratio")
    if args.workdir:
        Path(args.workdir).mkdir(parents=True, exist_ok=True)
        run_all(BenchContext(Path(args.workdir), args.quick), args.only, report)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            run_all(BenchContext(Path(tmp), args.quick), args.only, report)
    return 0
