"""`vision-desk gui [SOURCE]`: the desktop app with options (`vision-desk` alone opens it on demo:).

The CLI's one door into the GUI: Qt is imported only when the command runs, so
headless commands never load it (tests/test_layering.py).
"""

from __future__ import annotations

import argparse

ORDER = 5


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The app's options (shared by ``python -m vision_desk.gui.app`` and ``vision-desk gui``)."""
    p.add_argument("source", nargs="?", help="source to open (default: the pipeline file's source:, else demo:)")
    p.add_argument("--pipeline", "-p", metavar="FILE", help="pipeline YAML to start with (default: the motion preset)")
    p.add_argument("--layout", metavar="FILE|NAME", help="open a saved wall layout (a file, or a name from the layouts folder)")
    p.add_argument("--theme", choices=("light", "dark"), help="theme for this run (saved as the new default)")
    p.add_argument("--screenshot", metavar="PATH", help="save a picture of the window to PATH before quitting")
    p.add_argument("--quit-after", type=float, metavar="SECONDS", help="close the window after this many seconds")
    return p


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gui", help="open the desktop app (the default with no command)",
                       description="Open the Vision Desk desktop app on a source (default: the demo scene).")
    add_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vision_desk.gui.app import run_app

    return run_app(args)
