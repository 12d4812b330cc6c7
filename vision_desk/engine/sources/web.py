"""Web videos: a page (YouTube, any site yt-dlp supports) or an HLS playlist, read with FFmpeg.

Connecting resolves the page to its stream with yt-dlp on the reader thread
(the GUI never waits on the network), then opens that stream with PyAV. PyAV,
not OpenCV, reads it because sites want their own HTTP headers on every request
and OpenCV's FFmpeg backend takes those only from one process-wide variable.

A live broadcast is read live (newest frame, drops counted); anything else
lossless (every frame). yt-dlp says which where it can (YouTube, HLS playlists
with or without an end); where it cannot, a stream of unknown length is live.
A dropped stream is resolved afresh before reconnecting, as sites' stream
URLs expire (YouTube's after some hours); a lossless one goes on after the
last frame it gave.
"""

from __future__ import annotations

import time

import numpy as np

from vision_desk.engine.sources.base import Source, SourceState, doubling
from vision_desk.engine.sources.live import OPEN_TIMEOUT_S, READ_TIMEOUT_S
from vision_desk.engine.sources.web_resolve import RESOLVE_TIMEOUT_S, ResolvedVideo, resolve
from vision_desk.engine.uri import SourceURI
from vision_desk.errors import SourceError

#: Reconnect attempts a lossless video gets before it fails: a live one retries until stopped.
LOSSLESS_RECONNECTS = 5


