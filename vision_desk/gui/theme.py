"""Light and dark themes: Qt's Fusion style, a palette, and a style sheet from ui/."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from vision_desk.resources import ui_dir

THEMES = ("light", "dark")

_PALETTES = {
    "dark": {
        QPalette.ColorRole.Window: "#2b2e33", QPalette.ColorRole.WindowText: "#e3e5e8",
        QPalette.ColorRole.Base: "#1f2226", QPalette.ColorRole.AlternateBase: "#2b2e33",
        QPalette.ColorRole.ToolTipBase: "#1f2226", QPalette.ColorRole.ToolTipText: "#e3e5e8",
        QPalette.ColorRole.Text: "#e3e5e8", QPalette.ColorRole.Button: "#363a40",
        QPalette.ColorRole.ButtonText: "#e3e5e8", QPalette.ColorRole.BrightText: "#ff6b6b",
        QPalette.ColorRole.Highlight: "#3d7bd9", QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Link: "#6ea8ff", QPalette.ColorRole.PlaceholderText: "#8a9099",
    },
    "light": {
        QPalette.ColorRole.Window: "#f3f4f6", QPalette.ColorRole.WindowText: "#1d2024",
        QPalette.ColorRole.Base: "#ffffff", QPalette.ColorRole.AlternateBase: "#eef0f3",
        QPalette.ColorRole.ToolTipBase: "#ffffdc", QPalette.ColorRole.ToolTipText: "#1d2024",
        QPalette.ColorRole.Text: "#1d2024", QPalette.ColorRole.Button: "#e6e8eb",
        QPalette.ColorRole.ButtonText: "#1d2024", QPalette.ColorRole.BrightText: "#c62828",
        QPalette.ColorRole.Highlight: "#2f6fd0", QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Link: "#1f5fbf", QPalette.ColorRole.PlaceholderText: "#7c828a",
    },
}


def apply_theme(app: QApplication, name: str) -> str:
    """Applies 'light' or 'dark' (anything else means dark); returns the name applied."""
    name = name if name in THEMES else "dark"
    app.setStyle("Fusion")
    palette = QPalette()
    for role, color in _PALETTES[name].items():
        palette.setColor(role, QColor(color))
    disabled = QColor("#6b7079" if name == "dark" else "#a0a5ad")
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    app.setPalette(palette)
    try:
        sheet = (ui_dir() / f"{name}.qss").read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        sheet = ""  # the palette alone is still a usable theme
    app.setStyleSheet(sheet)
    return name
