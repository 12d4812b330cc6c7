"""`vision-desk`: the command line.

Sub-commands live in ``vision_desk/commands/``, one module each with a
``register(subparsers)`` function, so a family adds its own (``models``,
``faces``, ``codes``) without editing this file. With no sub-command the
desktop app opens. Errors print one line; ``--debug`` adds the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import sys
import traceback

from vision_desk import __version__
from vision_desk.engine.uri import mask_uris_in
from vision_desk.errors import VisionDeskError


class MaskingParser(argparse.ArgumentParser):
    """argparse, with credentials in URIs masked in its error messages ("unrecognized arguments: rtsp://..."
    quoted the password back); its sub-command parsers are of the same class.

    Each parser remembers the arguments it was given, so that a URI is masked to the end of its argument even
    where a space or quote in the password would end it in free text.
    """

    _typed: tuple[str, ...] = ()

    def parse_known_args(self, args=None, namespace=None):  # noqa: ANN001, ANN201 - argparse's signature
        self._typed = tuple(sys.argv[1:] if args is None else args)
        return super().parse_known_args(args, namespace)

    def error(self, message: str):  # noqa: ANN201 - argparse's signature (it exits)
        super().error(mask_uris_in(message, self._typed or sys.argv[1:]))


def build_parser() -> argparse.ArgumentParser:
    parser = MaskingParser(
        prog="vision-desk",
        description="Real-time video vision: run pipelines of OpenCV and deep-learning stages over cameras, files and streams.",
    )
    parser.add_argument("--version", action="version", version=f"vision-desk {__version__}")
    parser.add_argument("--debug", action="store_true", help="print full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    import vision_desk.commands as commands

    modules = [importlib.import_module(f"{commands.__name__}.{m.name}") for m in pkgutil.iter_modules(commands.__path__)]
    for module in sorted(modules, key=lambda m: getattr(m, "ORDER", 100)):
        module.register(sub)
    return parser


def open_gui(argv: list[str] | None = None) -> int:
    """Opens the desktop app on the demo source (or the source given)."""
    try:
        from vision_desk.gui.app import main as gui_main
    except ImportError as err:
        if "vision_desk.gui.app" not in str(err) and "vision_desk.gui" not in str(err):
            raise
        print("The desktop app is not built yet; use 'vision-desk run SOURCE' (e.g. 'vision-desk run demo: --max-frames 100').")
        return 1
    return gui_main(argv or [])


def run() -> None:
    """The ``vision-desk`` program: runs :func:`main` and ends the process with its exit code."""
    code = main()
    if _command_done_with_process(sys.argv[1:]):
        exit_now(code)
    sys.exit(code)


def _command_done_with_process(argv: list[str]) -> bool:
    """True for sub-commands (their outputs are closed when main returns); the desktop app exits the normal way."""
    argv = gui_by_default(argv, command_names(build_parser()))
    command = next((a for a in argv if not a.startswith("-")), None)
    return command not in (None, "gui")


def command_names(parser: argparse.ArgumentParser) -> set[str]:
    return {name for action in parser._actions if isinstance(action, argparse._SubParsersAction) for name in action.choices}


def gui_by_default(argv: list[str], commands: set[str]) -> list[str]:
    """``vision-desk SOURCE --pipeline F`` (and ``python main.py ...``) means ``vision-desk gui SOURCE --pipeline F``.

    Whatever does not start with a command or a program option (``--debug``, ``--version``, ``-h``) is the app's.
    """
    first = next((i for i, arg in enumerate(argv) if arg != "--debug"), None)
    if first is None or argv[first] in commands or argv[first] in ("-h", "--help", "--version"):
        return argv
    return [*argv[:first], "gui", *argv[first:]]


def exit_now(code: int) -> None:
    """Ends the process at once, skipping the interpreter's teardown of the imported libraries.

    After a command has closed every output, unloading PyTorch, OpenVINO and
    their thread pools still takes 0.5-0.9 s on a 2-core CPU: time a batch
    user waits for nothing. Standard streams and logging are flushed first.
    """
    backends = sys.modules.get("vision_desk.stages.faces.backends")
    if backends is not None:  # its worker process, stopped cleanly (os._exit runs no atexit handler)
        backends.shutdown_workers()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    logging.shutdown()
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(gui_by_default(argv, command_names(parser)))
    if args.debug:
        os.environ["OPENCV_LOG_LEVEL"] = "INFO"
        os.environ["OPENCV_FFMPEG_LOGLEVEL"] = "32"
    if not args.command:
        return open_gui([])
    try:
        return int(args.func(args) or 0)
    except VisionDeskError as err:
        if args.debug:
            traceback.print_exc()
        print(f"error: {mask_uris_in(str(err))}", file=sys.stderr)  # a message may quote what the user typed
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`vision-desk models list | head`): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the final flush does not fail again
        return 141
    except Exception as err:  # noqa: BLE001 - one line for users; the traceback with --debug
        if args.debug:
            traceback.print_exc()
        print(f"error: unexpected {type(err).__name__}: {mask_uris_in(str(err))} (rerun with --debug for details)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    run()
