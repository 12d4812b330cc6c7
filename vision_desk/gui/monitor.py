"""Monitoring: fps in and out, latency, drops, per-stage milliseconds and a one-minute plot."""

from __future__ import annotations

import os
import time
from collections import deque

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QFormLayout, QGridLayout, QGroupBox, QLabel, QProgressBar, QVBoxLayout, QWidget

from vision_desk.engine.stats import StatsSnapshot
from vision_desk.gui.loop_probe import LoopProbe

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
import pyqtgraph as pg  # noqa: E402 - after choosing the binding

HISTORY_S = 60.0
BAR_SCALE = 10  # progress-bar units per millisecond
VALUES_SHOWN = 8
#: The GUI delay shown is the worst of this many recent seconds, refreshed twice a second.
GUI_DELAY_WINDOW_S = 2.0
GUI_DELAY_REFRESH_MS = 500
STAGE_TIME_TIP = ("Mean time per frame over the last 240 frames; max is the slowest of them. "
                  "Stages that work every N frames (OCR, faces) show their real cost in the max.")


ASYNC_TIP = ("Runs async, beside the video: each frame gets its latest results, moved with the scene. "
             "The bar shows the time per analysis, then analyses per second and how old the results on "
             "the newest frame are. Set 'run' to sync to make every frame wait for it.")


def stage_bar_text(row: dict) -> str:
    """What a stage's bar says: error, off, loading…, or its time per frame (sync) or per analysis, analyses per
    second and the age of its results (async), from a row of ``Pipeline.stage_rows``."""
    if row.get("error"):
        return "error"
    if not row["enabled"]:
        return "off"
    if row.get("state") == "loading":
        return "loading…"
    if row.get("run") == "async":
        age = row.get("age_ms")
        fps = row.get("analysis_fps") or 0.0
        if age is None:
            return "async, first analysis…"
        rate = f"{fps:.1f}/s" if fps >= 1 or fps == 0 else f"every {1 / fps:.1f} s"
        return f"async {_duration(row['mean_ms'])} · {rate} · {_duration(age)} old"
    return f"{row['mean_ms']:.1f} ms  (max {row['max_ms']:.1f})"


def _duration(ms: float) -> str:
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def format_rate(fps: float) -> str:
    """Frames per second as shown; below one frame a second, the time per frame ("1 frame per 2.7 s").

    A slow pipeline (OCR at seconds per frame) would otherwise read "0.3" or
    "0.0", which looks like a stalled one; 0 itself means no frames lately.
    """
    if 0 < fps < 1:
        return f"1 frame per {1 / fps:.1f} s"
    return f"{fps:.1f}"


