"""One source URI syntax for the CLI, pipeline files and the GUI.

    0, cam:0, cam:0?width=1280&height=720&fps=30   a webcam by index
    clip.mp4, /videos/x.mkv                         a video file
    photo.jpg                                       a single image
    /photos/, /photos/*.jpg                         a folder or glob of images (?fps=10)
    rtsp://user:pass@host/path, rtmp://...          a network stream
    http(s)://host/clip.mp4, http://cam/video.mjpg  a media file or camera stream on a web server
    https://www.youtube.com/watch?v=..., any page   a web video: found with yt-dlp (?height=720 picks
      yt-dlp supports, https://host/live.m3u8,       the quality); read lossless unless it is a live
      web:https://...                                broadcast (web: forces it for any URL)
    screen:, screen:2, screen:?region=0,0,800,600   screen capture (mss)
    demo:                                           the built-in demo scene

Streams and web videos take ``?open_timeout=S`` and ``?read_timeout=S`` (seconds; 5 by default), streams
``?watchdog=S`` (see :mod:`vision_desk.engine.capture`): they are
taken out of the URL, whose own query goes to the server as it was.
"""

from __future__ import annotations

import glob
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from vision_desk.errors import one_line

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
VIDEO_EXTENSIONS = {".mp4", ".mkv", ".avi", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".ts", ".flv", ".wmv", ".gif"}
STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp", "srt")
#: Paths on a web server that FFmpeg reads as they are (media files, camera MJPEG and CGI streams);
#: any other http(s) URL is a web page or playlist that yt-dlp resolves to its video stream.
DIRECT_MEDIA_EXTENSIONS = (VIDEO_EXTENSIONS - {".gif"}) | {".mjpg", ".mjpeg", ".cgi", ".h264", ".h265", ".mp2t"}
#: Options of a stream (seconds an open or a read may take); they are taken out of the URL's query, the rest of
#: which is the camera's or the server's.
STREAM_OPTIONS = ("open_timeout", "read_timeout", "watchdog")
#: Options of a web source, taken out of the page URL's query the same way.
WEB_OPTIONS = ("height", *STREAM_OPTIONS)
#: Options that must be positive numbers, by source kind; the sources read them with float() as they open.
_NUMBER_OPTIONS = {"webcam": ("width", "height", "fps"), "screen": ("fps",), "demo": ("fps",), "images": ("fps",),
                   "image": ("fps",)}
_SECRET_QUERY_KEYS = re.compile(r"(?i)^(password|passwd|pwd|pass|token|key|secret|auth)$")
_URI_START = re.compile(r"[A-Za-z][\w+.-]*://")


@dataclass(frozen=True)
class SourceURI:
    """A parsed source URI."""

    kind: str  # webcam | file | image | images | stream | web | screen | demo
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
    if uri[:4].lower() == "web:":
        return uri[:4] + mask_uri(uri[4:])
    try:
        parts = urlsplit(uri)
    except ValueError:
        return re.sub(r"//.*@", "//***:***@", uri, count=1)  # not a URL (a stray '['): hide up to the last '@'
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***:***@" + netloc.rsplit("@", 1)[1]
    elif _password_with_a_delimiter(parts.netloc, uri):
        # rtsp://admin:pa/ss@cam: an unescaped '/', '?' or '#' in the password ends the host for urlsplit, which
        # then sees host "admin", port "pa" and the rest of the password in the path; hide up to the last '@'
        rest = uri.split("://", 1)[1].rsplit("@", 1)[1]
        return mask_uri(f"{parts.scheme}://***:***@{rest}")
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = "&".join(f"{k}={'***' if _SECRET_QUERY_KEYS.match(k) else v}" for k, v in pairs)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _password_with_a_delimiter(netloc: str, uri: str) -> bool:
    """Whether ``netloc`` ("user:pa" of rtsp://user:pa/ss@cam) may be the start of credentials that go on past a
    '/', '?' or '#': a colon in it and an '@' after it. rtsp://cam:554/a@b reads the same way and is masked too:
    hiding a path is the lesser harm."""
    return ":" in netloc and not netloc.endswith("]") and "@" in uri.split("://", 1)[1]