class WebSource(Source):
    """A web video; ``live`` is None until it has connected and then says how it is read.

    Options: ``?height=N`` picks the rendition with at most N lines (the smallest when every one is larger);
    ``?open_timeout=`` and ``?read_timeout=`` (seconds) as for streams.
    """

    live: bool | None = None

    def __init__(self, uri: SourceURI, *, open_timeout: float = OPEN_TIMEOUT_S, read_timeout: float = READ_TIMEOUT_S,
                 resolve_timeout: float = RESOLVE_TIMEOUT_S) -> None:
        super().__init__(uri)
        self.height = int(uri.options["height"]) if "height" in uri.options else None
        self.open_timeout = float(uri.options.get("open_timeout", open_timeout))
        self.read_timeout = float(uri.options.get("read_timeout", read_timeout))
        self.resolve_timeout = resolve_timeout
        self.resolved: ResolvedVideo | None = None
        self.resolutions = 0  # how often the page was resolved: once, and once more per reconnect
        self._container = None
        self._frames = None
        self._pending = None  # the frame found while skipping to where a dropped lossless video was
        self._t0 = time.monotonic()
        self._first_time: float | None = None
        self._last_time: float | None = None  # of the last frame given: a lossless reconnect goes on after it
        self._end_time: float | None = None  # where the stream says it ends (seconds, as frame times count)
        self._resumed_from: float | None = None

    # -- connecting ------------------------------------------------------------------
    def open(self) -> None:
        self.set_state(SourceState.CONNECTING, f"finding the video at {self.name}")
        try:
            self._connect()
        except SourceError as err:
            self.set_state(SourceState.FAILED, str(err))
            raise
        if self.live is None:
            self.live = self.resolved.is_live if self.resolved.is_live is not None else self._container.duration is None
        self._t0 = time.monotonic()
        self.set_state(SourceState.RUNNING)

    def _connect(self) -> None:
        """Resolves the page and opens its stream; raises SourceError with the reason."""
        import av

        self.resolved = resolve(self.uri.target, self.height, self.resolve_timeout)
        self.resolutions += 1
        options = {"headers": "".join(f"{k}: {v}\r\n" for k, v in self.resolved.headers.items())}
        try:
            container = av.open(self.resolved.url, options=options, timeout=(self.open_timeout, self.read_timeout))
        except (av.FFmpegError, OSError):
            raise SourceError(f"the video at {self.name} was found but its stream would not open; try again, or "
                              "another quality (?height=).") from None
        if not container.streams.video:
            container.close()
            raise SourceError(f"the stream at {self.name} has no picture (sound only); try another page.")
        stream = self._pick_stream(container)
        self.close()
        self._container, self._frames = container, container.decode(stream)
        rate = stream.average_rate or stream.guessed_rate
        self.fps = float(rate) if rate and 0 < float(rate) < 1000 else None
        self.size = (stream.codec_context.width, stream.codec_context.height)
        duration = container.duration / 1e6 if container.duration else None
        if stream.duration and stream.time_base:  # the picture's own length: a longer sound track is not frames
            self._end_time = float((stream.start_time or 0) * stream.time_base + stream.duration * stream.time_base)
        else:
            self._end_time = (container.start_time or 0) / 1e6 + duration if duration else None
        self.frame_count = stream.frames or (round(duration * self.fps) if duration and self.fps else None)  # for progress
        if self._last_time is not None and not self.live:
            try:
                self._skip_past(container, stream, self._last_time)
            except (av.FFmpegError, OSError):
                raise SourceError(f"the video at {self.name} broke off again while going back to where it "
                                  "stopped; try again later.") from None

    @staticmethod
    def _pick_stream(container):  # noqa: ANN001, ANN205 - PyAV types
        """The picture; the demuxer drops every other stream (sound) at once rather than hand it over."""
        stream = container.streams.video[0]
        for other in container.streams:
            if other is not stream:
                other.discard = "all"
        return stream

    def _skip_past(self, container, stream, last: float) -> None:  # noqa: ANN001 - PyAV types
        """Goes on after the frame at ``last`` seconds (the stream was opened afresh after a drop)."""
        if stream.time_base:
            try:
                container.seek(int(last / stream.time_base), stream=stream, backward=True)
            except Exception:  # noqa: BLE001 - a stream that cannot seek is decoded from the start instead
                pass
        for frame in self._frames:
            if frame.time is not None and frame.time > last + 1e-6:
                self._pending = frame
                return

    # -- reading -----------------------------------------------------------------------
    def read(self) -> tuple[np.ndarray, float] | None:
        import av

        while not self._interrupt.is_set():
            frame, self._pending = self._pending, None
            if frame is None and self._frames is not None:
                try:
                    frame = next(self._frames)
                except StopIteration:
                    if not self.live and not self._cut_short():
                        self.set_state(SourceState.ENDED)
                        return None
                except (av.FFmpegError, OSError):
                    frame = None
            if frame is not None:
                return frame.to_ndarray(format="bgr24"), self._timestamp(frame)
            self._reconnect()
        return None

    def _cut_short(self) -> bool:
        """Whether a lossless video ended before its known length (FFmpeg skips HLS segments it cannot fetch,
        as when their links expired): then it is reconnected and goes on after its last frame."""
        if self._end_time is None or self._last_time is None or self._last_time == self._resumed_from:
            return False  # a reconnect that brought no new frame: the length was overstated, this is the end
        self._resumed_from = self._last_time
        return self._last_time + 1.5 / (self.fps or 30.0) < self._end_time

    def _timestamp(self, frame) -> float:  # noqa: ANN001 - av.VideoFrame
        if self.live or frame.time is None:
            return time.monotonic() - self._t0
        self._last_time = frame.time
        if self._first_time is None:
            self._first_time = frame.time
        return frame.time - self._first_time

    def _reconnect(self) -> None:
        """Resolves the page again (its stream URL may have expired) and reopens, with capped backoff: each try asks
        the site again, so it gets doubling waits rather than a camera's steady retries."""
        attempts = None if self.live else LOSSLESS_RECONNECTS
        if self.reconnect(self._try_connect, attempts, doubling()) or self._interrupt.is_set():
            return
        msg = (f"the video at {self.name} broke off and did not come back in {LOSSLESS_RECONNECTS} tries; check the "
               "connection and try again later.")
        self.set_state(SourceState.FAILED, msg)
        raise SourceError(msg)

    def _try_connect(self) -> bool:
        try:
            self._connect()
        except SourceError:
            return False  # the status says which attempt this was; the next one comes after the backoff
        return True

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = self._frames = None
