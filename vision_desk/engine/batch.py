"""Batch processing: every video and image in a folder, or in a list, through one pipeline, headless.

The input is a folder, or a text file listing one source a line: files
(relative to the list's folder or absolute) and web videos (any http(s) URL or
``web:`` URI; see :mod:`vision_desk.engine.sources.web`); blank lines and lines
starting with ``#`` are skipped.

Outputs mirror the input tree: ``OUT/<relative path>.mp4`` (``.png`` for
images; a listed file outside the list's folder keeps its whole path, a web
video is named after its URL) and ``OUT/<relative path>.jsonl``, written under temporary names and
renamed only when complete, so ``--resume`` can trust what exists. A bad
input is reported and skipped while the rest goes on; stateful stages are
reset between files; models are loaded once per process.

One function, :func:`process_item`, turns one input into its complete
outputs; :func:`run_batch` calls it in this process (``workers=1``) or in
worker processes (:mod:`vision_desk.engine.batch_workers`), files in parallel,
or as tasks on a Ray cluster (:mod:`vision_desk.engine.batch_ray`).
"""

from __future__ import annotations

import enum
import glob
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import cv2

from vision_desk.engine.frame import Frame
from vision_desk.engine.pipeline import Pipeline, PipelineSpec, StageSpec
from vision_desk.engine.runner import Engine
from vision_desk.engine.sinks import Sink
from vision_desk.engine.sinks.export import JsonlSink
from vision_desk.engine.sinks.recorder import RecorderSink
from vision_desk.engine.sources import Source, open_source
from vision_desk.engine.sources.files import ImageSequenceSource, VideoFileSource
from vision_desk.engine.uri import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, SourceURI, mask_uri, source_stem, web_uri
from vision_desk.errors import VisionDeskError


class ItemStatus(str, enum.Enum):
    """What became of one input (a ``str``, so it compares with and prints as its value)."""

    PENDING = "pending"
    DONE = "done"
    SKIPPED = "skipped"  # --resume: its outputs were complete
    FAILED = "failed"
    CANCELLED = "cancelled"

    def __str__(self) -> str:
        return self.value


@dataclass
class BatchItem:
    """One input and what became of it."""

    input: Path | str  # a file, or a web video's URI
    rel: Path
    outputs: list[Path]
    status: ItemStatus = ItemStatus.PENDING
    frames: int = 0
    seconds: float = 0.0
    error: str | None = None
    warnings: list[str] = field(default_factory=list)  # stage failures on single frames (``stage_errors="continue"``)
    span: tuple[int, int] | None = None  # frames [start, end) of a segment of a long file; None: the whole file

    @property
    def failure(self) -> str:
        """The error as one line naming the input: the error alone when it starts with the input's name, as most do
        ("clip.mp4 is empty (0 bytes) ..."), else "sub/clip.mp4: error"."""
        error = self.error or ""
        return error if error.startswith(str(self.rel)) else f"{self.rel}: {error}"

    def take_result(self, done: "BatchItem") -> None:
        """Copies what a worker (process or Ray task) made of its copy of this item."""
        self.status, self.frames, self.seconds, self.error = done.status, done.frames, done.seconds, done.error
        self.warnings = done.warnings


@dataclass
class BatchProgress:
    """A progress report: which file, how far into it, and overall."""

    file_index: int
    file_count: int
    item: BatchItem
    frame: int
    total_frames: int | None
    elapsed_s: float


@dataclass
class BatchSummary:
    items: list[BatchItem] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: ItemStatus | str) -> int:
        return sum(1 for i in self.items if i.status == status)

    @property
    def frames(self) -> int:
        return sum(i.frames for i in self.items)

    @property
    def fps(self) -> float:
        busy = sum(i.seconds for i in self.items if i.status == ItemStatus.DONE)
        return sum(i.frames for i in self.items if i.status == ItemStatus.DONE) / busy if busy > 0 else 0.0

    @property
    def failed(self) -> list[BatchItem]:
        return [i for i in self.items if i.status == ItemStatus.FAILED]


class ImageSink(Sink):
    """Writes the (annotated) image of a single-image input as PNG, via a temporary name."""

    def __init__(self, path: Path, annotated: bool = True) -> None:
        self.path = path
        self.annotated = annotated
        self._part = path.with_name(path.stem + ".part" + path.suffix)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._written = False

    def write(self, frame: Frame) -> None:
        cv2.imwrite(str(self._part), frame.display if self.annotated else frame.image)
        self._written = True

    def close(self, ok: bool = True) -> None:
        if ok and self._written:
            self._part.replace(self.path)
        else:
            self._part.unlink(missing_ok=True)