class MonitorPanel(QWidget):
    """Live numbers, a bar per stage and a plot of fps and latency over the last minute."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._history: deque[tuple[float, float, float, float]] = deque(maxlen=int(HISTORY_S * 8))
        self._stage_rows: list[tuple[QLabel, QProgressBar]] = []
        self._stage_notes: list[QLabel] = []
        self._stage_ids: list[str] = []
        self.numbers: dict[str, QLabel] = {}

        numbers = QGroupBox("Throughput")
        form = QFormLayout(numbers)
        for key, title in (("state", "Source"), ("device", "Device"), ("fps_in", "FPS in"), ("fps_out", "FPS out"),
                           ("latency", "Latency"), ("dropped", "Dropped"), ("frames", "Frames"),
                           ("gui_delay", "GUI delay")):
            label = QLabel("-")
            label.setObjectName(f"monitor_{key}")
            self.numbers[key] = label
            form.addRow(title, label)
        self.numbers["fps_in"].setToolTip("Frames per second read from the source.")
        self.numbers["fps_out"].setToolTip("Frames per second through the whole pipeline.")
        self.numbers["latency"].setToolTip("Capture to processed-and-drawn, mean of the last frames (p95 in brackets).")
        self.numbers["dropped"].setToolTip("Live frames skipped because processing was busy (files never drop).")
        self.numbers["gui_delay"].setToolTip(f"How late the window's event loop ran, worst of the last {GUI_DELAY_WINDOW_S:.0f} s: "
                                             "above about 50 ms the window feels stuck.")
        self._probe: LoopProbe | None = None
        self._probe_timer = QTimer(self)
        self._probe_timer.setInterval(GUI_DELAY_REFRESH_MS)
        self._probe_timer.timeout.connect(self._show_gui_delay)

        self.stages_box = QGroupBox("Stages (ms per frame)")
        self.stages_grid = QGridLayout(self.stages_box)
        self.stages_grid.setColumnStretch(1, 1)
        self._empty = QLabel("No stages.")
        self.stages_grid.addWidget(self._empty, 0, 0, 1, 2)

        results = QGroupBox("Results (newest frame)")
        results_layout = QVBoxLayout(results)
        self.results = QLabel("-")
        self.results.setObjectName("monitor_results")
        self.results.setWordWrap(True)
        self.results.setToolTip("Objects found and the values stages report (counts, flags, scores).")
        results_layout.addWidget(self.results)

        plots = QGroupBox("Last minute")
        plots_layout = QVBoxLayout(plots)
        self.fps_plot = pg.PlotWidget()
        self.latency_plot = pg.PlotWidget()
        for plot, label in ((self.fps_plot, "fps"), (self.latency_plot, "ms")):
            plot.setMinimumHeight(110)
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            plot.setXRange(-HISTORY_S, 0, padding=0)
            # No grid: pyqtgraph draws it as translucent lines across the whole plot on every refresh, which
            # was most of the monitor's 10-17 ms refresh (3-4 ms without) and, with a stage loading beside it,
            # the last GUI freeze over 50 ms (docs/gui.md, "Heavy stages and the GUI delay").
            plot.setLabel("left", label)
            plot.getAxis("left").enableAutoSIPrefix(False)
            plot.getAxis("left").setWidth(46)  # room for four-digit latencies beside the unit
            plot.setLimits(yMin=0)
            plot.setYRange(0, 40 if label == "fps" else 100)
            plot.enableAutoRange(axis="y")
            plot.setAutoVisible(y=True)
            plot.getPlotItem().addLegend(offset=(4, 4), labelTextSize="8pt")  # top left: new data is on the right
        self.latency_plot.setXLink(self.fps_plot)
        self.latency_plot.setLabel("bottom", "seconds")
        self.fps_in_curve = self.fps_plot.plot(pen=pg.mkPen("#4c9be8", width=2), name="in")
        self.fps_out_curve = self.fps_plot.plot(pen=pg.mkPen("#3cba54", width=2), name="out")
        self.latency_curve = self.latency_plot.plot(pen=pg.mkPen("#f4a000", width=2), name="latency")
        plots_layout.addWidget(self.fps_plot)
        plots_layout.addWidget(self.latency_plot)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(numbers)
        layout.addWidget(self.stages_box)
        layout.addWidget(results)
        layout.addWidget(plots, 1)

    def watch(self, probe: LoopProbe) -> None:
        """Shows ``probe``'s event-loop delay as "GUI delay", refreshed on its own timer (stats stop with the engine)."""
        self._probe = probe
        self._probe_timer.start()
        self._show_gui_delay()

    def _show_gui_delay(self) -> None:
        if self._probe is not None:
            self.numbers["gui_delay"].setText(f"{self._probe.max_ms(GUI_DELAY_WINDOW_S):.0f} ms")

    def set_dark(self, dark: bool) -> None:
        background, foreground = ("#1f2226", "#c8ccd2") if dark else ("#ffffff", "#303338")
        for plot in (self.fps_plot, self.latency_plot):
            plot.setBackground(background)
            for axis in ("left", "bottom"):
                plot.getAxis(axis).setTextPen(foreground)
                plot.getAxis(axis).setPen(foreground)

    def reset(self) -> None:
        """Forgets the plot history (a new source)."""
        self._history.clear()
        for curve in (self.fps_in_curve, self.fps_out_curve, self.latency_curve):
            curve.setData([], [])

    def update_stats(self, s: StatsSnapshot) -> None:
        n = self.numbers
        n["state"].setText(s.source_state or "-")
        n["device"].setText(s.device)
        n["fps_in"].setText(format_rate(s.fps_in))
        n["fps_out"].setText(format_rate(s.fps_out))
        n["latency"].setText(f"{s.latency_ms:.0f} ms  (p95 {s.latency_p95_ms:.0f})")
        n["dropped"].setText(str(s.dropped))
        total = f" / {s.total}" if s.total else ""
        n["frames"].setText(f"{s.frames_out}{total}")
        self._update_stages(list(s.stages))
        self._history.append((time.monotonic(), s.fps_in, s.fps_out, s.latency_ms))
        self._update_plot()

    def update_results(self, detections: int, values: dict) -> None:
        """The newest frame's object count and per-frame values (at most VALUES_SHOWN of them)."""
        rows = [f"<tr><td>objects</td><td align='right'>&nbsp;{detections}</td></tr>"]
        for key, value in list(values.items())[:VALUES_SHOWN]:
            text = f"{value:.3g}" if isinstance(value, float) else str(value)
            rows.append(f"<tr><td>{key}</td><td align='right'>&nbsp;{text[:40]}</td></tr>")
        self.results.setText(f"<table width='100%'>{''.join(rows)}</table>")

    def _update_stages(self, rows: list[dict]) -> None:
        ids = [r["stage"] for r in rows]
        if ids != self._stage_ids:
            self._rebuild_stage_rows(ids)
        # the bars share the scale of the frame loop's time; an async stage's analyses do not hold the loop
        budget = max([33.0] + [r["mean_ms"] for r in rows if r.get("run") != "async"])
        for (label, bar), note, row in zip(self._stage_rows, self._stage_notes, rows):
            summary = row.get("summary") or ""
            if note.text() != summary:
                note.setText(summary)
                note.setVisible(bool(summary))
            bar.setMaximum(int(budget * BAR_SCALE))
            bar.setValue(min(int(row["mean_ms"] * BAR_SCALE), bar.maximum()))
            bar.setFormat(stage_bar_text(row))
            bar.setToolTip(row["error"] if row.get("error") else ASYNC_TIP if row.get("run") == "async" else STAGE_TIME_TIP)
            if row.get("error") or not row["enabled"] or row.get("state") == "loading" or row.get("run") == "async":
                bar.setValue(0)  # an async stage costs the frame loop next to nothing; its text says the rest

    def _rebuild_stage_rows(self, ids: list[str]) -> None:
        for widget in [w for row in self._stage_rows for w in row] + self._stage_notes:
            widget.deleteLater()
        self._stage_rows = []
        self._stage_notes = []
        self._empty.setVisible(not ids)
        for i, sid in enumerate(ids):
            label = QLabel(sid)
            bar = QProgressBar()
            bar.setTextVisible(True)
            bar.setMaximumHeight(18)
            note = QLabel()  # what the stage runs with (model, input size, device), under its bar
            note.setWordWrap(True)
            note.setStyleSheet("color: palette(mid); font-size: 8pt;")
            note.setVisible(False)
            self.stages_grid.addWidget(label, 2 * i + 1, 0)
            self.stages_grid.addWidget(bar, 2 * i + 1, 1)
            self.stages_grid.addWidget(note, 2 * i + 2, 1)
            self._stage_rows.append((label, bar))
            self._stage_notes.append(note)
        self._stage_ids = ids

    def _update_plot(self) -> None:
        data = np.array(self._history, dtype=float)
        now = time.monotonic()
        keep = data[:, 0] >= now - HISTORY_S
        data = data[keep]
        x = data[:, 0] - now
        self.fps_in_curve.setData(x, data[:, 1])
        self.fps_out_curve.setData(x, data[:, 2])
        self.latency_curve.setData(x, data[:, 3])

    def stage_bar_texts(self) -> list[tuple[str, str]]:
        """(stage id, bar text) per row, as shown."""
        return [(label.text(), bar.format()) for label, bar in self._stage_rows]

    def stage_notes(self) -> list[str]:
        """The summary shown under each stage's bar ("" where the stage has none)."""
        return [note.text() for note in self._stage_notes]
