"""Checker side of the boundary: the worker process, the `candidate` proxy and remote objects.

The checker starts the worker, sends calls, runs the callbacks the worker asks for, and
watches it from outside: the CPU time it spends per test (the worker and everything it
spawned, from /proc), a wall-clock backstop a few times that long, its resident memory (VmRSS
polled, VmHWM read after each call) and the size of its output. Anything that goes wrong on the worker's side
becomes a `JudgeAbort` carrying the verdict, or a `CandidateError` for an exception the
submission raised.
"""

from __future__ import annotations

import json
import math
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from judge_harness.codec import CodecError, Decoder, Encoder, Handle, read_message, write_message
from judge_harness.guard import InputModified
from judge_harness.schema import OUTPUT_CAPTURE_BYTES, OUTPUT_LIMIT_BYTES, Verdict

POLL_S = 0.005  # memory poll period while a call runs
CPU_POLL_S = 0.05  # CPU-time poll period while a call runs (the kernel counts in 10 ms ticks)
DESCENDANTS_POLL_S = 0.25  # how often the live processes a worker spawned are looked for
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
MEMORY_ERROR_MARKERS = ("MemoryError", "not enough memory", "can't allocate memory", "Cannot allocate memory")


class JudgeAbort(BaseException):
    """Ends the current test with a verdict. BaseException, so hypothesis does not shrink on it."""

    def __init__(self, verdict: Verdict, message: str) -> None:
        super().__init__(message)
        self.verdict = verdict
        self.message = message


class CandidateError(Exception):
    """An exception the submission raised inside the worker."""

    def __init__(self, type_name: str, message: str, traceback: str = "") -> None:
        super().__init__(f"{type_name}: {message}")
        self.type_name = type_name
        self.message = message
        self.traceback = traceback

    @property
    def is_memory_error(self) -> bool:
        text = f"{self.type_name}: {self.message}"
        return any(marker in text for marker in MEMORY_ERROR_MARKERS)


class CallStats:
    def __init__(self) -> None:
        self.seconds = 0.0  # wall time of the call: depends on the load, never a test's criterion
        self.cpu_s = 0.0  # the worker's CPU time in the call: what a speed assertion may use
        self.peak_bytes = 0


def _read_status(pid: int) -> dict[str, int]:
    values = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    key, value = line.split(":", 1)
                    values[key] = int(value.split()[0]) * 1024
    except OSError:
        pass
    return values


def _stat_fields(pid: int | str) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def process_cpu_seconds(pid: int) -> float | None:
    """CPU seconds of `pid` (all its threads) and of its children it has waited for; None if gone.

    /proc/<pid>/stat counts in clock ticks (10 ms), too coarse for a take-home's time ratio on a
    workload of a few hundred milliseconds, so each live thread's time is read to the nanosecond
    from its schedstat. Ticks still count what schedstat cannot see: threads that have exited
    (the process total less its live threads', beyond what their truncation explains: up to two
    ticks a thread, utime and stime) and waited-for children.
    """
    fields = _stat_fields(pid)
    if fields is None:
        return None
    # After ")": state is fields[0], so utime, stime, cutime, cstime (stat fields 14-17) are 11-14.
    group_ticks = int(fields[11]) + int(fields[12])
    children = (int(fields[13]) + int(fields[14])) / CLOCK_TICKS
    live_ns = live_ticks = threads = 0
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        tids = []
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                ns = int(f.read().split()[0])
            task = _stat_fields(f"{pid}/task/{tid}")
            ticks = int(task[11]) + int(task[12])
        except (OSError, IndexError, ValueError, TypeError):
            continue  # exited since the listing (its time is in the group's ticks), or no schedstat
        live_ns, live_ticks, threads = live_ns + ns, live_ticks + ticks, threads + 1
    if not threads:
        return group_ticks / CLOCK_TICKS + children  # gone meanwhile, or a kernel without schedstat
    exited = group_ticks - live_ticks
    exited_s = exited / CLOCK_TICKS if exited > 2 * threads else 0.0
    return live_ns / 1e9 + exited_s + children


