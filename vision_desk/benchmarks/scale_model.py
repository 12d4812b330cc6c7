"""A projection, not a measurement: parallel efficiency at many workers, from overheads measured on one machine.

Wall time with N workers for K equal work items of F frames each, processed at R frames per second per worker:

    T(N) = cuts x cut_s  +  worker_s  +  ceil(K / N) x (F / R + item_s)  +  joined_frames x join_s

The first and last terms are serial (the driver finds the cuts of a long file before, and joins its segments
after); ``worker_s`` is paid once per worker, in parallel (process start and model load); ``item_s`` per item
(a Ray task round trip). Efficiency is the useful work over what N workers spend: K x F / R / (N x T(N)).
It leaves out what one machine cannot show: network and shared-storage bandwidth, stragglers, and retries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

HOUR_FRAMES = 3600 * 30  # an hour of 30 fps video


@dataclass(frozen=True)
class Overheads:
    worker_s: float  # start a worker process and load its models, once per worker
    item_s: float  # hand one work item to a worker and get its result back
    cut_s: float  # find one cut of a long file (a seek), in the driver
    join_s_per_frame: float  # join segment outputs, per frame, in the driver


def efficiency(workers: int, items: int, item_frames: int, rate: float, o: Overheads, *, cuts: int = 0,
               joined_frames: int = 0) -> float:
    """Useful work over the worker time spent, for ``items`` items of ``item_frames`` frames at ``rate`` fps."""
    work = item_frames / rate
    wall = (cuts * o.cut_s + o.worker_s + math.ceil(items / workers) * (work + o.item_s)
            + joined_frames * o.join_s_per_frame)
    return items * work / (workers * wall)


def many_files(workers: int, rate: float, o: Overheads, files: int = 1000, hours: float = 1.0) -> float:
    """1,000 one-hour files, one work item each."""
    return efficiency(workers, files, round(hours * HOUR_FRAMES), rate, o)


def one_long_file(workers: int, rate: float, o: Overheads, hours: float = 100.0, segment_s: float = 300.0) -> float:
    """One 100-hour file cut into segments of ``segment_s`` (a stateless pipeline), joined at the end."""
    frames = round(hours * HOUR_FRAMES)
    segment = round(segment_s * 30)
    items = math.ceil(frames / segment)
    return efficiency(workers, items, segment, rate, o, cuts=items - 1, joined_frames=frames)
