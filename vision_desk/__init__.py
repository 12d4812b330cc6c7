"""Vision Desk: real-time video vision on the desktop."""

import os
import sys

__version__ = "0.1.0"

# OpenCV and its FFmpeg print warnings straight to stderr (failed RTSP DESCRIBE, probing noise);
# Vision Desk reports those conditions itself in one sentence. `--debug` turns the logs back on.
os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

# PyTorch's CPU kernels (oneDNN) keep a compiled primitive for every input shape they meet, 1024 by default,
# and some hold megabytes. Faces (MTCNN's batches follow the number of candidates) and OCR (word crops of every
# width) meet new shapes all day: a live faces + OCR pipeline grew 1.4 GB an hour over a 32-minute soak. With 64
# it stayed flat at the same frame rate (docs/reliability.md, "Soak").
os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "64")

# OpenVINO's model converter (ov.convert_model, which Ultralytics' OpenVINO export and the teach export call) sends
# usage events to Google Analytics under a client id it writes to ~/intel, unless a consent file there declines; it
# asks no one (it runs with its opt-in dialog off). Vision Desk sends nothing behind the user's back, so in its
# processes the converter's own no-op stub stands in: ovc falls back to it when openvino_telemetry cannot be imported,
# and a None entry in sys.modules makes that import fail.
sys.modules.setdefault("openvino_telemetry", None)
