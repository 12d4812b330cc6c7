"""Errors for people: one sentence in a dialog, never a traceback (that goes to stderr for bug reports)."""

from __future__ import annotations

import sys
import traceback
from types import TracebackType

from PySide6.QtWidgets import QApplication, QMessageBox

from vision_desk.errors import VisionDeskError


def one_sentence(err: BaseException) -> str:
    """A user-facing sentence for any exception: VisionDeskError messages as they are, others named briefly."""
    if isinstance(err, VisionDeskError):
        text = str(err)
    else:
        detail = str(err).strip().splitlines()[0] if str(err).strip() else ""
        text = f"Something went wrong ({type(err).__name__}{': ' + detail if detail else ''}); the details are in the terminal output"
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


class ExceptionDialogHook:
    """A ``sys.excepthook`` that shows the error in a dialog instead of letting the app crash.

    The dialog is window-modal but opened without a nested event loop, so an
    error raised while painting or inside a timer cannot pile up dialogs.
    """

    def __init__(self) -> None:
        self.previous = sys.excepthook
        self.dialog: QMessageBox | None = None
        self.last_message = ""

    def __call__(self, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        app = QApplication.instance()
        if issubclass(exc_type, KeyboardInterrupt):
            if app is not None:
                app.quit()
            return
        traceback.print_exception(exc_type, exc, tb, file=sys.stderr)  # for bug reports, never shown in the GUI
        self.last_message = one_sentence(exc)
        if app is None:
            return
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.setInformativeText(f"Also: {self.last_message}")
            return
        self.dialog = QMessageBox(QMessageBox.Icon.Critical, "Vision Desk", self.last_message,
                                  QMessageBox.StandardButton.Ok, app.activeWindow())
        self.dialog.open()

    def install(self) -> "ExceptionDialogHook":
        sys.excepthook = self
        return self

    def uninstall(self) -> None:
        sys.excepthook = self.previous