def report_progress(latest: dict[int, tuple[int, int | None]], items: list[BatchItem],
                    on_progress: Callable[[BatchProgress], None] | None, t_start: float) -> None:
    """Passes on the newest (frames done, frames in total) that workers reported, by item index."""
    if on_progress:
        for index, (done, total) in latest.items():
            on_progress(BatchProgress(index, len(items), items[index], done, total, time.perf_counter() - t_start))


def discover_inputs(input_dir: Path, recursive: bool = False) -> list[Path]:
    """Videos and images in the folder (and below it when recursive), in path order.

    Anything named like a video or an image that is not a folder is an input, even when it is not a regular file
    (a named pipe, a dangling link, a symlink loop): it then fails with one sentence saying so, rather than being
    left out without a word. A folder is walked with ``recursive``, whatever its name.
    """
    if not input_dir.is_dir():
        raise VisionDeskError(f"input folder {input_dir} not found; give a folder of videos or images.")
    pattern = input_dir.rglob("*") if recursive else input_dir.iterdir()
    known = VIDEO_EXTENSIONS | IMAGE_EXTENSIONS
    return sorted(p for p in pattern if not p.is_dir() and p.suffix.lower() in known and ".part." not in p.name)


def read_list(list_file: Path) -> list[Path | str]:
    """The sources a list file names, in its order, each once: paths (relative to the list's folder) and web URIs."""
    if not list_file.is_file():
        raise VisionDeskError(f"input list {list_file} not found; give a folder, or a text file with one source a line.")
    inputs: list[Path | str] = []
    for line in list_file.read_text(encoding="utf-8", errors="replace").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        low = line.lower()
        if low.startswith(("http://", "https://", "web:")):
            entry: Path | str = web_uri(line)  # read to its end through yt-dlp, even a media file's URL
        elif "://" in line:
            raise VisionDeskError(f"{list_file.name}: '{mask_uri(line)}' is a live stream, which never ends; a batch takes "
                                  "files and web videos (record a stream with vision-desk run URL --record).")
        else:
            path = Path(line).expanduser()
            entry = path if path.is_absolute() else list_file.parent / path
        if entry not in inputs:
            inputs.append(entry)
    return inputs


def _relative_name(entry: Path | str, root: Path) -> Path:
    """Where an input's outputs go under OUT: its path below root (a folder or a list's folder), or one from its URL."""
    if isinstance(entry, str):
        return Path(source_stem(entry, fallback="web-video"))
    try:
        return entry.relative_to(root)
    except ValueError:
        return Path(*entry.resolve().parts[1:])  # a file elsewhere: its whole path, so two a.mp4 stay apart


def plan(inputs: list[Path | str], input_dir: Path, out_dir: Path, video: bool) -> list[BatchItem]:
    """Output paths per input; two inputs that differ only by extension keep theirs in the name."""
    rels = [_relative_name(p, input_dir) for p in inputs]
    stems: dict[Path, int] = {}
    for rel in rels:
        stems[rel.with_suffix("")] = stems.get(rel.with_suffix(""), 0) + 1
    items = []
    for p, rel in zip(inputs, rels):
        base = rel.with_suffix("") if stems[rel.with_suffix("")] == 1 else rel
        outputs = [out_dir / base.with_name(base.name + ".jsonl")]
        if video:
            ext = ".png" if _is_image(p) else ".mp4"
            outputs.insert(0, out_dir / base.with_name(base.name + ext))
        items.append(BatchItem(p, rel, outputs))
    return items


def _is_image(entry: Path | str) -> bool:
    return isinstance(entry, Path) and entry.suffix.lower() in IMAGE_EXTENSIONS


#: Segment length for long videos in parallel batches: long enough that a segment's start-up is a small share.
SEGMENT_SECONDS = 300.0


def auto_workers(items: int, cores: int | None = None, gpus: int = 0) -> int:
    """How many worker processes ``--workers auto`` starts: one per core, or one per GPU for a pipeline that runs
    on one (``gpus``: the GPUs here when it does), and never more than there are work items.

    Each worker then gets an equal share of the cores for its own thread pools (see
    :mod:`vision_desk.engine.batch_workers`), so that workers do not oversubscribe the machine; a GPU pipeline
    is already batched on its GPU, and more processes there would only hold more copies of the model.
    """
    cores = cores or os.cpu_count() or 1
    return max(1, min(items, gpus if gpus > 0 else cores))


