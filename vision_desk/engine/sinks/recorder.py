"""H.264 MP4 recording that plays anywhere and survives a crash.

PyAV (FFmpeg with libx264 bundled in its wheel) encodes on a thread of its
own. The MP4 is fragmented (``frag_keyframe+empty_moov``) with a keyframe
every two seconds, each fragment flushed to disk as it completes, so a killed
process leaves a file that ends cleanly at its last complete fragment; browsers, VLC and QuickTime play fragmented MP4. Timestamps come from
the frames (constant rate for files, real capture times for live sources).
NVENC is used when an NVIDIA GPU is present and the FFmpeg build has it.
"""

from __future__ import annotations

import errno
import os
import queue
import threading
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from vision_desk.engine.frame import Frame
from vision_desk.engine.sinks import Sink
from vision_desk.errors import VisionDeskError

_STOP = object()
TIME_BASE = Fraction(1, 1000)


def pick_encoder(preferred: str = "auto") -> str:
    """libx264 everywhere; h264_nvenc when asked for or when an NVIDIA device is present and works."""
    import av

    if preferred not in ("auto", "h264_nvenc"):
        return preferred
    if preferred == "h264_nvenc" or os.path.exists("/dev/nvidia0"):
        try:
            ctx = av.CodecContext.create("h264_nvenc", "w")
            ctx.width, ctx.height, ctx.pix_fmt, ctx.time_base = 64, 64, "yuv420p", TIME_BASE
            ctx.open()
            return "h264_nvenc"
        except Exception:  # noqa: BLE001 - no usable NVENC: fall back silently, it is only faster
            pass
    return "libx264"


class RecorderSink(Sink):
    """Records frames (annotated by default) to an H.264 MP4.

    Args:
        path: the output file.
        fps: the nominal frame rate; None takes the source's. Timestamps decide playback.
        annotated: record overlays (True) or the raw processed image.
        atomic: write to ``<name>.part.mp4`` and rename when complete (batch).
        encoder: ``auto``, ``libx264`` or ``h264_nvenc``.
        crf: quality for libx264 (lower is better; 23 is FFmpeg's default).
    """

    def __init__(self, path: str | Path, fps: float | None = 30.0, *, annotated: bool = True, atomic: bool = False,
                 encoder: str = "auto", crf: int = 23, preset: str = "veryfast") -> None:
        self.path = Path(path)
        if self.path.suffix.lower() not in (".mp4", ".m4v", ".mov"):
            raise VisionDeskError(f"recording to {self.path.name}: use a .mp4 file name.")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._target = self.path.with_name(self.path.stem + ".part" + self.path.suffix) if atomic else self.path
        self._fps_from_source = not fps
        self.fps = fps if fps and fps > 0 else 30.0
        self.annotated = annotated
        self.encoder = encoder
        self.crf = crf
        self.preset = preset
        self.frames = 0  # frames handed to the encoder
        # (frames, bytes) of encoded video the muxer has; one tuple so a reader never sees a frame without its bytes
        self._encoded = (0, 0)
        self.error: str | None = None
        self._queue: queue.Queue = queue.Queue(maxsize=16)
        self._thread = threading.Thread(target=self._run, name="recorder", daemon=True)
        self._thread.start()

    @property
    def size_bytes(self) -> int:
        """The file's size on disk now (it lags the recording by up to a fragment; see :meth:`recorded`)."""
        try:
            return self._target.stat().st_size
        except OSError:
            return 0

    def recorded(self) -> tuple[int, int]:
        """(frames, bytes) in the recording so far, whether on disk yet or not (MP4 headers aside).

        The size on disk lags: the muxer keeps each fragment in memory until the
        next keyframe (two seconds), so after two seconds of 720p the file was still
        its 760-byte header. The encoder also holds back a few frames, which are
        counted once it hands them out.
        """
        frames, size = self._encoded
        return frames, max(size, self.size_bytes)

    def attach(self, source, live: bool = False) -> None:  # noqa: ANN001
        if self._fps_from_source and source.fps:
            self.fps = source.fps

    def write(self, frame: Frame) -> None:
        if self.error:
            raise VisionDeskError(self.error)
        image = frame.display if self.annotated else frame.image
        self._queue.put((image, frame.timestamp))

    def close(self, ok: bool = True) -> None:
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()
        if self._target != self.path:
            if ok and self.error is None and self.frames > 0:
                os.replace(self._target, self.path)
            else:
                self._target.unlink(missing_ok=True)
        if ok and self.error:
            raise VisionDeskError(self.error)

    def _run(self) -> None:
        import av

        container = stream = None
        size: tuple[int, int] | None = None
        last_pts = -1
        try:
            while True:
                item = self._queue.get()
                if item is _STOP:
                    break
                image, timestamp = item
                if container is None:
                    h, w = image.shape[:2]
                    size = (w - w % 2, h - h % 2)  # yuv420p needs even sides
                    container, stream = self._open(av, size)
                image = _fit(image, size)
                pts = max(int(round(timestamp / TIME_BASE)), last_pts + 1)
                last_pts = pts
                vf = av.VideoFrame.from_ndarray(image, format="bgr24")
                vf.pts, vf.time_base = pts, TIME_BASE
                for packet in stream.encode(vf):
                    self._mux(container, packet)
                self.frames += 1
            if stream is not None:
                for packet in stream.encode(None):
                    self._mux(container, packet)
        except Exception as err:  # noqa: BLE001 - reported to the writer on its next call
            self.error = _failure(self.path, err)
            while True:  # keep draining so the producer never blocks on a dead recorder
                try:
                    if self._queue.get(timeout=0.5) is _STOP:
                        break
                except queue.Empty:
                    break
        finally:
            if container is not None:
                try:
                    container.close()
                except Exception as err:  # noqa: BLE001 - the disk filled while the last fragment was written
                    self.error = self.error or _failure(self.path, err)
            if self.error and container is not None:
                cut_to_last_fragment(self._target)

    def _mux(self, container, packet) -> None:  # noqa: ANN001
        container.mux(packet)
        frames, size = self._encoded
        self._encoded = (frames + 1, size + packet.size)

    def _open(self, av, size: tuple[int, int]):  # noqa: ANN001, ANN202
        container = av.open(
            str(self._target), mode="w", format="mp4",
            options={"movflags": "frag_keyframe+empty_moov+default_base_moof", "flush_packets": "1"},
        )
        codec = pick_encoder(self.encoder)
        stream = container.add_stream(codec, rate=Fraction(self.fps).limit_denominator(1001))
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = TIME_BASE
        stream.codec_context.gop_size = max(1, int(round(self.fps * 2)))
        if codec == "libx264":
            stream.options = {"crf": str(self.crf), "preset": self.preset, "profile": "high"}
        return container, stream


