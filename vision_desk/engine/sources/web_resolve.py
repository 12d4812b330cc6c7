"""Finding the video stream behind a web page (YouTube, any site yt-dlp knows, an HLS or DASH playlist).

yt-dlp does the finding; FFmpeg (PyAV) then reads the stream it names. yt-dlp
is asked for information only: it downloads nothing but the page and the
playlists it must read, writes no cache or cookie file, fetches no remote code,
prints nothing, and its errors become one sentence for the user.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from vision_desk.engine.uri import mask_uri, mask_uris_in
from vision_desk.errors import SourceError

log = logging.getLogger(__name__)

#: Seconds a page or playlist request may take before the site counts as unreachable.
RESOLVE_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class ResolvedVideo:
    """The stream a page offers, as chosen for reading.

    Attributes:
        url: what FFmpeg opens (a media file, an HLS media playlist or a DASH manifest).
        headers: HTTP headers the site wants with every request (user agent, referer, cookies).
        is_live: yt-dlp's word on a live broadcast: True, False, or None where it cannot tell.
        height: the rendition's height in lines, when the site says.
        title: the video's title (for logs).
    """

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    is_live: bool | None = None
    height: int | None = None
    title: str = ""


class _QuietLogger:
    """yt-dlp's messages go to this module's logger at debug level, never to the console."""

    def debug(self, msg: str) -> None:
        log.debug("%s", mask_uris_in(msg))

    info = warning = error = debug


def format_selector(height: int | None) -> str:
    """A yt-dlp format choice: the best video up to ``height`` lines (the smallest above it when none is that small).

    Formats FFmpeg reads from one URL (files, HLS) come first; a DASH one only where a site offers
    nothing else, to be refused with a sentence (PyAV's FFmpeg has no DASH demuxer). ``bv*`` also
    takes formats with sound, the only kind many sites have.
    """
    direct = "[protocol!*=dash]"
    if height is None:
        return f"bv*{direct}/bv*"
    limit = f"[height<=?{height}]"
    return f"bv*{limit}{direct}/bv*{limit}/wv*{direct}/wv*"


def ytdlp_options(height: int | None, timeout: float) -> dict:
    """Options that keep yt-dlp to finding the stream: quiet, no files written, nothing fetched beyond what it needs."""
    return {
        "format": format_selector(height),
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "logger": _QuietLogger(),
        "cachedir": False,  # no signature cache in ~/.cache
        "cookiefile": None,
        "skip_download": True,
        "check_formats": False,  # no test downloads of each format
        "noplaylist": True,  # a watch URL that names a playlist too means its one video
        "playlist_items": "1",  # a page with several videos: the first, without resolving the rest
        "socket_timeout": timeout,
        "extractor_retries": 0,
        "default_search": "error",  # text that is not a URL is an error, never a YouTube search
        "remote_components": [],  # never download solver code from GitHub
        "color": "no_color",
    }


def resolve(page_url: str, height: int | None = None, timeout: float = RESOLVE_TIMEOUT_S) -> ResolvedVideo:
    """The stream ``page_url`` offers, at most ``height`` lines high where the site offers several.

    Blocks for a network round trip or a few: call it on a reader thread, never the GUI's.

    Raises:
        SourceError: one sentence naming the (masked) URL and the fix: no video on the page, the site
            cannot be reached, or the site refused the video.
    """
    import yt_dlp

    try:
        with yt_dlp.YoutubeDL(ytdlp_options(height, timeout)) as ydl:
            info = ydl.extract_info(page_url, download=False)
            info = _first_video(info)
    except yt_dlp.utils.YoutubeDLError as err:  # DownloadError and kin, each carrying the extractor's own error
        raise SourceError(explain(page_url, err)) from None
    if info is None:
        raise SourceError(_no_video(page_url))
    chosen = _chosen_format(info)
    url = chosen.get("url")
    if "dash" in str(chosen.get("protocol", "")):
        raise SourceError(f"{mask_uri(page_url)} offers its video only as DASH, which the FFmpeg bundled here cannot "
                          "read; give the HLS (.m3u8) or file address of the same video if the site has one.")
    if not url:
        raise SourceError(_no_video(page_url))
    live = info.get("is_live")
    return ResolvedVideo(
        url=url,
        headers={str(k): str(v) for k, v in (chosen.get("http_headers") or info.get("http_headers") or {}).items()},
        is_live=None if live is None else bool(live),
        height=chosen.get("height"),
        title=str(info.get("title") or ""),
    )


def _first_video(info: dict | None) -> dict | None:
    """The video itself, or the first video of a playlist result."""
    while info is not None and info.get("_type") == "playlist":
        entries = [e for e in info.get("entries") or [] if e]
        info = entries[0] if entries else None
    return info


def _chosen_format(info: dict) -> dict:
    """The one format yt-dlp chose (with sound and picture apart, the picture)."""
    requested = info.get("requested_formats") or []
    video = [f for f in requested if f.get("vcodec") != "none"]
    return video[0] if video else info


def _no_video(page_url: str) -> str:
    return (f"no video found at {mask_uri(page_url)}: give the address of a page that plays one video, "
            "or the video's own URL.")


def explain(page_url: str, err: Exception) -> str:
    """One sentence for a yt-dlp failure: what went wrong with ``page_url`` (masked) and what to do."""
    from yt_dlp.networking.exceptions import HTTPError, TransportError
    from yt_dlp.utils import ExtractorError, UnsupportedError

    masked = mask_uri(page_url)
    cause = err.exc_info[1] if getattr(err, "exc_info", None) else err
    while isinstance(cause, ExtractorError) and cause.cause is not None and not isinstance(cause, UnsupportedError):
        cause = cause.cause
    if isinstance(cause, UnsupportedError):
        return _no_video(page_url)
    if isinstance(cause, HTTPError):
        return f"{masked} answered HTTP {cause.status} ({cause.reason}): check the address and that the video is public."
    if isinstance(cause, (TransportError, OSError)):
        return f"cannot reach {masked}: check the address and the network connection, and that the site is up."
    text = str(getattr(cause, "orig_msg", None) or cause)
    if "format is not available" in text or "No video formats" in text:
        return f"{masked} offers no video that can be played here (sound only, or protected): try another page."
    reason = _short(text)
    return (f"the site refused the video at {masked} ({reason}): check that it plays in a browser without signing in, "
            "or update yt-dlp (pip install -U yt-dlp).")


def _short(text: str) -> str:
    """The first sentence of yt-dlp's reason, without its prefixes, URLs masked, at most 100 characters."""
    text = mask_uris_in(text.replace("ERROR: ", "")).strip()
    if text.startswith("[") and "] " in text:  # "[youtube] abc123: Video unavailable"
        text = text.split("] ", 1)[1]
        head, sep, rest = text.partition(": ")
        text = rest if sep and " " not in head else text
    text = text.split("\n", 1)[0].split(". ", 1)[0].rstrip(".")
    return text if len(text) <= 100 else text[:99] + "…"
