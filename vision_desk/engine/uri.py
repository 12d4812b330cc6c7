"""One source URI syntax for the CLI, pipeline files and the GUI.

    0, cam:0, cam:0?width=1280&height=720&fps=30   a webcam by index
    clip.mp4, /videos/x.mkv                         a video file
    photo.jpg                                       a single image
    /photos/, /photos/*.jpg                         a folder or glob of images (?fps=10)
    rtsp://user:pass@host/path, http(s)://...       a network stream
    screen:, screen:2, screen:?region=0,0,800,600   screen capture (mss)
    demo:                                           the built-in demo scene
"""

from __future__ import annotations

import glob
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit, urlunsplit

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
VIDEO_EXTENSIONS = {".mp4", ".mkv", ".avi", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".ts", ".flv", ".wmv", ".gif"}
STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp", "srt")
_SECRET_QUERY_KEYS = re.compile(r"(?i)^(password|passwd|pwd|pass|token|key|secret|auth)$")


@dataclass(frozen=True)
class SourceURI:
    """A parsed source URI."""

    kind: str  # webcam | file | image | images | stream | screen | demo
    target: str  # device index, path, URL, monitor index
    options: dict[str, str] = field(default_factory=dict)
    raw: str = ""

    @property
    def masked(self) -> str:
        return mask_uri(self.raw)


def mask_uri(uri: str) -> str:
    """Hides user names, passwords and secret query values in a URI (for logs, status lines, exports)."""
    if "://" not in uri:
        return uri
    try:
        parts = urlsplit(uri)
    except ValueError:
        return re.sub(r"//[^/@]*@", "//***:***@", uri)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***:***@" + netloc.rsplit("@", 1)[1]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = "&".join(f"{k}={'***' if _SECRET_QUERY_KEYS.match(k) else v}" for k, v in pairs)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def mask_uris_in(text: str) -> str:
    """``text`` with every URI in it masked as by :func:`mask_uri` (for messages that quote what the user typed)."""
    return re.sub(r"[A-Za-z][\w+.-]*://[^\s'\"]+", lambda m: mask_uri(m.group(0)), text)


def _split_options(text: str) -> tuple[str, dict[str, str]]:
    base, sep, query = text.partition("?")
    return base, dict(parse_qsl(query)) if sep else {}


def parse_uri(uri: str | int) -> SourceURI:
    """Parses a source URI; raises SourceError naming the problem for anything it cannot use."""
    from vision_desk.errors import SourceError

    text = str(uri).strip()
    if not text:
        raise SourceError("empty source: give a file, a folder, a camera index (0), a stream URL or demo:.")
    low = text.lower()
    scheme = low.split("://", 1)[0] if "://" in low else ""
    if scheme in STREAM_SCHEMES:
        return SourceURI("stream", text, {}, text)
    if low.startswith("demo:"):
        _, opts = _split_options(text[5:])
        return SourceURI("demo", "", opts, text)
    if low.startswith("screen:"):
        base, opts = _split_options(text[7:])
        return SourceURI("screen", base or "1", opts, text)
    if low.startswith("cam:") or text.isdigit():
        base, opts = _split_options(text[4:] if low.startswith("cam:") else text)
        if not base.isdigit():
            raise SourceError(f"camera '{text}': expected a camera index such as cam:0.")
        return SourceURI("webcam", base, opts, text)
    base, opts = _split_options(text) if "?" in text and not Path(text).exists() else (text, {})
    path = Path(base).expanduser()
    if path.is_dir():
        return SourceURI("images", str(path), opts, text)
    if any(ch in base for ch in "*?["):
        if not glob.glob(base):
            raise SourceError(f"no files match '{base}': check the pattern.")
        return SourceURI("images", base, opts, text)
    if not path.exists():
        raise SourceError(f"source '{text}' not found: give an existing file or folder, a camera index (0), a stream URL or demo:.")
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        return SourceURI("image", str(path), opts, text)
    return SourceURI("file", str(path), opts, text)
