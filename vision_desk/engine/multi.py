"""Several sources in one process: an engine per source, heavy models shared between them.

Each source gets its own :class:`~vision_desk.engine.runner.Engine` with its
own pipeline built from the same spec, so per-stream state (trackers,
counters, background models) stays with its stream and needs no lock. The
loaded models are shared by the process's model pool
(:mod:`vision_desk.engine.model_pool`): a detect stage with the same model
and settings on four streams loads one network, and its batching front runs
the frames the streams have waiting as one inference call.

Isolation: a stream whose source fails ends alone (its error is kept on its
:class:`Stream`); one that drops reconnects on its own reader thread while the
others go on; a stage that raises on one stream acts on that stream only, as
``stage_errors`` says: ``"continue"`` (the default, as ``vision-desk run``'s)
records the failure and tries again on the next frame, ``"disable"`` switches
the stage off there, ``"raise"`` ends that stream.

Outputs are named after their source as the app names its recordings
(:func:`vision_desk.engine.uri.source_stem`, credentials left out):
``--record-dir D`` writes ``D/<name>.mp4`` per stream, ``--export-dir D``
writes ``D/<name>.jsonl``; a name two sources share gets ``-2``, ``-3`` ... in
the order given.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from vision_desk.engine.frame import Frame
from vision_desk.engine.pipeline import Pipeline, PipelineSpec
from vision_desk.engine.runner import Engine, wait_or_stop
from vision_desk.engine.sources import open_source
from vision_desk.engine.stats import StatsSnapshot
from vision_desk.engine.uri import mask_uri, source_stem
from vision_desk.errors import VisionDeskError


@dataclass
class Stream:
    """One source of a multi-stream run, its engine and where its outputs go."""

    uri: str
    name: str  # the file name its outputs take (no credentials)
    engine: Engine
    record: Path | None = None
    export: Path | None = None

    @property
    def label(self) -> str:
        """The source as shown to people: its URI with credentials masked."""
        return mask_uri(self.uri)

    @property
    def error(self) -> VisionDeskError | None:
        """What ended the stream early (its source failed), or None."""
        return self.engine.error

    @property
    def failures(self) -> int:
        """How many times a stage failed on this stream (its pipeline's ``errors`` holds the latest)."""
        return self.engine.pipeline.failures

    def stats(self) -> StatsSnapshot:
        return self.engine.stats()


def output_names(uris: Sequence[str]) -> list[str]:
    """A distinct file name per source (:func:`source_stem`); repeats get ``-2``, ``-3`` ... in order."""
    names: list[str] = []
    for uri in uris:
        stem, n = source_stem(uri), 2
        name = stem
        while name in names:
            name, n = f"{stem}-{n}", n + 1
        names.append(name)
    return names


class MultiEngine:
    """Runs several sources through the same pipeline, one engine each, in one process.

    Args:
        sources: source URIs (files, cameras, streams, demo: ...), opened now (a missing file raises here).
        spec: the pipeline every stream runs (each stream builds its own stages from it).
        record_dir: record each stream to ``<record_dir>/<name>.mp4`` (annotated unless ``raw``).
        export_dir: write each stream's results to ``<export_dir>/<name>.jsonl``.
        raw: record frames without overlays.
        live, realtime, max_frames, duration: as for :class:`Engine`, per stream.
        stage_errors: what a failing stage does on its stream (see the module's docstring); other streams go on
            whatever it is.
        on_frame: called on each stream's processing thread with (stream, finished frame).
    """

    def __init__(
        self,
        sources: Sequence[str],
        spec: PipelineSpec,
        *,
        record_dir: str | Path | None = None,
        export_dir: str | Path | None = None,
        raw: bool = False,
        live: bool | None = None,
        realtime: bool = False,
        max_frames: int | None = None,
        duration: float | None = None,
        stage_errors: str = "continue",
        on_frame: Callable[[Stream, Frame], None] | None = None,
    ) -> None:
        from vision_desk.engine.sinks.export import JsonlSink
        from vision_desk.engine.sinks.recorder import RecorderSink

        if not sources:
            raise VisionDeskError("no sources given; name one or more, e.g. vision-desk run demo: clip.mp4.")
        opened = [open_source(uri) for uri in sources]  # every bad path is reported before anything starts
        for folder in (record_dir, export_dir):
            if folder is not None:
                Path(folder).mkdir(parents=True, exist_ok=True)
        self.streams: list[Stream] = []
        for uri, source, name in zip(sources, opened, output_names(sources)):
            record = Path(record_dir) / f"{name}.mp4" if record_dir is not None else None
            export = Path(export_dir) / f"{name}.jsonl" if export_dir is not None else None
            sinks = ([RecorderSink(record, None, annotated=not raw)] if record else []) + ([JsonlSink(export)] if export else [])
            engine = Engine(source, Pipeline(spec, stage_errors=stage_errors), sinks=sinks, live=live, realtime=realtime,
                            annotate=bool(record and not raw), max_frames=max_frames, duration=duration)
            stream = Stream(str(uri), name, engine, record, export)
            if on_frame is not None:
                engine.on_frame = lambda frame, s=stream: on_frame(s, frame)
            self.streams.append(stream)

    def start(self) -> "MultiEngine":
        for stream in self.streams:
            stream.engine.start()
        return self

    def stop(self) -> None:
        """Asks every stream to finish; each closes its own outputs."""
        for stream in self.streams:
            stream.engine.stop()

    def join(self, timeout: float | None = None) -> bool:
        """Waits for every stream to finish; True when all have."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for stream in self.streams:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not stream.engine.join(left):
                return False
        return True

    @property
    def running(self) -> list[Stream]:
        """The streams still running."""
        return [s for s in self.streams if s.engine.running]

    def run(self) -> list[StatsSnapshot]:
        """Starts every stream and waits until all have ended (Ctrl+C stops them); returns their stats.

        A stream's failure does not raise: it is on its :attr:`Stream.error`.
        """
        wait_or_stop(self.start())
        return [s.stats() for s in self.streams]