def mask_uris_in(text: str, typed: Iterable[str] = ()) -> str:
    """``text`` with every URI in it masked as by :func:`mask_uri` (for messages that quote what the user typed).

    Args:
        text: the message.
        typed: strings the message may quote whole, such as the command-line arguments: a URI in one of them
            is masked to the end of the string, so a password with a space or a quote in it (which ends a URI
            in free text) is hidden too.
    """
    for value in sorted(typed, key=len, reverse=True):
        start = _URI_START.search(value)
        if start:
            uri = value[start.start():]
            text = text.replace(uri, mask_uri(uri))
    return re.sub(r"[A-Za-z][\w+.-]*://[^\s'\"]+", lambda m: mask_uri(m.group(0)), text)


def source_stem(uri: str, fallback: str = "source") -> str:
    """A file-name stem naming a source, credentials left out: ``clip`` for ``/videos/clip.mp4``, ``cam-0`` for
    ``cam:0``, ``cam1-stream`` for ``rtsp://user:pass@cam1/stream``, ``fallback`` when nothing usable is left."""
    text = str(uri).strip()
    if "://" in text:
        text = re.sub(r"^(web:)?[A-Za-z][\w+.-]*://", "", mask_uri(text).replace("***:***@", ""))
    elif not re.match(r"^[A-Za-z]{2,}:", text):  # a path (a drive letter's one-letter scheme included), not demo: or cam:0
        path = Path(text.partition("?")[0] if "?" in text and not Path(text).exists() else text)
        text = path.parent.name if any(ch in path.name for ch in "*?[") else path.stem or path.name
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")[:100] or fallback


def _split_options(text: str) -> tuple[str, dict[str, str]]:
    base, sep, query = text.partition("?")
    return base, dict(parse_qsl(query)) if sep else {}


def broken_link(path: Path) -> str:
    """The sentence for a symbolic link that leads to no file (a missing target, or links that loop)."""
    return (f"{one_line(path.name)} is a link that leads to no file (its target is missing, or links loop back to "
            "it); give the video or image itself.")


def parse_uri(uri: str | int) -> SourceURI:
    """Parses a source URI; raises SourceError naming the problem for anything it cannot use."""
    from vision_desk.errors import SourceError

    text = str(uri).strip()
    if not text:
        raise SourceError("empty source: give a file, a folder, a camera index (0), a stream URL or demo:.")
    low = text.lower()
    scheme = low.split("://", 1)[0] if "://" in low else ""
    if low.startswith("web:"):
        return _web_uri(text[4:].strip(), text)
    if scheme in ("http", "https") and not _is_direct_media(text):
        return _web_uri(text, text)
    if scheme in STREAM_SCHEMES:
        target, options = _take_options(text, STREAM_OPTIONS)
        return SourceURI("stream", target, _checked_seconds(options, text), text)
    if low.startswith("demo:"):
        _, opts = _split_options(text[5:])
        return _checked(SourceURI("demo", "", opts, text))
    if low.startswith("screen:"):
        base, opts = _split_options(text[7:])
        if base and not _is_index(base):
            raise SourceError(f"screen '{one_line(text)}': expected a monitor number such as screen:1.")
        if "region" in opts and not re.fullmatch(r"\d+,\d+,[1-9]\d*,[1-9]\d*", opts["region"]):
            raise SourceError(f"{one_line(text)}: region must be x,y,width,height in pixels, e.g. ?region=0,0,800,600.")
        return _checked(SourceURI("screen", base or "1", opts, text))
    if low.startswith("cam:") or _is_index(text):
        base, opts = _split_options(text[4:] if low.startswith("cam:") else text)
        if not _is_index(base):
            raise SourceError(f"camera '{one_line(text)}': expected a camera index such as cam:0.")
        return _checked(SourceURI("webcam", base, opts, text))
    base, opts = _split_options(text) if "?" in text and not Path(text).exists() else (text, {})
    try:
        path = Path(base).expanduser()
    except RuntimeError:  # ~name of a user that does not exist: a path like any other, which will not be found
        path = Path(base)
    if path.is_dir():
        return _checked(SourceURI("images", str(path), opts, text))
    if any(ch in base for ch in "*?["):
        if not glob.glob(base):
            raise SourceError(f"no files match '{one_line(base)}': check the pattern.")
        return _checked(SourceURI("images", base, opts, text))
    if not path.exists():
        if path.is_symlink():  # it is in the folder, but leads nowhere: "not found" would puzzle whoever sees it there
            raise SourceError(broken_link(path))
        raise SourceError(f"source '{one_line(text)}' not found: give an existing file or folder, a camera index (0), a stream URL or demo:.")
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        return _checked(SourceURI("image", str(path), opts, text))
    return SourceURI("file", str(path), opts, text)


