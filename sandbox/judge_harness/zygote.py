"""Fork server: imports torch once per run, then forks a fresh worker per request.

A worker restart (after a timeout or a crash, and the first start of a run) would otherwise
pay a full interpreter start and `import torch`. The zygote is a fresh interpreter started by
the checker (never forked from it: it holds no key, no test, no expected value), running as
the worker uid, non-dumpable. It never imports a submission.

    python -m judge_harness.zygote SPEC_JSON SOCKET_FD

Per request (one byte plus three fds over the socket: the worker's command pipe, result pipe
and output pipe) it forks twice: the grandchild becomes the worker and, its parent gone,
re-parents to the checker (a child subreaper), which can then wait for it, measure it and
kill it like any child. The zygote answers with the worker's pid.

A zygote can also be forked (`prefork`) from a process that has imported torch but has not yet
read any run: the local backend's fork server (forkserver.py) and the sandbox's entry point do
this, so a run pays one `import torch` instead of two. The forked zygote waits for one message,
the spec, env, cwd and user a started one gets on its command line and from Popen, and from then
on is the same: it holds nothing of the run but what that message carries.
"""

from __future__ import annotations

import ctypes
import importlib
import json
import os
import socket
import sys
import traceback
from typing import Any

from judge_harness import confine


def run_worker(spec: dict[str, Any], fds: list[int], keep_out: list[int]) -> None:
    """In the grandchild: wire the fds, confine, serve. Never returns."""
    code = 0
    try:
        for fd in keep_out:
            os.close(fd)
        command_fd, result_fd, output_fd = fds
        os.dup2(output_fd, 1)
        os.dup2(output_fd, 2)
        os.close(output_fd)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        confine.confine(spec["confine"])
        confine.set_dumpable(True)  # so the checker may reset and read this process's peak memory
        from judge_harness.worker import Worker

        Worker(spec, os.fdopen(command_fd, "rb"), os.fdopen(result_fd, "wb")).start()
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # the worker reports what it can, then goes
        traceback.print_exc()
        code = 70
    os._exit(code)


def serve(spec: dict[str, Any], control: socket.socket) -> None:
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(control, 16, 3)
        except OSError:
            return
        if not message or len(fds) != 3:
            return
        pid_read, pid_write = os.pipe()
        intermediate = os.fork()
        if intermediate == 0:
            try:
                worker = os.fork()
                if worker == 0:
                    run_worker(spec, fds, [control.fileno(), pid_read, pid_write])
                os.write(pid_write, str(worker).encode())
            finally:
                os._exit(0)
        os.close(pid_write)
        for fd in fds:
            os.close(fd)
        pid = os.read(pid_read, 32)
        os.close(pid_read)
        os.waitpid(intermediate, 0)  # after this the worker's parent is the checker
        control.sendall(pid.ljust(16, b" "))


def preload(names: list[str]) -> None:
    for name in [*names, "judge_harness.worker"]:
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def prefork() -> tuple[int, socket.socket]:
    """Fork a zygote from this process now, before it reads any run; return (pid, control socket).

    Call it while the process holds nothing of a run (no spec, no key, no test): the child is a
    copy of it. The child waits for `start_preforked`'s message, becomes what a started zygote
    is (env, cwd, user, non-dumpable) and serves. Single-threaded callers only (it forks).
    """
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            ours.close()
            _serve_preforked(theirs)
        except BaseException:
            traceback.print_exc()
            code = 70
        os._exit(code)
    theirs.close()
    return pid, ours


def start_preforked(control: socket.socket, spec: dict[str, Any], env: dict[str, str], cwd: str, user: Any) -> None:
    body = json.dumps({"spec": spec, "env": env, "cwd": cwd, "user": user}).encode()
    control.sendall(len(body).to_bytes(8, "big") + body)


def _receive_exactly(control: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = control.recv(size - len(data))
        if not chunk:
            raise EOFError("the checker is gone")
        data += chunk
    return bytes(data)


M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter behind MALLOC_MMAP_THRESHOLD_


def _apply_malloc_environment() -> None:
    """glibc reads MALLOC_MMAP_THRESHOLD_ once, when a process starts. A preforked zygote started
    before the run's worker environment existed, so the checker's setting (large blocks mmapped and
    returned on free, a fixed threshold that never slides) is applied here with mallopt, which fixes
    it the same way; without it the per-call peak memory counts blocks glibc keeps after a free."""
    value = os.environ.get("MALLOC_MMAP_THRESHOLD_")
    if not value:
        return
    try:
        ctypes.CDLL(None).mallopt(M_MMAP_THRESHOLD, int(value))
    except (OSError, AttributeError, ValueError):
        pass  # not glibc: its allocator has no such setting


def _serve_preforked(control: socket.socket) -> None:
    confine.set_dumpable(False)
    # Whatever the parent had open (its stdin and stdout, a fork server's sockets) is not ours.
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.close(devnull)
    keep = control.fileno()
    os.closerange(3, keep)
    os.closerange(keep + 1, 65536)
    try:
        size = int.from_bytes(_receive_exactly(control, 8), "big")
        message = json.loads(_receive_exactly(control, size))
    except EOFError:
        return
    spec = message["spec"]
    os.chdir(message["cwd"])
    os.environ.clear()
    os.environ.update(message["env"])
    _apply_malloc_environment()
    confine.drop_to_user(message["user"])
    confine.set_dumpable(False)  # a uid change resets it
    threads = os.environ.get("OMP_NUM_THREADS")
    torch = sys.modules.get("torch")
    if torch is not None and threads:  # imported before this run's thread count was known
        torch.set_num_threads(int(threads))
    preload(spec.get("preload", []))
    serve(spec, control)


def main() -> None:
    spec = json.loads(sys.argv[1])
    control = socket.socket(fileno=int(sys.argv[2]))
    confine.set_dumpable(False)  # same uid as the workers: they must not reach into the zygote
    preload(spec.get("preload", []))
    serve(spec, control)


if __name__ == "__main__":
    main()
