"""One reader thread per source, with an explicit buffer policy.

``live``: a one-slot buffer that always holds the newest frame; a frame the
consumer has not taken when the next arrives is dropped and counted, so
latency never grows when processing is slower than the source.
``lossless``: a bounded queue; the reader blocks when it is full, so no frame
is ever dropped and memory stays bounded.

Every item the consumer gets is a :class:`Frame`, or one of the sentinels
:data:`END` / a :class:`CaptureError`; ``get`` uses timeouts so nothing hangs.

A source that knows its nature only once connected (a web video: live
broadcast or not) has ``live = None``; its reader starts lossless and turns
live, if the source says so, before the first frame (``policy_known``).

With ``hold_at_end`` a seekable source that ends keeps its reader: END reaches
the consumer and the reader waits for a seek (or stop), as a media player keeps
a finished file open so its seek bar still works.

A watchdog (sources with a ``stall_timeout``: network streams) gives up on a
reader blocked inside FFmpeg for longer than that, as Frigate restarts a stuck
camera process: the source forgets the connection, a new reader connects
anew, and the old one, a daemon thread, ends quietly whenever FFmpeg lets go.
Nobody waits for it, ``join`` included. At most :data:`MAX_ABANDONED` blocked
readers are left behind at once; past that, the watchdog waits for one to end.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass

from vision_desk.engine.frame import Frame
from vision_desk.engine.sources.base import ReaderAbandoned, Source, SourceState
from vision_desk.errors import SourceError, VisionDeskError

END = object()
#: Readers still blocked in FFmpeg that a watchdog may leave behind at once (each holds a thread and a socket).
MAX_ABANDONED = 3


@dataclass(frozen=True)
class CaptureError:
    """The reader failed; message is for the user."""

    message: str


class LatestSlot:
    """A one-item mailbox: a new frame replaces an untaken one (counted as dropped); get waits."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: object | None = None
        self._has = False
        self.dropped = 0

    def put(self, item: object) -> None:
        """Frames replace an unconsumed frame (counted as dropped); sentinels wait for it to be taken."""
        with self._cond:
            if isinstance(item, tuple) and isinstance(item[1], Frame):  # (seek generation, frame)
                if self._has:
                    self.dropped += 1
            else:
                # END or an error must not swallow the last frame: give the consumer up to 2 s to take it.
                self._cond.wait_for(lambda: not self._has, 2.0)
            self._item, self._has = item, True
            self._cond.notify_all()

    def get(self, timeout: float) -> object | None:
        with self._cond:
            if not self._has and not self._cond.wait_for(lambda: self._has, timeout):
                return None
            item, self._item, self._has = self._item, None, False
            self._cond.notify_all()
            return item

    def clear(self) -> None:
        with self._cond:
            self._item, self._has = None, False
            self._cond.notify_all()


