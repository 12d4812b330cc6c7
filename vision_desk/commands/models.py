"""`vision-desk models list | pull NAME | verify | path [NAME]`."""

from __future__ import annotations

import argparse
import sys

ORDER = 50


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list, download and verify model files")
    msub = p.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    msub.add_parser("list", help="every known model and whether it is downloaded").set_defaults(func=cmd_list)
    pull = msub.add_parser("pull", help="download a model and the files it needs (with checksums)")
    pull.add_argument("name")
    pull.set_defaults(func=cmd_pull)
    msub.add_parser("verify", help="check downloaded models against their checksums").set_defaults(func=cmd_verify)
    path = msub.add_parser("path", help="print where models are kept, or one model's file")
    path.add_argument("name", nargs="?")
    path.set_defaults(func=cmd_path)


def cmd_list(args: argparse.Namespace) -> int:
    from vision_desk.models import load_manifest

    print(f"{'name':<28} {'task':<10} {'size':>11}  {'downloaded':<10}  {'licence':<14} used by")
    for e in load_manifest().values():
        mark = "yes" if e.present else "no"
        print(f"{e.name:<28} {e.task:<10} {e.size_label:>11}  {mark:<10}  {e.licence:<14} {', '.join(e.used_by)}")
    return 0


def cmd_pull(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from vision_desk.models import entry, pull, with_needs

    for name in with_needs(args.name):  # a Darknet model's weights need its .cfg and class names: one command
        e = entry(name)
        with tqdm(total=e.size or None, unit="B", unit_scale=True, desc=e.name, file=sys.stderr) as bar:
            path = pull(name, progress=lambda done, total: bar.update(done - bar.n))  # noqa: B023 - used at once
        print(path)
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from vision_desk.models import MISMATCH, verify

    bad = 0
    for e, status in verify():
        print(f"{e.name:<28} {status}")
        bad += status == MISMATCH
    return 1 if bad else 0


def cmd_path(args: argparse.Namespace) -> int:
    from vision_desk.models import resolve
    from vision_desk.weights import models_dir

    print(resolve(args.name) if args.name else models_dir())
    return 0
