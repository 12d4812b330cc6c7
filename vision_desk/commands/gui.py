"""`vision-desk gui [SOURCE]`: the desktop app with options (`vision-desk` alone opens it on demo:)."""

from __future__ import annotations

import argparse

ORDER = 5


def register(sub: argparse._SubParsersAction) -> None:
    from vision_desk.gui.app import add_arguments

    p = sub.add_parser("gui", help="open the desktop app (the default with no command)",
                       description="Open the Vision Desk desktop app on a source (default: the demo scene).")
    add_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vision_desk.gui.app import run_app

    return run_app(args)
