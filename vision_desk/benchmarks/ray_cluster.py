"""A real Ray cluster of one or two nodes on loopback, each a `ray start --block` process (benchmarks and tests).

Everything stays on 127.0.0.2. Ray rewrites 127.0.0.1 (and "localhost") into the
machine's network address (``ray._private.services.resolve_ip_for_localhost``),
which would send the cluster's traffic off loopback; every 127.x.x.x address is
loopback on Linux and Ray leaves the others alone. Token authentication stays
on: the nodes and the driver share a random token through RAY_AUTH_TOKEN.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HOST = "127.0.0.2"
RAY = [sys.executable, "-m", "ray.scripts.scripts"]  # Ray's own CLI, from this environment whatever PATH says


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


AUTH_VARIABLES = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_USAGE_STATS_ENABLED")


def _reload_ray_settings() -> None:
    from ray._raylet import AuthenticationTokenLoader, Config

    Config.initialize("")
    AuthenticationTokenLoader.instance().reset_cache()


class RayCluster:
    """``start()`` brings up the head and ``nodes - 1`` worker nodes with ``cpus`` CPUs each; ``stop()`` ends all."""

    def __init__(self, cpus: int = 1, nodes: int = 2) -> None:
        self.cpus, self.node_count = cpus, nodes
        self.port = free_port()
        self.address = f"{HOST}:{self.port}"
        # short: Ray's unix sockets live below it, and their paths must fit in 107 characters
        self.temp_dir = Path(tempfile.mkdtemp(prefix="vdray", dir="/tmp"))
        self.env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32),
                    "RAY_USAGE_STATS_ENABLED": "0"}
        self.nodes: list[subprocess.Popen] = []

    def _start_node(self, *args: str) -> None:
        log = open(self.temp_dir / f"node{len(self.nodes)}.log", "w")  # noqa: SIM115 - closed with the process
        self.nodes.append(subprocess.Popen(
            [*RAY, "start", "--block", f"--node-ip-address={HOST}", f"--num-cpus={self.cpus}",
             "--disable-usage-stats", *args],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))

    def start(self, timeout: float = 120.0) -> None:
        self._start_node("--head", f"--port={self.port}", "--include-dashboard=false",
                         f"--ray-client-server-port={free_port()}", f"--temp-dir={self.temp_dir}")
        self._wait(1, timeout)
        for n in range(2, self.node_count + 1):
            self._start_node(f"--address={self.address}")
            self._wait(n, timeout)

    def _wait(self, nodes: int, timeout: float) -> None:
        """Waits until ``ray status`` lists that many live nodes (the command needs no driver)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for node in self.nodes:
                if node.poll() is not None:
                    raise RuntimeError(f"a Ray node exited: {(self.temp_dir / 'node0.log').read_text()[-2000:]}")
            status = subprocess.run([*RAY, "status", f"--address={self.address}"], env=self.env,
                                    capture_output=True, text=True)
            if status.returncode == 0 and status.stdout.count(" node_") >= nodes:
                return
            time.sleep(0.5)
        raise RuntimeError(f"the Ray cluster did not show {nodes} nodes within {timeout:.0f} s")

    def use_here(self) -> dict[str, str | None]:
        """Makes this process a driver of the cluster (its token in the environment); returns what to restore.

        Ray caches its settings and the token when it is imported, so they are reloaded here, as
        ``ray._private.authentication.authentication_token_setup`` does when it turns token mode on.
        """
        saved = {k: os.environ.get(k) for k in AUTH_VARIABLES}
        os.environ.update({k: self.env[k] for k in AUTH_VARIABLES})
        _reload_ray_settings()
        return saved

    @staticmethod
    def restore(saved: dict[str, str | None]) -> None:
        """Undoes :meth:`use_here`."""
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        _reload_ray_settings()

    def worker_pids(self, task: str) -> list[int]:
        """Processes now running a task of that function (Ray names them ``ray::<function>``)."""
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if (entry / "cmdline").read_bytes().startswith(f"ray::{task}".encode()):
                        found.append(int(entry.name))
                except OSError:
                    pass
        return found

    def stop(self) -> None:
        for node in reversed(self.nodes):  # SIGTERM makes `ray start --block` stop everything it started
            if node.poll() is None:
                node.terminate()
        for node in reversed(self.nodes):
            try:
                node.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(node.pid, signal.SIGKILL)  # its own session: everything it started
                node.wait(10)
        shutil.rmtree(self.temp_dir, ignore_errors=True)