def wants_gpu(spec: PipelineSpec) -> bool:
    """Whether a stage of the pipeline runs on a GPU when there is one (its ``device`` is not ``cpu``)."""
    from vision_desk.engine.stage import stage_class

    def device(stage: StageSpec) -> str:
        field = stage_class(stage.stage).Params.model_fields.get("device")
        return str(stage.params.get("device", field.default if field else "cpu"))

    return any(device(stage) != "cpu" for stage in spec.stages if stage.enabled)


def local_gpus() -> int:
    """NVIDIA GPUs on this machine, counted from their device files (no CUDA library loaded)."""
    return len(glob.glob("/dev/nvidia[0-9]*"))


def run_batch(
    input_dir: str | Path,
    spec: PipelineSpec,
    out_dir: str | Path,
    *,
    recursive: bool = False,
    resume: bool = False,
    video: bool = True,
    annotated: bool = True,
    workers: int | str = 1,
    ray: str | None = None,
    segment_seconds: float = SEGMENT_SECONDS,
    on_progress: Callable[[BatchProgress], None] | None = None,
    on_item_done: Callable[[BatchItem], None] | None = None,
    cancel: threading.Event | None = None,
    stage_errors: str = "raise",
) -> BatchSummary:
    """Processes every input; never raises for a bad input (it is marked failed with its reason).

    Args:
        input_dir: a folder of videos and images, or a text file listing sources (see the module's notes).
        workers: processes working on files in parallel: a number, or ``auto`` (:func:`auto_workers`). With 1
            everything runs in this process, as before.
        ray: the address of a Ray cluster (``auto``, ``HOST:PORT``, ``ray://HOST:PORT``) to run the work items on
            as Ray tasks instead (:mod:`vision_desk.engine.batch_ray`); ``workers`` is then the cluster's business.
        segment_seconds: when working in parallel, videos at least 1.5 times this long are cut at keyframes into
            segments of about this length, processed in parallel and joined (:mod:`vision_desk.engine.batch_segments`);
            0 never cuts. Pipelines with a stage that carries state between frames are never cut.
        stage_errors: a stage that raises on a frame: ``raise`` fails that file (the others go on), ``continue``
            records the frame in the item's ``warnings`` and goes on with the file.
    """
    input_dir, out_dir = Path(input_dir), Path(out_dir)
    if input_dir.is_file():
        items = plan(read_list(input_dir), input_dir.parent, out_dir, video)
        if not items:
            raise VisionDeskError(f"{input_dir} lists no sources; write one file path or web URL a line.")
    else:
        items = plan(discover_inputs(input_dir, recursive), input_dir, out_dir, video)
        if not items:
            raise VisionDeskError(f"no videos or images in {input_dir}{'' if recursive else ' (add --recursive for subfolders)'}.")
    summary = BatchSummary(items)
    t_start = time.perf_counter()
    todo = []
    for item in items:
        if resume and all(o.exists() for o in item.outputs):
            item.status = ItemStatus.SKIPPED
            if on_item_done:
                on_item_done(item)
        else:
            todo.append(item)
    wanted = (os.cpu_count() or 1) if workers == "auto" else int(workers)
    if not todo or (wanted <= 1 and not ray):
        _run_here(items, todo, spec, video, annotated, on_progress, on_item_done, cancel, t_start, stage_errors)
    else:  # in parallel: long files are cut into segments, and every runner sees only work items
        from vision_desk.engine.batch_segments import SegmentedBatch

        batch = SegmentedBatch(items, todo, spec, segment_seconds, video=video, resume=resume,
                               on_progress=on_progress, on_item_done=on_item_done)
        work = batch.work
        if ray:
            from vision_desk.engine.batch_ray import run_on_ray

            run_on_ray(work, work, spec, ray, video=video, annotated=annotated, on_progress=batch.progress,
                       on_item_done=batch.done, cancel=cancel, t_start=t_start, stage_errors=stage_errors)
        else:
            from vision_desk.engine.batch_workers import run_in_workers

            gpus = local_gpus() if workers == "auto" and wants_gpu(spec) else 0
            count = auto_workers(len(work), gpus=gpus) if workers == "auto" else max(1, min(wanted, len(work)))
            if count > 1:
                run_in_workers(work, work, spec, count, video=video, annotated=annotated,
                               on_progress=batch.progress, on_item_done=batch.done, cancel=cancel, t_start=t_start,
                               stage_errors=stage_errors)
            else:
                _run_here(work, work, spec, video, annotated, batch.progress, batch.done, cancel, t_start, stage_errors)
        batch.finish_all()
    summary.seconds = time.perf_counter() - t_start
    return summary


