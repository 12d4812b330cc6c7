"""Vision Desk: real-time video vision on the desktop."""

import os

__version__ = "0.1.0"

# OpenCV and its FFmpeg print warnings straight to stderr (failed RTSP DESCRIBE, probing noise);
# Vision Desk reports those conditions itself in one sentence. `--debug` turns the logs back on.
os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
