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
#: Paths on a web server that FFmpeg reads as they are (media files, camera MJPEG and CGI streams);
#: any other http(s) URL is a web page or playlist that yt-dlp resolves to its video stream.
DIRECT_MEDIA_EXTENSIONS = (VIDEO_EXTENSIONS - {".gif"}) | {".mjpg", ".mjpeg", ".cgi", ".h264", ".h265", ".mp2t"}
#: Options of a web source; they are taken out of the page URL's query, the rest of which is the site's.
WEB_OPTIONS = ("height",)
_SECRET_QUERY_KEYS = re.compile(r"(?i)^(password|passwd|pwd|pass|token|key|secret|auth)$")


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
        raise SourceError(f"'{mask_uri(raw)}' is not a web address: give a page URL such as web:https://www.youtube.com/watch?v=ID.")
    # the site's own query stays byte for byte (signed playlist URLs break when re-encoded)
    ours = [piece for piece in parts.query.split("&") if piece.partition("=")[0] in WEB_OPTIONS]
    options = dict(parse_qsl("&".join(ours)))
    if "height" in options and not options["height"].isdigit():
        raise SourceError(f"{mask_uri(raw)}: height must be a number of lines, e.g. ?height=720.")
    query = "&".join(piece for piece in parts.query.split("&") if piece and piece not in ours)
    return SourceURI("web", urlunsplit(parts._replace(query=query)), options, raw)