def run_delay_seconds(path: str) -> float | None:
    """Seconds the thread at `path` (a /proc/.../schedstat) has spent runnable but waiting for a CPU."""
    try:
        with open(path) as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return None


def starved_seconds(pid: int) -> float:
    """How long the worker (its main thread) and this checker thread have waited for a CPU so far:
    time a busy machine, not the submission, spent. 0 where the kernel keeps no schedstat."""
    return (run_delay_seconds(f"/proc/{pid}/schedstat") or 0.0) + (
        run_delay_seconds("/proc/thread-self/schedstat") or 0.0
    )


def live_descendants(pid: int) -> list[int]:
    """Every live process below `pid`, found by parent links in /proc."""
    parents: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            fields = _stat_fields(entry.name)
            if fields is not None:
                parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, frontier = [], [pid]
    while frontier:
        children = parents.get(frontier.pop(), [])
        found.extend(children)
        frontier.extend(children)
    return found


KEEP_ALIVE: set[int] = set()  # children reap_descendants must spare (the zygote)


def reap_descendants() -> None:
    """Kill every process left below the checker (daemons re-parent to it: it is a subreaper)."""
    me = os.getpid()
    for _ in range(5):
        children = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == me and int(entry.name) not in KEEP_ALIVE:
                children.append(int(entry.name))
        if not children:
            return
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for pid in children:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass


class OutputPump(threading.Thread):
    """Drains the worker's stdout+stderr: keeps a capped window, counts the total."""

    def __init__(self, fd: int) -> None:
        super().__init__(daemon=True)
        self.fd = fd
        self.total = 0
        self.window = bytearray()
        self.lock = threading.Lock()

    def run(self) -> None:
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            with self.lock:
                self.total += len(chunk)
                room = OUTPUT_CAPTURE_BYTES - len(self.window)
                if room > 0:
                    self.window += chunk[:room]
        os.close(self.fd)

    def take(self) -> str:
        with self.lock:
            text = self.window.decode("utf-8", "replace")
            self.window.clear()
        return text


class ForkedProcess:
    """A worker forked by the zygote and re-parented to the checker: Popen's surface, by pid."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self.poll()  # raises ChildProcessError if the pid is not our child

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0)
            time.sleep(0.002)
        return self.returncode  # type: ignore[return-value]

    def kill(self) -> None:
        if self.returncode is None:
            os.kill(self.pid, signal.SIGKILL)


Spawn = Callable[[int, int, int], Any]  # (command read fd, result write fd, output write fd) -> process


class Zygote:
    """The checker's handle on the fork server (zygote.py); `spawn` gives a ForkedProcess."""

    def __init__(
        self, spec: dict[str, Any], *, env: dict[str, str], cwd: str, preexec: Callable[[], None] | None
    ) -> None:
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.process: Any = subprocess.Popen(
            [sys.executable, "-m", "judge_harness.zygote", json.dumps(spec), str(theirs.fileno())],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=None,
            pass_fds=(theirs.fileno(),),
            env=harness_env(env),
            cwd=cwd,
            preexec_fn=preexec,
        )
        theirs.close()

    @classmethod
    def adopt(
        cls, preforked: tuple[int, socket.socket], spec: dict[str, Any], *, env: dict[str, str], cwd: str, user: Any
    ) -> Zygote:
        """Take over a zygote forked before the run was read (zygote.prefork) and give it the run."""
        from judge_harness.zygote import start_preforked

        pid, control = preforked
        self = cls.__new__(cls)
        self.control = control
        self.process = ForkedProcess(pid)
        start_preforked(control, spec, harness_env(env), cwd, user)
        return self

    def spawn(self, command_fd: int, result_fd: int, output_fd: int) -> ForkedProcess:
        socket.send_fds(self.control, [b"s"], [command_fd, result_fd, output_fd])
        reply = b""
        while len(reply) < 16:
            chunk = self.control.recv(16 - len(reply))
            if not chunk:
                raise OSError("the zygote is gone")
            reply += chunk
        return ForkedProcess(int(reply))

    def close(self) -> None:
        self.control.close()
        try:
            self.process.kill()
        except ProcessLookupError:
            pass
        self.process.wait()


