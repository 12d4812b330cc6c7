"""The Teach panel's results: loss and accuracy curves per epoch, and the confusion matrix with per-class accuracy."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHBoxLayout, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
import pyqtgraph as pg  # noqa: E402 - after choosing the binding

TRAIN_PEN = "#4c9be8"
VAL_PEN = "#f4a000"


class TrainingCurves(QWidget):
    """Loss and accuracy per epoch, training and validation, side by side.

    :meth:`show_history` replaces the curves' data; the Teach panel calls it at
    most ten times a second, so a fast training never floods the event loop.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loss_plot = pg.PlotWidget()
        self.acc_plot = pg.PlotWidget()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for plot, label in ((self.loss_plot, "loss"), (self.acc_plot, "accuracy")):
            plot.setMinimumHeight(120)
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            # No grid, as in the monitor: pyqtgraph draws it across the whole plot on every redraw (docs/gui.md).
            plot.setLabel("left", label)
            plot.setLabel("bottom", "epoch")
            plot.getAxis("left").enableAutoSIPrefix(False)
            plot.getPlotItem().addLegend(offset=(-4, 4), labelTextSize="8pt")
            layout.addWidget(plot)
        self.acc_plot.setYRange(0, 1, padding=0.02)
        self.acc_plot.setLimits(yMin=0, yMax=1.02)
        self.loss_plot.setLimits(yMin=0)
        self.train_loss = self.loss_plot.plot(pen=pg.mkPen(TRAIN_PEN, width=2), name="train")
        self.val_loss = self.loss_plot.plot(pen=pg.mkPen(VAL_PEN, width=2), name="validation")
        self.train_acc = self.acc_plot.plot(pen=pg.mkPen(TRAIN_PEN, width=2), name="train")
        self.val_acc = self.acc_plot.plot(pen=pg.mkPen(VAL_PEN, width=2), name="validation")
        self.points = 0

    def set_dark(self, dark: bool) -> None:
        """The monitor's plot colours for the theme."""
        background, foreground = ("#1f2226", "#c8ccd2") if dark else ("#ffffff", "#303338")
        for plot in (self.loss_plot, self.acc_plot):
            plot.setBackground(background)
            for axis in ("left", "bottom"):
                plot.getAxis(axis).setTextPen(foreground)
                plot.getAxis(axis).setPen(foreground)

    def show_history(self, history: Mapping[str, Sequence[float]]) -> None:
        """Draws a history (``epoch``, ``train_loss``, ``val_loss``, ``train_acc``, ``val_acc`` lists)."""
        epochs = np.asarray(history.get("epoch", []), float)
        for curve, key in ((self.train_loss, "train_loss"), (self.val_loss, "val_loss"),
                           (self.train_acc, "train_acc"), (self.val_acc, "val_acc")):
            values = np.asarray(history.get(key, []), float)
            n = min(len(epochs), len(values))
            curve.setData(epochs[:n], values[:n])
        self.points = len(epochs)

    def clear(self) -> None:
        self.show_history({})


class ConfusionTable(QTableWidget):
    """The confusion matrix on the held-out images: rows the true class, columns the predicted one, counts in the
    cells (shaded by their share of the row), and each class's accuracy in a last column."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.setToolTip("Held-out images: each row is the true class, each column what the model said. "
                        "The diagonal counts the correct answers.")
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.setMinimumHeight(60)

    def show_result(self, labels: Sequence[str], confusion: np.ndarray | Sequence[Sequence[int]],
                    per_class: Mapping[str, float]) -> None:
        matrix = np.asarray(confusion, np.int64).reshape(len(labels), len(labels))
        n = len(labels)
        self.clear()
        self.setRowCount(n)
        self.setColumnCount(n + 1)
        self.setHorizontalHeaderLabels([f"said {name}" for name in labels] + ["accuracy"])
        self.setVerticalHeaderLabels([f"is {name}" for name in labels])
        for r in range(n):
            total = max(1, int(matrix[r].sum()))
            for c in range(n):
                item = QTableWidgetItem(str(int(matrix[r, c])))
                share = matrix[r, c] / total
                if matrix[r, c]:
                    colour = QColor(60, 186, 84) if r == c else QColor(232, 76, 61)
                    colour.setAlphaF(0.15 + 0.6 * share)
                    item.setBackground(colour)
                self.setItem(r, c, item)
            accuracy = per_class.get(labels[r])
            self.setItem(r, n, QTableWidgetItem("-" if accuracy is None else f"{accuracy:.0%}"))
        self.fit_height()

    def fit_height(self) -> None:
        """As tall as its rows (the curves above take the rest), scrolling past about eight classes."""
        self.resizeRowsToContents()
        rows = sum(self.rowHeight(r) for r in range(min(self.rowCount(), 8)))
        self.setMaximumHeight(self.horizontalHeader().sizeHint().height() + rows + 2 * self.frameWidth() + 2)

    def counts(self) -> np.ndarray:
        """The matrix as shown (rows true, columns predicted), for tests and checks."""
        n = self.rowCount()
        return np.array([[int(self.item(r, c).text()) for c in range(n)] for r in range(n)], np.int64).reshape(n, n)
