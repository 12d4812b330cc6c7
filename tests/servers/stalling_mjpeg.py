"""A half-up camera on 127.0.0.1: an MJPEG-over-HTTP stream that stops sending mid-stream without closing.

Each connection gets ``frames`` JPEG parts of a real photo, then nothing: the
socket stays open, so a reader waiting for the next part is blocked inside
FFmpeg. After ``hold_s`` the server closes that connection (a camera's TCP
stack giving up), which is what finally lets such a reader return.
"""

from __future__ import annotations

import socket
import threading
import time

import cv2
import numpy as np

BOUNDARY = b"vdframe"


class StallingMjpegServer:
    """``url`` serves the stream; ``connections`` counts the clients; ``stop`` closes everything."""

    def __init__(self, image: np.ndarray, frames: int = 20, fps: float = 20.0, hold_s: float = 60.0) -> None:
        ok, jpeg = cv2.imencode(".jpg", image)
        assert ok
        self.part = (b"--" + BOUNDARY + b"\r\nContent-Type: image/jpeg\r\nContent-Length: "
                     + str(len(jpeg)).encode() + b"\r\n\r\n" + jpeg.tobytes() + b"\r\n")
        self.frames, self.fps, self.hold_s = frames, fps, hold_s
        self.connections = 0
        self._server = socket.create_server(("127.0.0.1", 0))
        self._stop = threading.Event()
        self._clients: list[socket.socket] = []
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}/video.mjpg"
        threading.Thread(target=self._accept, name="mjpeg-server", daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            self.connections += 1
            self._clients.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            conn.recv(65536)  # the request; whatever it asks, it gets the stream
            conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary="
                         + BOUNDARY + b"\r\nCache-Control: no-cache\r\n\r\n")
            for _ in range(self.frames):
                if self._stop.is_set():
                    return
                conn.sendall(self.part)
                time.sleep(1.0 / self.fps)
            self._stop.wait(self.hold_s)  # stalled: open, silent
        except OSError:
            pass
        finally:
            conn.close()

    def stop(self) -> None:
        self._stop.set()
        self._server.close()
        for conn in self._clients:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
