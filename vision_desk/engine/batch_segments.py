"""Long videos cut at keyframes into segments that workers process in parallel, then joined again.

Cutting re-encodes and copies nothing: a segment is the frame range
``[start, end)`` of the file, starting on a keyframe (found by seeking with
PyAV, without decoding), which the reader seeks to and reads with the same
decoder as a whole-file run. Frames keep the numbers and times they have in the
whole file, so a segment's JSONL is already in global frame numbers and times.

Each segment writes its own outputs (under temporary names, renamed when
complete) into a hidden folder beside the file's outputs, named by its first
frame. When every segment of a file is done, the JSONL files are concatenated
and the MP4s joined by copying their packets into one file (no re-encode), both
under temporary names renamed when complete; then the folder goes. A retried or
resumed segment is harmless, and ``--resume`` keeps the segments already done.

Only pipelines whose stages carry no state from frame to frame are split
(:meth:`~vision_desk.engine.stage.Stage.carries_state`): a tracker, a counter, a
background model or a stage that runs every N frames would start afresh at
each cut, so their files are processed whole, and their results are exactly
those of a one-process run.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from vision_desk.engine.batch import BatchItem, BatchProgress, ItemStatus
from vision_desk.engine.pipeline import PipelineSpec
from vision_desk.engine.uri import VIDEO_EXTENSIONS

#: A file is cut only when it is at least this many segments long (a short last piece is merged into the one before).
MIN_PIECES = 1.5


def stateful_stages(spec: PipelineSpec) -> list[str]:
    """The enabled stages whose results depend on earlier frames, with the parameters given."""
    from vision_desk.engine.stage import stage_class

    found = []
    for stage in spec.stages:
        if stage.enabled:
            cls = stage_class(stage.stage)
            if cls.carries_state(cls.Params(**stage.params)):
                found.append(stage.stage)
    return found


def segment_starts(path: Path, seconds: float) -> tuple[list[int], int]:
    """(first frames of the segments, frames in the file) for segments of about ``seconds``; ``[0]``: not cut.

    Each cut is the keyframe at or before the next multiple of ``length`` (the first one after the previous cut
    when keyframes are further apart), found by seeking, so a 100-hour file costs one seek per segment, not a
    read of the whole file. Frames are numbered from their timestamps at the stream's frame rate, as the
    reader's seek numbers them. A last piece shorter than half a segment stays with the one before, and a
    file shorter than 1.5 segments is not cut.
    """
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate, base = float(stream.average_rate or stream.guessed_rate or 30), stream.time_base
        first = stream.start_time or 0
        frames = stream.frames or (round(float(stream.duration * base) * rate) if stream.duration else 0)
        length = max(1, round(seconds * rate))
        if frames < MIN_PIECES * length:
            return [0], frames

        def number(pts: int) -> int:
            return round(float((pts - first) * base) * rate)

        starts = [0]
        for want in range(length, frames, length):
            container.seek(first + int(want / rate / base), stream=stream, backward=True, any_frame=False)
            key = next((number(p.pts) for p in container.demux(stream)
                        if p.pts is not None and p.is_keyframe and number(p.pts) > starts[-1]), None)
            if key is None:
                break
            if key > starts[-1]:
                starts.append(key)
        while len(starts) > 1 and frames - starts[-1] < length // 2:
            starts.pop()
    return starts, frames


@dataclass
class _File:
    """A file cut into segments, and where its segments stand."""

    item: BatchItem
    index: int
    folder: Path
    segments: list[BatchItem] = field(default_factory=list)
    frames: dict[int, int] = field(default_factory=dict)  # segment number -> frames done


class SegmentedBatch:
    """Turns a batch's files into work items (segments of long files, whole others) and back into files.

    The runners (this process, worker processes, Ray) see only work items. Their progress and completions come
    back through :meth:`progress` and :meth:`done`, which report whole files to the batch's own callbacks and
    join a file's segments once the last one is done.
    """

    def __init__(self, items: list[BatchItem], todo: list[BatchItem], spec: PipelineSpec, seconds: float, *,
                 video: bool, resume: bool, on_progress: Callable[[BatchProgress], None] | None,
                 on_item_done: Callable[[BatchItem], None] | None) -> None:
        self.items, self.video = items, video
        self._on_progress, self._on_item_done = on_progress, on_item_done
        self.work: list[BatchItem] = []
        self._of: dict[int, _File] = {}  # id(segment) -> its file
        whole = seconds <= 0 or bool(stateful_stages(spec))
        self._position = position = {id(item): n for n, item in enumerate(items)}
        for item in todo:
            pieces = [] if whole else self._split(item, seconds, resume)
            if pieces:
                file = _File(item, position[id(item)], pieces[0].outputs[-1].parent, pieces)
                for piece in pieces:
                    self._of[id(piece)] = file
                self.work += [p for p in pieces if p.status != ItemStatus.SKIPPED]
                file.frames = {n: p.frames for n, p in enumerate(pieces)}
            else:
                self.work.append(item)

    def _split(self, item: BatchItem, seconds: float, resume: bool) -> list[BatchItem]:
        if not isinstance(item.input, Path) or item.input.suffix.lower() not in VIDEO_EXTENSIONS:
            return []  # a web video, an image
        if not item.input.is_file():
            return []  # a named pipe (opening it would wait for a writer forever), a dangling link: reported whole
        try:
            starts, frames = segment_starts(item.input, seconds)
        except Exception:  # noqa: BLE001 - not splittable (corrupt, no video): process_item reports it whole
            return []
        if len(starts) < 2:
            return []
        folder = item.outputs[-1].with_name(f".{item.outputs[-1].stem}.segments")
        if not resume:
            shutil.rmtree(folder, ignore_errors=True)
        pieces = []
        for start, end in zip(starts, starts[1:] + [frames]):
            outputs = [folder / f"{start:09d}{o.suffix}" for o in item.outputs]
            piece = BatchItem(item.input, item.rel, outputs, span=(start, end))
            if all(o.exists() for o in outputs):  # finished by an earlier run (outputs appear only when complete)
                piece.status, piece.frames = ItemStatus.SKIPPED, end - start
            pieces.append(piece)
        return pieces

    def progress(self, report: BatchProgress) -> None:
        """A runner's progress on a work item, passed on as progress on its file."""
        if self._on_progress is None:
            return
        file = self._of.get(id(report.item))
        if file is None:
            self._on_progress(BatchProgress(self._position[id(report.item)], len(self.items), report.item,
                                            report.frame, report.total_frames, report.elapsed_s))
            return
        file.frames[file.segments.index(report.item)] = report.frame
        total = sum(p.span[1] - p.span[0] for p in file.segments if p.span)
        self._on_progress(BatchProgress(file.index, len(self.items), file.item, sum(file.frames.values()), total,
                                        report.elapsed_s))

    def done(self, work: BatchItem) -> None:
        """A work item finished: a whole file is reported; a file's last segment joins the file, then reports it."""
        file = self._of.get(id(work))
        if file is None:
            if self._on_item_done:
                self._on_item_done(work)
            return
        if any(p.status == ItemStatus.PENDING for p in file.segments):
            return
        self._finish(file)
        if self._on_item_done:
            self._on_item_done(file.item)

    def finish_all(self) -> None:
        """Settles the files not reported yet: segments all done by an earlier run (joined now), or cancelled."""
        for file in {id(f): f for f in self._of.values()}.values():
            if file.item.status == ItemStatus.PENDING:
                self._finish(file)
                if self._on_item_done:
                    self._on_item_done(file.item)

    def _finish(self, file: _File) -> None:
        item, pieces = file.item, file.segments
        item.frames = sum(p.frames for p in pieces)
        item.seconds = sum(p.seconds for p in pieces)
        item.warnings = [w for p in pieces for w in p.warnings]
        failed = [p for p in pieces if p.status == ItemStatus.FAILED]
        if failed:
            item.status, item.error = ItemStatus.FAILED, failed[0].error
        elif any(p.status in (ItemStatus.CANCELLED, ItemStatus.PENDING) for p in pieces):
            item.status = ItemStatus.CANCELLED
        else:
            try:
                join(pieces, item.outputs)
            except OSError as err:
                item.status, item.error = ItemStatus.FAILED, f"joining the segments of {item.rel} failed: {err}"
                return
            shutil.rmtree(file.folder, ignore_errors=True)
            item.status = ItemStatus.DONE


