"""A real HTTP file server on 127.0.0.1 (Python's http.server) for the model-download and web-video tests.

``/NAME`` serves the file; ``/cut/NAME`` announces its full length but closes
the connection halfway; ``/gated/NAME`` sends its first 64 kB piece and the rest
only once ``FileHandler.release`` is set, so a test can press Cancel mid-download
however slow or fast the machine is.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class FileHandler(http.server.SimpleHTTPRequestHandler):
    requests: list[str] = []
    release = threading.Event()

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        type(self).requests.append(self.path)
        mode, _, name = self.path.lstrip("/").partition("/")
        if mode not in ("cut", "gated"):
            super().do_GET()
            return
        data = (Path(self.directory) / name).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if mode == "cut":
            self.wfile.write(data[: len(data) // 2])
        else:
            piece = 1 << 16
            self.wfile.write(data[:piece])
            self.wfile.flush()
            type(self).release.wait(60)
            try:
                self.wfile.write(data[piece:])
            except OSError:
                pass  # the client hung up (a cancelled download)
        self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def serve_folder(folder: Path, handler: type[FileHandler] = FileHandler) -> Iterator[str]:
    """Serves folder at the yielded http://127.0.0.1:PORT until the block ends; handler.requests lists the paths asked for.

    ``handler`` is FileHandler or a subclass of it with more routes (tests/servers/web_video.py).
    """
    FileHandler.requests = []
    FileHandler.release = threading.Event()
    handler.requests = FileHandler.requests
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        FileHandler.release.set()  # a gated download still waiting ends now
        httpd.shutdown()
        httpd.server_close()
