"""The local backend: the checker and its worker as subprocesses of the judge.

Limits come from rlimits and the checker's own watch (memory, time, output); the worker
gets a private temp dir, a minimal environment and, where the kernel lets an unprivileged
process create one, an empty network namespace. Not a security boundary: the worker runs
as the same user as the judge. Use the docker backend for code you do not trust.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from judge.backends.base import RESULT_STDOUT_LIMIT, Execution, Job, ProgressScanner, checker_spec
from judge.catalog import Problem, problem_roots
from judge.paths import SANDBOX_DIR, SOLUTIONS_DIR, TESTS_DIR
from judge.staging import stage

HARNESS_ROOT = SANDBOX_DIR
WALL_SLACK_S = 30.0  # checker start-up and finishing on top of the suite's wall backstop (the checker keeps that one)
STDERR_TAIL = 8192
FORKSERVER_ENV = "JUDGE_FORKSERVER"  # "0": every run's checker is a fresh interpreter (the old way)


def hidden_paths(problem: Problem) -> list[Path]:
    """What the worker must not see: problem folders (hidden tests, wrong solutions), references, our tests."""
    roots = [root.absolute() for root in problem_roots()]
    return [*roots, problem.path.parent, problem.reference.parent, SOLUTIONS_DIR, TESTS_DIR]


class _Reader(threading.Thread):
    def __init__(self, stream, limit: int, scanner: ProgressScanner | None = None) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.limit = limit
        self.scanner = scanner
        self.data = bytearray()
        self.overflow = False

    def run(self) -> None:
        while chunk := self.stream.read1(65536):
            if self.scanner is not None:
                chunk = self.scanner.feed(chunk)
            self._keep(chunk)
        if self.scanner is not None:
            self._keep(self.scanner.flush())

    def _keep(self, chunk: bytes) -> None:
        if chunk:
            if len(self.data) + len(chunk) > self.limit:
                self.overflow = True
                self.data += chunk[: self.limit - len(self.data)]
                return  # the caller keeps draining so the writer never blocks
            self.data += chunk


class LocalBackend:
    name = "local"

    def __init__(self) -> None:
        self._live: set[Any] = set()  # checkers running now, for abort_all
        self._live_lock = threading.Lock()

    def abort_all(self) -> None:
        """Kill every checker this backend is running now (Ctrl-C during a spread run)."""
        with self._live_lock:
            live = list(self._live)
        for process in live:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def execute(self, job: Job) -> Execution:
        with tempfile.TemporaryDirectory(prefix="judge-run-") as tmp:
            root = Path(tmp)
            os.chmod(root, 0o700)
            submission = stage(job.submission, root / "submission", job.problem.module_name)
            work = root / "work"
            work.mkdir()
            driver = None
            if job.problem.driver is not None:  # the worker may read the driver, not the problem folder
                driver = root / "driver" / "driver.py"
                driver.parent.mkdir()
                shutil.copyfile(job.problem.driver, driver)
            spec = checker_spec(
                job,
                problem_dir=str(job.problem.path),
                submission=str(submission),
                driver=str(driver) if driver else None,
                worker_cwd=str(work),
                hide_paths=sorted({str(p) for p in hidden_paths(job.problem) if p.is_dir()}),
            )
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "PYTHONPATH": str(HARNESS_ROOT),
                "PYTHONDONTWRITEBYTECODE": "1",
                "HOME": str(root),
                "LANG": "C.UTF-8",
            }
            process = start_checker(job.problem.preload, env, root)
            with self._live_lock:
                self._live.add(process)
            out = _Reader(process.stdout, RESULT_STDOUT_LIMIT)
            err = _Reader(process.stderr, 10 * 2**20, ProgressScanner(job.progress))
            out.start()
            err.start()
            timed_out = False
            try:
                process.stdin.write(json.dumps(spec).encode())
                process.stdin.close()
                process.wait(timeout=job.problem.limits.suite_backstop_s + WALL_SLACK_S)
            except subprocess.TimeoutExpired:
                timed_out = True
            except BrokenPipeError:
                pass
            finally:
                _kill_group(process)
                with self._live_lock:
                    self._live.discard(process)
                out.join(timeout=5)
                err.join(timeout=5)
            return Execution(
                stdout=bytes(out.data),
                stderr_tail=bytes(err.data[-STDERR_TAIL:]).decode("utf-8", "replace"),
                exit_code=process.returncode,
                timed_out=timed_out,
                stdout_overflow=out.overflow,
            )


def start_checker(preload: list[str], env: dict[str, str], cwd: Path) -> Any:
    """The run's checker: forked from this judge's fork server for `preload`, or a fresh interpreter."""
    if os.environ.get(FORKSERVER_ENV, "1") != "0":
        try:
            return fork_server(preload).start(env, cwd)
        except OSError as exc:
            print(f"judge: the checker fork server failed ({exc}); starting the checker afresh", file=sys.stderr)
            _drop_server(preload)
    return subprocess.Popen(
        [sys.executable, "-m", "judge_harness.checker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=cwd,
        start_new_session=True,
    )


class ForkedChecker:
    """A checker the fork server forked for one run: the part of Popen's surface execute uses."""

    def __init__(self, pid: int, status: socket.socket, stdin: int, stdout: int, stderr: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._status = status
        self.stdin = os.fdopen(stdin, "wb")
        self.stdout = os.fdopen(stdout, "rb")
        self.stderr = os.fdopen(stderr, "rb")

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self._status.settimeout(timeout)
            try:
                message = self._status.recv(4096)
            except TimeoutError:
                raise subprocess.TimeoutExpired("checker", timeout or 0) from None
            finally:
                self._status.settimeout(None)
            self.returncode = int(json.loads(message)["exit"]) if message else -signal.SIGKILL
            self._status.close()
        return self.returncode


class ForkServer:
    """One `python -m judge_harness.forkserver` for this judge process and one preload list."""

    def __init__(self, preload: list[str]) -> None:
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.lock = threading.Lock()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "judge_harness.forkserver", json.dumps(list(preload)), str(theirs.fileno())],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(theirs.fileno(),),
            env=_harness_env(),
            cwd=tempfile.gettempdir(),
            start_new_session=True,
        )
        theirs.close()

    def alive(self) -> bool:
        return self.process.poll() is None

    def start(self, env: dict[str, str], cwd: Path) -> ForkedChecker:
        pipes = [os.pipe() for _ in range(3)]  # stdin, stdout, stderr
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        header = json.dumps({"env": env, "cwd": str(cwd)}).encode()
        try:
            with self.lock:
                socket.send_fds(self.control, [header], [pipes[0][0], pipes[1][1], pipes[2][1], theirs.fileno()])
            ours.settimeout(60)
            reply = ours.recv(4096)
            ours.settimeout(None)
        except BaseException:
            ours.close()
            for pipe in pipes:
                os.close(pipe[1])
                os.close(pipe[0])
            raise
        finally:
            theirs.close()
        for fd in (pipes[0][0], pipes[1][1], pipes[2][1]):
            os.close(fd)
        if not reply:
            ours.close()
            for fd in (pipes[0][1], pipes[1][0], pipes[2][0]):
                os.close(fd)
            raise OSError("the fork server did not answer")
        return ForkedChecker(int(json.loads(reply)["pid"]), ours, pipes[0][1], pipes[1][0], pipes[2][0])

    def close(self) -> None:
        self.control.close()  # the server kills its checkers and ends
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


_servers: dict[tuple[str, ...], ForkServer] = {}
_servers_lock = threading.Lock()


def fork_server(preload: list[str]) -> ForkServer:
    key = tuple(preload)
    with _servers_lock:
        server = _servers.get(key)
        if server is None or not server.alive():
            if server is not None:
                server.close()
            server = _servers[key] = ForkServer(list(preload))
        return server


def _drop_server(preload: list[str]) -> None:
    with _servers_lock:
        server = _servers.pop(tuple(preload), None)
    if server is not None:
        server.close()


@atexit.register
def close_fork_servers() -> None:
    with _servers_lock:
        servers = list(_servers.values())
        _servers.clear()
    for server in servers:
        server.close()


def _harness_env() -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(HARNESS_ROOT),
        "PYTHONDONTWRITEBYTECODE": "1",
        "LANG": "C.UTF-8",
    }


def _kill_group(process: Any) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()