def _failure(path: Path, err: BaseException) -> str:
    """The one sentence for a recording that could not go on."""
    full = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is used up",
            errno.EFBIG: "the file size limit was reached"}.get(getattr(err, "errno", None))
    if full:
        return (f"recording to {path} stopped: {full}; what was recorded before is kept and plays. "
                "Free some space (or record to another disk) and record again.")
    return f"recording to {path.name} failed: {err}"


def cut_to_last_fragment(path: Path) -> None:
    """Truncates a fragmented MP4 after its last complete fragment (``moof`` + ``mdat``).

    A write that failed part-way (disk full) leaves a fragment cut short at
    the end, which players and FFmpeg report as invalid data; without it the
    file ends cleanly. Truncating only shortens a file, so it works on a full disk.
    """
    try:
        with open(path, "rb+") as f:
            size = os.fstat(f.fileno()).st_size
            offset = good = 0
            while offset + 8 <= size:
                f.seek(offset)
                header = f.read(16)
                box_size, kind = int.from_bytes(header[:4], "big"), header[4:8]
                if box_size == 1 and len(header) == 16:
                    box_size = int.from_bytes(header[8:16], "big")
                if box_size < 8 or offset + box_size > size:
                    break
                offset += box_size
                if kind in (b"moov", b"mdat"):  # the header, then each fragment, ends complete here
                    good = offset
            if good and good < size:
                f.truncate(good)
    except OSError:
        pass  # the file is gone or unreadable: nothing to keep


def _fit(image: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    """Keeps every frame at the recording's size (stages may change the size while running)."""
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    h, w = image.shape[:2]
    if size is None or (w, h) == size:
        return np.ascontiguousarray(image)
    if w >= size[0] and h >= size[1] and w - size[0] <= 1 and h - size[1] <= 1:
        return np.ascontiguousarray(image[: size[1], : size[0]])
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)
