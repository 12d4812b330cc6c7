"""Imports the heavy model libraries on a background thread once the window shows its first frames.

Why: a stage that needs torch imports it on the engine thread when the user
adds it. Parts of that import are single C calls that hold Python's GIL for
hundreds of milliseconds (loading torch's shared libraries and initialising
``torch._C``, torchvision's extension), and the GUI thread needs the GIL for
every event, so the window froze for 200-500 ms each time (issue 19, defect 5).
Those calls cannot be split or made to release the GIL from Python, so the
GUI pays them once, early, while the user looks at the first frames rather
than in the middle of editing a pipeline; a stage's later ``import torch``
then finds the module loaded and costs nothing. The garbage collector's full
passes over the objects these imports create were the other freezes; see
:meth:`ModulePreloader._run`.

This lives in ``gui/`` on purpose: the CLI, batch runs and the engine never
import torch unless a stage of theirs needs it.
"""

from __future__ import annotations

import gc
import importlib
import importlib.util
import threading

from vision_desk.engine.lanes import SETUP_LOCK

#: What the model stages import, heaviest first: torch (every PyTorch-based stage: faces, detection,
#: OCR, colorize, style), torchvision and facenet-pytorch (faces), dlib (face recognition, landmarks).
HEAVY_MODULES = ("torch", "torchvision", "facenet_pytorch", "dlib")


class ModulePreloader:
    """Imports a list of modules on one background thread, skipping those that are not installed.

    An import that fails is only recorded: the stage that needs the module
    imports it again and reports the error to the user as usual.
    """

    def __init__(self, modules: tuple[str, ...] = HEAVY_MODULES) -> None:
        self.modules = modules
        self.loaded: list[str] = []
        self.failed: dict[str, str] = {}
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Starts the imports (once; later calls do nothing)."""
        with self._lock:
            if self._thread is not None:
                return
            # Not a daemon: Python tearing down while a daemon thread is inside torch's import prints
            # errors from torch's finalisers (seen in a test run), so quitting waits for the import to finish.
            self._thread = threading.Thread(target=self._run, name="preload")
            self._thread.start()

    def _run(self) -> None:
        # These imports create about 400,000 Python objects. Each full garbage collection walks all of them
        # with the GIL held (about 200 ms on two cores), several run during the imports, and the next one
        # lands later, while a stage loads. So no collection runs during the imports, and what they created
        # is then frozen: collections skip it from then on (the use gc.freeze documents for start-up objects).
        # Measured importing torch, torchvision, facenet-pytorch and dlib beside a 1 ms ticker: the worst
        # delays fell from 130-330 ms (eight of them) to one of about 320 ms (torch's own C start-up).
        collecting = gc.isenabled()
        gc.disable()
        try:
            for name in self.modules:
                if importlib.util.find_spec(name) is None:  # finds the top-level package without importing it
                    continue
                try:
                    with SETUP_LOCK:  # never beside a stage's set-up importing the same libraries
                        importlib.import_module(name)
                except Exception as err:  # noqa: BLE001 - a broken install is the stage's error to report
                    self.failed[name] = f"{type(err).__name__}: {err}"
                else:
                    self.loaded.append(name)
        finally:
            gc.freeze()  # any cyclic garbage of this moment is kept too: a little memory, once
            if collecting:
                gc.enable()
            self._done.set()

    @property
    def started(self) -> bool:
        return self._thread is not None

    @property
    def done(self) -> bool:
        """Whether every import has finished (or failed)."""
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Blocks until the imports finish; True if they did within ``timeout`` seconds."""
        return self._done.wait(timeout)


#: One per process: the modules are process-wide, so a second window has nothing left to import.
preloader = ModulePreloader()
