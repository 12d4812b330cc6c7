"""Finite sources that never drop a frame: video files and image sequences."""

from __future__ import annotations

import glob
import stat
from pathlib import Path

import cv2
import numpy as np

from vision_desk.engine.sources.base import Source, SourceState
from vision_desk.engine.uri import IMAGE_EXTENSIONS, SourceURI, broken_link
from vision_desk.errors import SourceError

#: What a path is when it is not a regular file, for the sentence that refuses it.
_NOT_A_FILE = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"),
               (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"))


def check_regular_file(path: Path) -> int:
    """The size of ``path``, once it is a regular file (or a link to one); SourceError in one sentence otherwise.

    Opening a named pipe for reading blocks until something writes to it, and a device may never end, so a file
    source refuses them before FFmpeg or OpenCV opens them: a batch never hangs on one.
    """
    try:
        info = path.stat()
    except OSError as err:  # a dangling link, a symlink loop, a file removed since it was listed
        if path.is_symlink():
            raise SourceError(broken_link(path)) from None
        raise SourceError(f"{path.name} cannot be opened ({err.strerror or err}); give an existing video or image file.") from None
    for test, what in _NOT_A_FILE:
        if test(info.st_mode):
            raise SourceError(f"{path.name} is {what}, not a file; give a video or image file.")
    return info.st_size


class VideoFileSource(Source):
    """A video file decoded by OpenCV's FFmpeg backend, every frame in order.

    With ``span=(start, end)`` it reads only frames ``start`` to ``end - 1`` (a batch segment), numbered and
    timed as in the whole file; ``start`` should be a keyframe, so the seek lands on it exactly.
    """

    seekable = True

    def __init__(self, uri: SourceURI, span: tuple[int, int] | None = None) -> None:
        super().__init__(uri)
        self.path = Path(uri.target)
        self.span = span
        self._cap: cv2.VideoCapture | None = None
        self._index = 0
        self._end: int | None = None

    def open(self) -> None:
        self.set_state(SourceState.CONNECTING)
        if check_regular_file(self.path) == 0:
            self._fail(f"{self.path.name} is empty (0 bytes); it is not a video.")
        cap = cv2.VideoCapture(str(self.path), cv2.CAP_FFMPEG)
        if not cap.isOpened():
            cap.release()
            self._fail(f"{self.path.name} cannot be decoded as video; it is corrupt, truncated or not a video file.")
        self._cap = cap
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.fps = fps if 0 < fps < 1000 else 30.0
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self.frame_count = count if count > 0 else None
        self.size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        self._index, self._end = 0, None
        if self.span is not None:
            start, self._end = self.span
            if start > 0:
                cap.set(cv2.CAP_PROP_POS_FRAMES, start)
            self._index = start
            self.frame_count = self._end - start  # what this source will deliver, for progress
        self.set_state(SourceState.RUNNING)

    def _fail(self, message: str) -> None:
        self.set_state(SourceState.FAILED, message)
        raise SourceError(message)

    def read(self) -> tuple[np.ndarray, float] | None:
        assert self._cap is not None, "open() first"
        first = self.span[0] if self.span else 0
        ok, image = (False, None) if self._end is not None and self._index >= self._end else self._cap.read()
        if not ok:
            done = self._index - first
            if done == 0:
                self._fail(f"{self.path.name} has no decodable frames{f' from frame {first}' if first else ''}; "
                           "it is corrupt or truncated.")
            if self.frame_count and done < self.frame_count * 0.9 - 2:
                self._fail(f"{self.path.name} is truncated or corrupt: decoded {done} of {self.frame_count} frames"
                           f"{f' from frame {first}' if first else ''}.")
            self.set_state(SourceState.ENDED)
            return None
        timestamp = self._index / self.fps if self.fps else 0.0
        self._index += 1
        return image, timestamp

    @property
    def position(self) -> int:
        """Index of the next frame read() returns."""
        return self._index

    def seek(self, index: int) -> None:
        assert self._cap is not None
        index = max(0, min(index, (self.frame_count or index + 1) - 1))
        self._cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        self._index = index

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class ImageSequenceSource(Source):
    """One image, a folder of images or a glob, in name order, at ``?fps=`` (default 10) for recordings."""

    seekable = True

    def __init__(self, uri: SourceURI) -> None:
        super().__init__(uri)
        self._paths: list[Path] = []
        self._index = 0
        try:
            self.fps = float(uri.options.get("fps", 10))
        except ValueError:
            raise SourceError(f"{uri.raw}: fps must be a number, e.g. ?fps=10.") from None

    def open(self) -> None:
        self.set_state(SourceState.CONNECTING)
        target = self.uri.target
        if self.uri.kind == "image":
            paths = [Path(target)]
        elif Path(target).is_dir():
            paths = sorted(p for p in Path(target).iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
        else:
            paths = sorted(Path(p) for p in glob.glob(target) if Path(p).suffix.lower() in IMAGE_EXTENSIONS)
        if not paths:
            self.set_state(SourceState.FAILED, "no images")
            raise SourceError(f"{target}: no images found ({', '.join(sorted(IMAGE_EXTENSIONS))}).")
        self._paths = paths
        self.frame_count = len(paths)
        self.set_state(SourceState.RUNNING)

    def read(self) -> tuple[np.ndarray, float] | None:
        if self._index >= len(self._paths):
            self.set_state(SourceState.ENDED)
            return None
        path = self._paths[self._index]
        check_regular_file(path)
        try:
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        except cv2.error as err:  # OpenCV refuses a header that claims more than 2^30 pixels by an assertion
            huge = "CV_IO_MAX_IMAGE_PIXELS" in str(err)
            self.set_state(SourceState.FAILED, f"cannot read {path.name}")
            raise SourceError(f"{path.name} cannot be read as an image; " + ("its header claims more than 2^30 pixels, so it "
                              "is corrupt or too large to open." if huge else "it is corrupt or not an image.")) from None
        if image is None:
            self.set_state(SourceState.FAILED, f"cannot read {path.name}")
            raise SourceError(f"{path.name} cannot be read as an image; it is corrupt or not an image.")
        timestamp = self._index / (self.fps or 10.0)
        self._index += 1
        return image, timestamp

    @property
    def position(self) -> int:
        return self._index

    def seek(self, index: int) -> None:
        self._index = max(0, min(index, len(self._paths) - 1))
