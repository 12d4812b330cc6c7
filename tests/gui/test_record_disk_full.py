"""The disk fills while the app records: the record button turns off, the sentence shows, the view goes on.

The full disk is real to the app: this process's own file-size limit
(``RLIMIT_FSIZE``; ``SIGXFSZ`` ignored so the write fails with ``EFBIG``, as a
full disk's fails with ``ENOSPC``) is lowered, for the length of the test, to
just past what the recording already holds on disk. The soft limit alone
changes, so it is put back afterwards.
"""

from __future__ import annotations

import resource
import signal

import av


def test_a_full_disk_stops_only_the_recording(qtbot, window) -> None:
    window.output.record_action.trigger()
    sink = window.session.recorder
    qtbot.waitUntil(lambda: sink.size_bytes > 2000, timeout=30000)  # the header and a first complete fragment
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    try:
        resource.setrlimit(resource.RLIMIT_FSIZE, (sink.size_bytes + 1000, hard))
        qtbot.waitUntil(lambda: not window.output.record_action.isChecked(), timeout=30000)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)
    path = window.output.last_recording
    qtbot.waitUntil(lambda: "stopped: the file size limit was reached" in window.statusBar().currentMessage(),
                    timeout=5000)
    assert window.statusBar().currentMessage().startswith(f"recording to {path} stopped")
    assert window.session.recorder is None and not window.output.label.isVisible()
    shown = window.frames_shown
    qtbot.waitUntil(lambda: window.frames_shown >= shown + 5, timeout=10000)  # the view goes on
    assert window.session.running
    with av.open(str(path)) as container:  # what was recorded plays, to its last complete fragment, without error
        assert sum(1 for _ in container.decode(video=0)) >= 15