def harness_env(env: dict[str, str]) -> dict[str, str]:
    harness_root = str(Path(__file__).resolve().parent.parent)
    return dict(env, PYTHONPATH=harness_root, PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1")


def popen_spawner(spec: dict[str, Any], *, env: dict[str, str], cwd: str, preexec: Callable[[], None] | None) -> Spawn:
    """Start each worker as a fresh interpreter (the fallback when there is no zygote)."""

    def spawn(command_fd: int, result_fd: int, output_fd: int) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "judge_harness.worker", json.dumps(spec), str(command_fd), str(result_fd)],
            stdin=subprocess.DEVNULL,
            stdout=output_fd,
            stderr=output_fd,
            pass_fds=(command_fd, result_fd),
            env=harness_env(env),
            cwd=cwd,
            preexec_fn=preexec,
        )

    return spawn


class Worker:
    """One worker process, started by `spawn`; watched for time, memory and output."""

    def __init__(self, spawn: Spawn, *, memory_bytes: int, start_timeout_s: float) -> None:
        self.memory_bytes = memory_bytes
        self.callbacks: dict[int, Callable[..., Any]] = {}
        self.last_call = CallStats()
        to_worker_r, to_worker_w = os.pipe()
        from_worker_r, from_worker_w = os.pipe()
        out_r, out_w = os.pipe()
        try:
            self.process = spawn(to_worker_r, from_worker_w, out_w)
        finally:
            for fd in (to_worker_r, from_worker_w, out_w):
                os.close(fd)
        self.wfile = os.fdopen(to_worker_w, "wb")
        self.rfd = from_worker_r
        self.rfile = os.fdopen(from_worker_r, "rb", buffering=0)
        self.pump = OutputPump(out_r)
        self.pump.start()
        self.killed_by_judge = False
        self.max_rss = 0
        self._descendants: list[int] = []
        self._descendant_cpu: dict[int, float] = {}  # live children's CPU, last seen (re-parented ones keep it)
        self._descendants_read = 0.0
        self.cpu_last = 0.0
        self._starved_at: tuple[float, float] | None = None  # (a wall deadline, starved_seconds when first seen)
        self.ready = self._wait_ready(time.monotonic() + start_timeout_s)

    # -- lifecycle ---------------------------------------------------------------------
    def _wait_ready(self, deadline: float) -> dict[str, Any]:
        message, _ = self._receive(deadline, during="import")
        return message

    def alive(self) -> bool:
        return self.process.poll() is None

    def cpu_seconds(self) -> float:
        """CPU time the worker has spent so far: itself, its threads, and every process it spawned.

        Children it waited for are in its own counters; live ones are found by parent links (at
        most every DESCENDANTS_POLL_S) and keep counting once seen, even after they re-parent.
        Never decreases; after the worker is gone it stays at the last reading.
        """
        own = process_cpu_seconds(self.process.pid)
        if own is None:
            return self.cpu_last
        now = time.monotonic()
        if now - self._descendants_read >= DESCENDANTS_POLL_S:
            self._descendants_read = now
            self._descendants = live_descendants(self.process.pid)
        for pid in self._descendants:
            seconds = process_cpu_seconds(pid)
            if seconds is not None:
                self._descendant_cpu[pid] = max(seconds, self._descendant_cpu.get(pid, 0.0))
        self.cpu_last = max(self.cpu_last, own + sum(self._descendant_cpu.values()))
        return self.cpu_last

    def kill(self) -> None:
        if not self.killed_by_judge and self.process.returncode is None:
            self.cpu_seconds()  # the last reading, before the counters are gone
        self.killed_by_judge = True
        try:
            self.process.kill()
        except ProcessLookupError:
            pass
        self.process.wait()
        reap_descendants()  # what the worker spawned re-parents to the checker (a subreaper)
        for f in (self.wfile, self.rfile):
            try:
                f.close()
            except OSError:
                pass
        self.pump.join(timeout=1)

    def close(self) -> None:
        self.kill()

    # -- receiving, with the deadline, memory and output watched -------------------------
    def _receive(
        self,
        deadline: float,
        during: str,
        cpu_deadline: float = math.inf,
        cpu_limit_s: float = math.inf,
        wall_limit: str = "the wall-clock backstop",
    ) -> tuple[dict[str, Any], list[bytes]]:
        """The next message; `deadline` is wall clock (monotonic), `cpu_deadline` this worker's CPU seconds."""
        pid = self.process.pid
        cpu_read = 0.0
        if self._starved_at is None or self._starved_at[0] != deadline:  # a new test, a new deadline
            self._starved_at = (deadline, starved_seconds(pid))
        while True:
            now = time.monotonic()
            remaining = deadline - now
            if remaining <= 0:
                # The backstop ends a submission that sleeps or blocks. Time the worker or this checker
                # spent waiting for a CPU (a loaded machine) is not the submission's: it moves the
                # backstop, so a busy machine cannot turn a correct answer into a timeout. CPU time,
                # which the limit above counts, still ends a submission that runs.
                deadline = self._starved_at[0] + (starved_seconds(pid) - self._starved_at[1])
                remaining = deadline - now
                if remaining > 0:
                    continue
                self.kill()  # it slept or blocked (or the CPU limit was never set): the wall clock ends it
                raise JudgeAbort(
                    Verdict.TIME_LIMIT_EXCEEDED,
                    f"time limit exceeded during {during}: still running at {wall_limit}"
                    f" (it had spent {self.cpu_last:.1f} s of CPU time)",
                )
            if cpu_deadline < math.inf and now - cpu_read >= CPU_POLL_S:
                cpu_read = now
                if self.cpu_seconds() >= cpu_deadline:
                    self.kill()
                    raise JudgeAbort(
                        Verdict.TIME_LIMIT_EXCEEDED,
                        f"time limit exceeded during {during}: more than {cpu_limit_s:g} s of CPU time in this test",
                    )
            ready, _, _ = select.select([self.rfd], [], [], min(POLL_S, remaining))
            rss = _read_status(pid).get("VmRSS", 0)
            self.max_rss = max(self.max_rss, rss)
            if rss > self.memory_bytes:
                self.kill()
                raise JudgeAbort(
                    Verdict.MEMORY_LIMIT_EXCEEDED,
                    f"memory limit exceeded during {during}: resident {rss / 2**20:.0f} MiB > limit {self.memory_bytes / 2**20:.0f} MiB",
                )
            if self.pump.total > OUTPUT_LIMIT_BYTES:
                self.kill()
                raise JudgeAbort(
                    Verdict.OUTPUT_LIMIT_EXCEEDED,
                    f"output limit exceeded during {during}: more than {OUTPUT_LIMIT_BYTES // 2**20} MiB written",
                )
            if ready:
                try:
                    return read_message(self.rfile)
                except (EOFError, CodecError, ValueError, OSError) as exc:
                    raise self._death(during, exc) from None

    def _death(self, during: str, exc: BaseException) -> JudgeAbort:
        try:
            code = self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            code = None
        self.kill()
        if isinstance(exc, CodecError) or (code is None):
            return JudgeAbort(Verdict.RUNTIME_ERROR, f"the submission corrupted the judge channel during {during}")
        if code == -signal.SIGKILL and self.max_rss > 0.8 * self.memory_bytes:
            return JudgeAbort(Verdict.MEMORY_LIMIT_EXCEEDED, f"killed for memory during {during}")
        if code == -signal.SIGKILL:
            return JudgeAbort(
                Verdict.MEMORY_LIMIT_EXCEEDED, f"worker was killed (SIGKILL, likely out of memory) during {during}"
            )
        if code < 0:
            name = signal.Signals(-code).name
            return JudgeAbort(Verdict.RUNTIME_ERROR, f"the submission crashed with {name} during {during}")
        return JudgeAbort(Verdict.RUNTIME_ERROR, f"the submission exited (code {code}) during {during}")

    # -- calls ----------------------------------------------------------------------------
    def register_callback(self, value: Any) -> Handle:
        if isinstance(value, RemoteObject):
            return value._handle
        if callable(value):
            self.callbacks[id(value)] = value
            return Handle("callback", id(value), type(value).__name__)
        raise CodecError(f"cannot send a {type(value).__name__} to the submission")

    def call(
        self,
        target: str,
        name: str,
        args: tuple,
        kwargs: dict,
        deadline: float,
        cpu_deadline: float = math.inf,
        cpu_limit_s: float = math.inf,
        wall_limit: str = "the wall-clock backstop",
    ) -> Any:
        """Call `name` in the worker; TLE past `deadline` (wall) or once its CPU reaches `cpu_deadline`."""
        encoder = Encoder(self.register_callback)
        payload = encoder.encode([list(args), kwargs])
        rss_before = _read_status(self.process.pid).get("VmRSS", 0)
        try:
            with open(f"/proc/{self.process.pid}/clear_refs", "w") as f:
                f.write("5")  # reset VmHWM to the current RSS
        except OSError:
            pass
        self.max_rss = rss_before
        started = time.monotonic()
        cpu_before = self.cpu_seconds()
        try:
            write_message(
                self.wfile, {"op": "call", "target": target, "name": name, "payload": payload}, encoder.buffers
            )
        except (BrokenPipeError, OSError) as exc:
            raise self._death(f"call to {name}", exc) from None
        try:
            while True:
                message, buffers = self._receive(deadline, f"call to {name}", cpu_deadline, cpu_limit_s, wall_limit)
                op = message.get("op")
                if op == "callback":
                    self._serve_callback(message, buffers)
                    continue
                if op == "result":
                    return Decoder(buffers, make_handle=self._make_handle).decode(message["payload"])
                if op == "error" and message.get("type") == "InputModified":
                    raise InputModified(str(message.get("message")))  # an AssertionError: Wrong Answer
                if op == "error":
                    raise CandidateError(
                        str(message.get("type")), str(message.get("message")), str(message.get("traceback", ""))
                    )
                raise JudgeAbort(Verdict.RUNTIME_ERROR, f"unexpected message from the worker during call to {name}")
        finally:
            hwm = _read_status(self.process.pid).get("VmHWM", 0) if self.alive() else 0
            self.last_call = CallStats()
            self.last_call.seconds = time.monotonic() - started
            self.last_call.cpu_s = max(0.0, self.cpu_seconds() - cpu_before)
            self.last_call.peak_bytes = max(0, max(hwm, self.max_rss) - rss_before)

    def _serve_callback(self, message: dict[str, Any], buffers: list[bytes]) -> None:
        function = self.callbacks.get(int(message["id"]))
        try:
            if function is None:
                raise ValueError("unknown callback")
            args, kwargs = Decoder(buffers, make_handle=self._make_handle).decode(message["payload"])
            value = function(*args, **kwargs)
            encoder = Encoder(self.register_callback)
            tree = encoder.encode(value)
            reply, out = {"op": "callback_result", "payload": tree}, encoder.buffers
        except CodecError as exc:
            reply, out = {"op": "callback_error", "type": "TypeError", "message": str(exc)}, []
        except Exception as exc:  # the test's callback raised: the submission sees it as an error
            reply, out = {"op": "callback_error", "type": type(exc).__name__, "message": str(exc)}, []
        write_message(self.wfile, reply, out)

    def _make_handle(self, handle: Handle) -> Any:
        return RemoteObject(self, handle)


class RemoteObject:
    """A live object in the worker. Attribute access gives a method proxy; `call` reaches dunders."""

    def __init__(self, worker: Worker, handle: Handle) -> None:
        object.__setattr__(self, "_worker", worker)
        object.__setattr__(self, "_handle", handle)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args, **kwargs: self.call(name, *args, **kwargs)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.call("__call__", *args, **kwargs)

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return _current_candidate().invoke(str(self._handle.id), method, args, kwargs, worker=self._worker)

    def len(self) -> int:
        return self.call("__len__")

    def __repr__(self) -> str:
        return f"<remote {self._handle.type_name}>"


_CURRENT: list[Any] = []


def _current_candidate() -> Any:
    if not _CURRENT:
        raise RuntimeError("no candidate is active")
    return _CURRENT[-1]
