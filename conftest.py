"""Root conftest: puts this checkout first on sys.path (so worktrees test their own code) and keeps Qt offscreen."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Never let a library reach for the network in tests (Ultralytics' hub checks, settings sync).
os.environ.setdefault("YOLO_OFFLINE", "1")