def _run_here(items: list[BatchItem], todo: list[BatchItem], spec: PipelineSpec, video: bool, annotated: bool,
              on_progress: Callable[[BatchProgress], None] | None, on_item_done: Callable[[BatchItem], None] | None,
              cancel: threading.Event | None, t_start: float, stage_errors: str = "raise") -> None:
    pipeline = Pipeline(spec, stage_errors=stage_errors)
    position = {id(item): n for n, item in enumerate(items)}
    try:
        for item in todo:
            n = position[id(item)]
            if cancel is not None and cancel.is_set():
                item.status = ItemStatus.CANCELLED
            else:
                def frames(done: int, total: int | None, item: BatchItem = item, n: int = n) -> None:
                    if on_progress:
                        on_progress(BatchProgress(n, len(items), item, done, total, time.perf_counter() - t_start))

                process_item(item, pipeline, video=video, annotated=annotated, on_frames=frames, cancel=cancel)
            if on_item_done:
                on_item_done(item)
    finally:
        pipeline.close()


def process_item(item: BatchItem, pipeline: Pipeline, *, video: bool = True, annotated: bool = True,
                 on_frames: Callable[[int, int | None], None] | None = None,
                 cancel: threading.Event | None = None) -> BatchItem:
    """Turns one input into its complete outputs (or none), filling in ``item``'s status, frames and time.

    Args:
        item: the input and its planned outputs.
        pipeline: a pipeline this function may reset and run (its models stay loaded for the next item).
        on_frames: called about ten times a second with (frames done, frames in the file or None).
        cancel: set to stop; the item is then cancelled and its outputs removed.
    """
    is_image = _is_image(item.input)
    source = _batch_source(item.input, item.span)
    sinks: list[Sink] = []
    t0 = time.perf_counter()
    try:
        pipeline.reset()  # no engine is running between files, so this thread may touch the stages
        if video:
            sinks.append(ImageSink(item.outputs[0], annotated) if is_image else RecorderSink(item.outputs[0], None, annotated=annotated, atomic=True))
        sinks.append(JsonlSink(item.outputs[-1], atomic=True))
        engine = Engine(source, pipeline, sinks=sinks, live=False, annotate=video and annotated, close_pipeline=False)
        engine.start()
        while not engine.join(0.1):
            if cancel is not None and cancel.is_set():
                engine.stop()
            if source.live:  # a web video that turned out to be a live broadcast would never end
                engine.stop()
                engine.join(30)
                for o in item.outputs:
                    o.unlink(missing_ok=True)
                raise VisionDeskError(f"{source.name} is a live broadcast, which never ends; a batch takes videos that "
                                      "do (record a broadcast with vision-desk run URL --record).")
            if on_frames:
                on_frames(engine.stats().frames_out, source.frame_count)
        item.frames = engine.stats().frames_out
        while pipeline.errors:  # this file's stage failures (continue): the pipeline is the next file's too
            item.warnings.append(str(pipeline.errors.popleft()))
        if engine.error:
            raise engine.error
        if cancel is not None and cancel.is_set():
            item.status = ItemStatus.CANCELLED
            for o in item.outputs:
                o.unlink(missing_ok=True)
        else:
            item.status = ItemStatus.DONE
    except VisionDeskError as err:
        item.status, item.error = ItemStatus.FAILED, str(err)
    except OSError as err:  # the output folder (inputs fail as VisionDeskError): gone, read-only, or full
        item.status, item.error = ItemStatus.FAILED, _output_failure(item, err)
        for sink in sinks:
            try:
                sink.close(ok=False)
            except Exception:  # noqa: BLE001
                pass
    finally:
        pipeline.reset()  # per-file outputs the stages write themselves (MOT files) are completed now
    item.seconds = time.perf_counter() - t0
    return item


def _output_failure(item: BatchItem, err: OSError) -> str:
    """One sentence for outputs that could not be written: where, why, and how to finish the file later."""
    target = Path(err.filename) if err.filename else item.outputs[0]
    folder = target if target.is_dir() or not target.suffix else target.parent
    return (f"cannot write the outputs of {item.rel} in {folder}: {err.strerror or err}; make the folder "
            "writable (or free some space) and run the batch again with --resume to finish it.")


def _batch_source(entry: Path | str, span: tuple[int, int] | None = None) -> Source:
    """The source of one input (``span``: the frames of a segment); files are opened as files whatever their
    extension (a list may name any)."""
    if isinstance(entry, str):
        return open_source(entry)
    kind = "image" if _is_image(entry) else "file"
    uri = SourceURI(kind, str(entry), {}, str(entry))
    return ImageSequenceSource(uri) if kind == "image" else VideoFileSource(uri, span=span)
