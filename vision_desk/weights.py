"""Where model files come from and where they live, and which compute device to use.

Device choice: CUDA, then Apple MPS, then CPU. Models live in the user cache
folder (``vision-desk models path`` prints it; ``VISION_DESK_MODELS`` overrides
it) and are only ever downloaded by ``vision-desk models pull`` or an explicit
GUI action, never behind the user's back.
"""

from __future__ import annotations

import os
import sys
from functools import lru_cache
from pathlib import Path

import platformdirs

from vision_desk.private import private_dir


def models_dir() -> Path:
    """The folder downloaded and user-supplied weights are cached in."""
    env = os.environ.get("VISION_DESK_MODELS")
    path = Path(env).expanduser() if env else Path(platformdirs.user_cache_dir("vision-desk")) / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir() -> Path:
    """The user data folder (face gallery, settings that are not Qt's)."""
    env = os.environ.get("VISION_DESK_DATA")
    path = Path(env).expanduser() if env else Path(platformdirs.user_data_dir("vision-desk"))
    return private_dir(path, tighten_existing=False)  # a new one is private (the face gallery, teach sets live here)


#: The GPU runtime libraries torch's CUDA support loads: NVIDIA's driver, and AMD's HIP for ROCm builds.
_GPU_LIBRARIES = ("nvcuda.dll", "amdhip64.dll") if sys.platform == "win32" else ("libcuda.so.1", "libcuda.so", "libamdhip64.so")


def _gpu_driver_present() -> bool:
    """Whether an NVIDIA (or AMD ROCm) GPU runtime loads: without one, torch.cuda cannot be available."""
    import ctypes

    for name in _GPU_LIBRARIES:
        try:
            ctypes.CDLL(name)
            return True
        except OSError:
            continue
    return False


@lru_cache(maxsize=None)
def pick_device(preferred: str = "auto") -> str:
    """``cuda:0``, ``mps`` or ``cpu``: the preferred one when it exists, else the best available.

    Torch is imported (about 2 s on a small CPU) only when the answer depends
    on it: ``cpu`` needs no check, and where no GPU driver loads (and it is
    not a Mac) CUDA cannot be available, so an OpenCV or OpenVINO pipeline on
    the CPU starts without it.
    """
    if preferred != "auto" and not preferred.startswith("cuda"):
        return preferred
    if sys.platform != "darwin" and not _gpu_driver_present():
        return "cpu"
    import torch

    if preferred != "auto":
        index = int(preferred.partition(":")[2] or 0)
        if torch.cuda.is_available() and index < torch.cuda.device_count():
            return preferred
        # a GPU that is not there (cuda:1 on a one-GPU machine): the best one that is, like auto
    if torch.cuda.is_available():
        return "cuda:0"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def device_label() -> str:
    """The compute device for status lines: the GPU's name when torch is in use with CUDA, else CPU.

    Torch is not imported just to say "CPU": a pipeline of OpenCV stages never loads it.
    """
    torch = sys.modules.get("torch")
    if torch is None:
        return "CPU"
    try:
        if torch.cuda.is_available():
            return f"CUDA: {torch.cuda.get_device_name(0)}"
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return "Apple MPS"
    except Exception:  # noqa: BLE001 - a broken driver still leaves the CPU
        pass
    return "CPU"
