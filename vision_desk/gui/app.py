"""Entry point of the desktop app: ``vision-desk``, ``python main.py`` and ``vision-desk gui``.

``main(argv)`` opens the window on the demo source (or the source given) with
the default pipeline (the ``motion`` preset: boxes around whatever moves,
cheap on a 2-core CPU) and returns the exit code once the window closes.
``--layout`` opens a saved wall. ``--screenshot PATH --quit-after SECONDS``
grabs the window and quits, for documentation and smoke tests.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from vision_desk.cli import MaskingParser
from vision_desk.commands.gui import add_arguments
from vision_desk.engine.pipeline import PipelineSpec, StageSpec, load_spec, preset_source
from vision_desk.errors import VisionDeskError

if TYPE_CHECKING:
    from vision_desk.gui.main_window import MainWindow

DEFAULT_PRESET = "motion"


def build_parser() -> argparse.ArgumentParser:
    return add_arguments(MaskingParser(prog="vision-desk gui", description="Open the Vision Desk desktop app."))


def default_spec() -> PipelineSpec:
    """The motion preset from pipelines/, or the same stage built in when the file is missing."""
    from vision_desk.resources import pipelines_dir

    try:
        return load_spec(pipelines_dir() / f"{DEFAULT_PRESET}.yaml")
    except (FileNotFoundError, VisionDeskError):
        return PipelineSpec(DEFAULT_PRESET, [StageSpec("motion", {"min_area": 800})])


def startup_source(args: argparse.Namespace, spec: PipelineSpec) -> str | None:
    """What the window opens first: the source named, else the pipeline file's ``source:`` (a file beside the
    pipeline file found there, as ``vision-desk run`` finds it), else the demo; nothing before a layout's own."""
    preset = preset_source(spec.source, Path(args.pipeline)) if spec.source and args.pipeline else spec.source
    return args.source or preset or (None if args.layout else "demo:")


def main(argv: list[str]) -> int:
    """Runs the app until its window closes; returns the process exit code."""
    return run_app(build_parser().parse_args(argv))


def run_app(args: argparse.Namespace, on_window: Callable[[MainWindow], None] | None = None) -> int:
    """Runs the app with parsed options (see :func:`add_arguments`); ``on_window`` is called with the window once it
    is shown (``vision-desk soak --gui`` watches it from there)."""
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from vision_desk.gui.errors import ExceptionDialogHook, one_sentence
    from vision_desk.gui.main_window import MainWindow
    from vision_desk.gui.settings import APPLICATION, ORGANIZATION, Settings
    from vision_desk.resources import ui_dir

    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "vision-desk"])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("Vision Desk")
    try:
        app.setWindowIcon(QIcon(str(ui_dir() / "icons" / "vision-desk.svg")))
    except FileNotFoundError:
        pass
    hook = ExceptionDialogHook().install()
    settings = Settings()
    if args.theme:
        settings.theme = args.theme
    try:
        spec = load_spec(args.pipeline) if args.pipeline else default_spec()
    except VisionDeskError as err:
        print(f"error: {one_sentence(err)}", file=sys.stderr)
        return 1
    for notice in spec.notices:
        print(f"notice: {notice}", file=sys.stderr)
    # a layout brings its own sources: nothing is opened before it unless a source is named
    window = MainWindow(settings, startup_source(args, spec), spec)
    window.show()
    if on_window is not None:
        on_window(window)
    if args.layout:
        from vision_desk.gui.layouts import layout_path

        path = Path(args.layout) if Path(args.layout).is_file() else layout_path(args.layout)
        if not window.wall_menu.open_layout(path):
            print(f"error: {window.statusBar().currentMessage()}", file=sys.stderr)

    # Ctrl+C in the terminal closes the window cleanly (Python only sees signals between Qt events).
    signal.signal(signal.SIGINT, lambda *_: window.close())
    heartbeat = QTimer()
    heartbeat.timeout.connect(lambda: None)
    heartbeat.start(200)

    if args.quit_after is not None:
        def finish() -> None:
            if args.screenshot:
                Path(args.screenshot).parent.mkdir(parents=True, exist_ok=True)
                window.grab().save(args.screenshot)
                print(f"screenshot saved to {args.screenshot}", file=sys.stderr)
            window.close()

        QTimer.singleShot(int(args.quit_after * 1000), finish)
    try:
        code = app.exec()
    finally:
        hook.uninstall()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        from vision_desk.gui.preload import preloader

        if preloader.started:
            # Qt freeing the window and the application while torch's import still runs on the preload thread
            # crashed the process (a segfault at exit when the app was closed in its first seconds).
            preloader.wait(60.0)
    return int(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
