"""`vision-desk bench`: throughput figures printed as ratios against a baseline run in the same process.

Each module in this package defines ``ORDER`` and ``rows(ctx)``, yielding
:class:`BenchRow` objects; a row names its group and, optionally, the row in
that group it is compared with. Families add a module; nothing else changes.
Benchmarks print; they never assert (timing goals are not tests).
"""

from __future__ import annotations

import importlib
import pkgutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable


@dataclass
class BenchRow:
    group: str
    name: str
    fps: float
    frames: int = 0
    baseline: str | None = None  # name of the row in the same group this one is compared with
    note: str = ""


@dataclass
class BenchContext:
    """Shared inputs: generated clips (cached in workdir) and the quick flag (fewer frames)."""

    workdir: Path
    quick: bool = False
    _clips: dict = field(default_factory=dict)

    def clip(self, width: int, height: int, frames: int, name: str = "pan") -> Path:
        """An H.264 clip panning across a real photo (astronaut), generated once."""
        key = (width, height, frames, name)
        if key not in self._clips:
            from vision_desk.benchmarks.media import make_clip

            self._clips[key] = make_clip(self.workdir / f"{name}_{width}x{height}_{frames}.mp4", width, height, frames)
        return self._clips[key]

    def frames(self, n: int) -> int:
        return max(10, n // 4) if self.quick else n


def timed(n_frames: Callable[[], int]) -> tuple[int, float]:
    t0 = time.perf_counter()
    n = n_frames()
    return n, time.perf_counter() - t0


def discover() -> list:
    mods = [importlib.import_module(f"{__name__}.{m.name}") for m in pkgutil.iter_modules(__path__) if m.name != "media"]
    return sorted((m for m in mods if hasattr(m, "rows")), key=lambda m: getattr(m, "ORDER", 100))


def run_all(ctx: BenchContext, only: list[str] | None = None, report: Callable[[BenchRow], None] | None = None) -> list[BenchRow]:
    rows: list[BenchRow] = []
    for module in discover():
        name = module.__name__.rsplit(".", 1)[-1]
        if only and name not in only:
            continue
        for row in module.rows(ctx):
            rows.append(row)
            if report:
                report(row)
    return rows


def ratio(row: BenchRow, rows: Iterable[BenchRow]) -> float | None:
    if not row.baseline:
        return None
    for other in rows:
        if other.group == row.group and other.name == row.baseline and other.fps > 0:
            return row.fps / other.fps
    return None
