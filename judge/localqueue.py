"""A Redis server and `judge worker` processes on this machine, for the queue tests and benchmark.

Production workers run on their own machines (docs/distributed.md); this module starts the same
real parts locally: a `redis-server` bound to loopback with a password, and worker subprocesses
(`python -m judge worker`), each in its own session so it can be stopped with its children.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from judge import distributed

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def redis_server(directory: Path, password: str) -> Iterator[str]:
    """Run `redis-server` on a free loopback port (no persistence); yield its URL."""
    port = free_port()
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--requirepass", password]
    command += ["--save", "", "--appendonly", "no", "--dir", str(directory)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"redis://:{password}@127.0.0.1:{port}/0"
    try:
        for _ in range(100):
            try:
                distributed.connect(url)
                break
            except distributed.QueueError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"redis-server did not answer on 127.0.0.1:{port}")
        yield url
    finally:
        server.terminate()
        server.wait(10)


def worker_env() -> dict[str, str]:
    """The caller's environment with this checkout first on PYTHONPATH (judge and its harness)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "sandbox"), env.get("PYTHONPATH", "")])
    return env


class Workers:
    """`judge worker` processes on the local backend, one slot each."""

    def __init__(self, url: str, stderr: int | IO[bytes] | None = subprocess.PIPE) -> None:
        self.url = url
        self.stderr = stderr
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, count: int, *extra: str, timeout: float = 120) -> None:
        """Start `count` workers and wait until every live one has registered with the queue."""
        command = [sys.executable, "-m", "judge", "worker", "--queue", self.url, "--slots", "1"]
        command += ["--backend", "local", *extra]
        for _ in range(count):
            self.processes.append(
                subprocess.Popen(
                    command,
                    env=worker_env(),
                    stdout=subprocess.DEVNULL,
                    stderr=self.stderr,
                    start_new_session=True,
                )
            )
        backend = distributed.QueueBackend(self.url)
        deadline = time.monotonic() + timeout
        while len(backend.workers()) < len([p for p in self.processes if p.poll() is None]):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{count} judge worker(s) did not register within {timeout:.0f} s")
            time.sleep(0.2)

    def stop(self) -> None:
        """SIGTERM every worker (it finishes or returns its run), SIGKILL one that hangs."""
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
        self.processes.clear()