def join(pieces: list[BatchItem], outputs: list[Path]) -> None:
    """Writes a file's outputs from its segments' outputs, each under a temporary name renamed when complete."""
    jsonl = [p.outputs[-1] for p in pieces]
    for n, output in enumerate(outputs):
        parts = [p.outputs[n] for p in pieces]
        temporary = output.with_name(output.stem + ".part" + output.suffix)
        if output.suffix == ".jsonl":
            with open(temporary, "wb") as out:
                for part in parts:
                    with open(part, "rb") as src:
                        shutil.copyfileobj(src, out)
        else:
            join_mp4(parts, [_first_time(j) for j in jsonl], temporary)
        os.replace(temporary, output)


def _first_time(jsonl: Path) -> float:
    """The whole-file time of a segment's first frame, from its first result record."""
    with open(jsonl, encoding="utf-8") as f:
        return float(json.loads(f.readline())["time"])


def join_mp4(parts: list[Path], starts: list[float], out_path: Path) -> None:
    """Concatenates MP4 files of one encoder's output by copying packets (no re-encode) into a faststart MP4.

    Each part's muxer started its own clock at zero; its packets are moved to ``starts[k]`` seconds (the
    whole-file time of its first frame), keeping the encoder's start offset that the first part has.
    """
    import av

    firsts = []
    for part in parts:
        with av.open(str(part)) as src:
            firsts.append(min(p.pts for p in src.demux(src.streams.video[0]) if p.pts is not None))
    with av.open(str(out_path), "w", format="mp4", options={"movflags": "+faststart"}) as out:
        stream = None
        for part, start, first in zip(parts, starts, firsts):
            with av.open(str(part)) as src:
                source = src.streams.video[0]
                if stream is None:
                    stream = out.add_stream_from_template(source)
                shift = firsts[0] - first + round(start / source.time_base)
                for packet in src.demux(source):
                    if packet.dts is None:
                        continue
                    packet.pts += shift
                    packet.dts += shift
                    packet.stream = stream
                    out.mux(packet)
