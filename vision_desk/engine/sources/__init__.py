"""Frame sources: files, image folders, webcams, network streams, web videos, the screen and the demo scene."""

from __future__ import annotations

from vision_desk.engine.sources.base import Source, SourceState, SourceStatus
from vision_desk.engine.uri import parse_uri


def open_source(uri: str | int) -> Source:
    """Builds (but does not open) the source a URI names."""
    parsed = parse_uri(uri)
    if parsed.kind == "file":
        from vision_desk.engine.sources.files import VideoFileSource

        return VideoFileSource(parsed)
    if parsed.kind in ("image", "images"):
        from vision_desk.engine.sources.files import ImageSequenceSource

        return ImageSequenceSource(parsed)
    if parsed.kind == "stream":
        from vision_desk.engine.sources.live import StreamSource

        return StreamSource(parsed)
    if parsed.kind == "web":
        from vision_desk.engine.sources.web import WebSource

        return WebSource(parsed)
    if parsed.kind == "webcam":
        from vision_desk.engine.sources.live import WebcamSource

        return WebcamSource(parsed)
    if parsed.kind == "screen":
        from vision_desk.engine.sources.live import ScreenSource

        return ScreenSource(parsed)
    from vision_desk.engine.sources.demo import DemoSource

    return DemoSource(parsed)


__all__ = ["Source", "SourceState", "SourceStatus", "open_source"]