def _is_index(text: str) -> bool:
    """A camera or monitor number: ASCII digits only (``'²'.isdigit()`` is true, but int() refuses it)."""
    return text.isascii() and text.isdigit()


def _checked(uri: SourceURI) -> SourceURI:
    """``uri``, once every option of its kind that must be a positive number is one (SourceError otherwise)."""
    from vision_desk.errors import SourceError

    for name in _NUMBER_OPTIONS.get(uri.kind, ()):
        if name in uri.options and not _positive(uri.options[name]):
            raise SourceError(f"{one_line(mask_uri(uri.raw))}: {name} must be a positive number, e.g. ?{name}=30.")
    return uri


def _positive(text: str) -> bool:
    try:
        return 0 < float(text) < float("inf")
    except ValueError:
        return False


def web_uri(url: str, height: int | None = None) -> str:
    """The source URI of a web video: ``web:URL``, with ``height=N`` added to its query when a height is chosen."""
    url = url.strip()
    url = url[4:].strip() if url[:4].lower() == "web:" else url
    if height:
        url += ("&" if "?" in url else "?") + f"height={int(height)}"
    return "web:" + url


def _is_direct_media(url: str) -> bool:
    try:
        path = urlsplit(url).path
    except ValueError:
        return True  # not a URL yt-dlp could use either: FFmpeg gives the error
    return Path(path).suffix.lower() in DIRECT_MEDIA_EXTENSIONS


def _web_uri(url: str, raw: str) -> SourceURI:
    """A web video: the page URL (our options taken out of its query) and those options."""
    from vision_desk.errors import SourceError

    if "://" not in url and url and not url.startswith("/"):
        url = "https://" + url  # web:youtube.com/watch?v=... as a browser would take it
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise SourceError(f"'{one_line(mask_uri(raw))}' is not a web address: give a page URL such as web:https://www.youtube.com/watch?v=ID.")
    url, options = _take_options(url, WEB_OPTIONS)
    if "height" in options and not _is_index(options["height"]):
        raise SourceError(f"{one_line(mask_uri(raw))}: height must be a number of lines, e.g. ?height=720.")
    return SourceURI("web", url, _checked_seconds(options, raw), raw)


def _take_options(url: str, names: tuple[str, ...]) -> tuple[str, dict[str, str]]:
    """The URL without our options (``names``) in its query, and those options.

    The rest of the query stays byte for byte (signed URLs break when re-encoded), and a URL without our options
    is returned as it was.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return url, {}  # not a URL FFmpeg could open either: it gives the error
    ours = [piece for piece in parts.query.split("&") if piece.partition("=")[0] in names]
    if not ours:
        return url, {}
    query = "&".join(piece for piece in parts.query.split("&") if piece and piece not in ours)
    return urlunsplit(parts._replace(query=query)), dict(parse_qsl("&".join(ours)))


def _checked_seconds(options: dict[str, str], raw: str) -> dict[str, str]:
    """``options``, once every timeout in them is a positive number of seconds (SourceError otherwise)."""
    from vision_desk.errors import SourceError

    for name in STREAM_OPTIONS:
        if name not in options:
            continue
        if not _positive(options[name]):
            raise SourceError(f"{one_line(mask_uri(raw))}: {name} must be a number of seconds, e.g. ?{name}=5.")
    return options