class BoundedQueue:
    """A FIFO that blocks the producer when full (lossless policy)."""

    def __init__(self, maxsize: int = 8) -> None:
        self._q: queue.Queue = queue.Queue(maxsize)
        self.dropped = 0

    def put(self, item: object, stop: threading.Event) -> bool:
        while not stop.is_set():
            try:
                self._q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def put_final(self, item: object, stop: threading.Event, timeout: float = 5.0) -> None:
        """Delivers END or an error; if the consumer has stopped, makes room rather than block."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self._q.put(item, timeout=0.1)
                return
            except queue.Full:
                if stop.is_set():
                    self.clear()

    def get(self, timeout: float) -> object | None:
        try:
            return self._q.get(timeout=timeout)
        except queue.Empty:
            return None

    def clear(self) -> None:
        while True:
            try:
                self._q.get_nowait()
            except queue.Empty:
                return

    def reserve(self, size: int) -> None:
        """Lets the queue hold at least size frames (a batching consumer takes several at once)."""
        with self._q.mutex:
            if size > self._q.maxsize:
                self._q.maxsize = size
                self._q.not_full.notify_all()


class CaptureThread:
    """Reads a source on its own thread into a live or lossless buffer.

    Args:
        source: an unopened source.
        live: keep only the newest frame (defaults to the source's nature).
        realtime: for finite sources, pace frames at the source's fps (GUI
            playback); otherwise read as fast as the consumer takes them.
        on_frame_in: called for each frame read (for fps-in statistics).
    """

    def __init__(self, source: Source, *, live: bool | None = None, realtime: bool = False, on_frame_in=None,
                 hold_at_end: bool = False) -> None:
        self.source = source
        chosen = source.live if live is None else live
        self.live = bool(chosen)
        #: set once ``live`` is final: at once, or after a source that decides when connected has connected
        self.policy_known = threading.Event()
        if chosen is not None:
            self.policy_known.set()
        self.realtime = realtime
        self.hold_at_end = hold_at_end and source.seekable
        self._seek_requested = threading.Event()
        self._on_frame_in = on_frame_in
        self._buffer: LatestSlot | BoundedQueue = LatestSlot() if self.live else BoundedQueue()
        self._stop = threading.Event()
        self._epoch = 0  # which reader is current; a reader of an older epoch was abandoned by the watchdog
        self._thread = threading.Thread(target=self._run, args=(0,), name=f"capture:{source.name}", daemon=True)
        self._abandoned: list[threading.Thread] = []
        self.replaced = 0  # readers the watchdog gave up on
        self._seek_to: int | None = None
        self._seek_lock = threading.Lock()
        self._index = 0
        self._generation = 0

    @property
    def dropped(self) -> int:
        return self._buffer.dropped

    def start(self) -> None:
        self._thread.start()
        if self.source.stall_timeout is not None:
            threading.Thread(target=self._watch, name=f"watchdog:{self.source.name}", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        self.source.interrupt()

    def join(self, timeout: float = 5.0) -> None:
        """Waits for the reader to finish, but never for one blocked inside FFmpeg: that one is left to end alone."""
        deadline = time.monotonic() + timeout
        while self._thread.is_alive() and time.monotonic() < deadline:
            if self.source.blocked_since is not None and self._stop.is_set():
                return
            self._thread.join(0.05)

    @property
    def abandoned_alive(self) -> int:
        """Readers the watchdog gave up on that are still blocked."""
        self._abandoned = [t for t in self._abandoned if t.is_alive()]
        return len(self._abandoned)

    def _watch(self) -> None:
        """Gives up on a reader blocked past the source's stall timeout and starts a new one."""
        source, limit = self.source, self.source.stall_timeout
        assert limit is not None
        while not self._stop.wait(0.1):
            since = source.blocked_since
            if since is None or time.monotonic() - since < limit:
                continue
            if source.status.state not in (SourceState.RUNNING, SourceState.RECONNECTING):
                continue  # the first connection has its own timeout and fails with its sentence
            if self.abandoned_alive >= MAX_ABANDONED:
                continue  # bounded: wait for an abandoned reader to end before leaving another behind
            self._epoch += 1
            source.abandon()
            self._abandoned.append(self._thread)
            self.replaced += 1
            source.set_state(SourceState.RECONNECTING, f"{source.name} stalled (no answer for {limit:.0f} s); "
                             "reconnecting with a new reader")
            reader = threading.Thread(target=self._run, args=(self._epoch, True), name=f"capture:{source.name}",
                                      daemon=True)
            reader.start()
            self._thread = reader  # started first: is_alive() never sees a gap between the two readers

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def get(self, timeout: float = 0.1) -> object | None:
        """The next frame, END, a CaptureError, or None when nothing came within timeout.

        Frames (and the END of a held file) read before the latest seek are
        discarded here, so a seek takes effect at once even when the reader had
        already queued frames.
        """
        deadline = time.monotonic() + timeout
        while True:
            item = self._buffer.get(max(0.0, deadline - time.monotonic()))
            if not isinstance(item, tuple):
                return item
            generation, payload = item
            if generation == self._generation:
                return payload

    @property
    def generation(self) -> int:
        """How many seeks there have been; an item got before a seek belongs to the older generation."""
        return self._generation

    def reserve(self, frames: int) -> None:
        """Lossless buffers grow to hold at least this many frames (live ones keep only the newest)."""
        if isinstance(self._buffer, BoundedQueue):
            self._buffer.reserve(frames)

    def seek(self, index: int) -> None:
        """Asks the reader to continue from frame index (seekable sources only).

        Frames read before the request are discarded now, so the next frame the
        consumer gets is the one sought (a paused engine's step shows it).
        """
        with self._seek_lock:
            self._seek_to = index
            self._generation += 1
        self._buffer.clear()  # also unblocks a reader waiting on a full queue
        self._seek_requested.set()  # wakes a reader holding at the end

    def _emit(self, item: object) -> bool:
        if isinstance(self._buffer, LatestSlot):
            self._buffer.put(item)
            return True
        return self._buffer.put(item, self._stop)

    def _run(self, epoch: int, resume: bool = False) -> None:
        """Reads until the end, an error or stop; ``resume``: a replacement reader, whose source was opened."""
        source = self.source
        try:
            if not resume:
                source.open()
            if not self.policy_known.is_set():
                self.live = bool(source.live)
                if self.live:
                    self._buffer = LatestSlot()  # nothing was put in the lossless one yet; a waiting get times out
                self.policy_known.set()
            start = time.monotonic()
            first_ts: float | None = None
            while not self._stop.is_set():
                with self._seek_lock:
                    seek_to, self._seek_to = self._seek_to, None
                    generation = self._generation
                if seek_to is not None and source.seekable:
                    if source.status.state is SourceState.ENDED:
                        source.set_state(SourceState.RUNNING)  # a held file sought again plays on
                    source.seek(seek_to)
                    self._index = seek_to
                    start, first_ts = time.monotonic(), None
                got = source.read()
                if epoch != self._epoch:
                    return  # abandoned by the watchdog while reading: a newer reader owns the source now
                if got is None:
                    if not self.hold_at_end:
                        break
                    self._hold(generation)
                    continue
                image, timestamp = got
                if self.realtime and not source.live:
                    first_ts = timestamp if first_ts is None else first_ts
                    delay = (timestamp - first_ts) - (time.monotonic() - start)
                    if delay > 0 and self._stop.wait(delay):
                        break
                index = getattr(source, "position", self._index + 1) - 1 if not source.live else self._index
                self._index = index + 1
                frame = Frame(image=image, index=index, timestamp=timestamp, capture_time=time.perf_counter(), source_id=source.name)
                if self._on_frame_in is not None:
                    self._on_frame_in()
                if not self._emit((generation, frame)):
                    break
            self._finish(END)
        except ReaderAbandoned:
            return
        except VisionDeskError as err:
            if epoch == self._epoch:
                self._finish(CaptureError(str(err)))
        except Exception as err:  # noqa: BLE001 - the reader never dies silently
            if epoch == self._epoch:
                self._finish(CaptureError(f"reading {source.name} failed: {type(err).__name__}: {err}"))
        finally:
            if epoch == self._epoch:  # an abandoned reader must not close the connection of the one that replaced it
                try:
                    source.close()
                except Exception:  # noqa: BLE001
                    pass

    def _hold(self, generation: int) -> None:
        """Tells the consumer the file ended (tagged, so a seek made meanwhile voids it), then waits for a seek."""
        self._seek_requested.clear()
        with self._seek_lock:
            if self._generation != generation:
                return  # sought while reading the last frame: go on at once
        self._emit((generation, END))
        while not self._stop.is_set() and not self._seek_requested.wait(0.1):
            pass

    def _finish(self, item: object) -> None:
        self.policy_known.set()  # a source that failed to connect keeps the lossless buffer the error goes to
        if isinstance(item, CaptureError) and self.source.status.state not in (SourceState.FAILED,):
            try:
                self.source.set_state(SourceState.FAILED, item.message)
            except RuntimeError:
                pass
        if isinstance(self._buffer, LatestSlot):
            if self._stop.is_set():
                self._buffer.clear()  # stopping: nobody will take the last frame, so do not wait 2 s for it
            self._buffer.put(item)
        else:
            self._buffer.put_final(item, self._stop)


__all__ = ["END", "CaptureError", "CaptureThread", "SourceError"]
