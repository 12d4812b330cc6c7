"""The preferences dialog: output folder, recording with or without overlays, theme."""

from __future__ import annotations

from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QRadioButton, QToolButton, QVBoxLayout, QWidget)

from vision_desk.gui.settings import Settings


class PreferencesDialog(QDialog):
    """Edits the settings that are not toggled from the tool bars."""

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.settings = settings
        self.output = QLineEdit(str(settings.output_dir))
        browse = QToolButton()
        browse.setText("...")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.output, 1)
        row.addWidget(browse)
        self.annotated = QRadioButton("With overlays (annotated)")
        self.raw = QRadioButton("Without overlays (raw processed frames)")
        (self.annotated if settings.record_annotated else self.raw).setChecked(True)
        record = QVBoxLayout()
        record.addWidget(self.annotated)
        record.addWidget(self.raw)
        self.theme = QComboBox()
        self.theme.addItems(["dark", "light"])
        self.theme.setCurrentText(settings.theme)
        form = QFormLayout()
        form.addRow("Output folder", row)
        form.addRow("Recordings", record)
        form.addRow("Theme", self.theme)
        note = QLabel(f"Settings file: {settings.path}")
        note.setObjectName("helpText")
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(buttons)

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Output folder", self.output.text())
        if path:
            self.output.setText(path)

    def apply(self) -> None:
        """Writes the dialog's values into the settings."""
        self.settings.output_dir = self.output.text().strip() or str(self.settings.output_dir)
        self.settings.record_annotated = self.annotated.isChecked()
        self.settings.theme = self.theme.currentText()
