"""Checker fork server (the local backend): import torch once, fork a checker per run.

    python -m judge_harness.forkserver PRELOAD_JSON CONTROL_FD

A run on the local backend used to start two interpreters that each imported torch (the
checker, for the tests and oracles, and its zygote, for the workers): about 4 s of CPU of every
run's 5. The judge starts one of these servers per preload list and keeps it for its lifetime;
the server imports the preload modules and the harness, and never reads a run.

Per request on the control socket (SOCK_SEQPACKET: a JSON header with the run's env and cwd,
and four fds: the checker's stdin, stdout and stderr, and a status socket) it forks a checker.
The child starts its own session, takes the three fds as 0/1/2, forks its zygote before reading
anything (zygote.prefork: the zygote holds nothing of the run) and then is the checker
(checker.main), reading its spec from stdin as a started one does. The server sends the child's
pid on the status socket at once and its exit code when it ends, then closes it.

The server ends, killing the checkers it started, when the judge closes the control socket or
dies (the socket then reads empty).
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import sys
import traceback


def _checker(header: dict, fds: list[int], closing: list[int], preload: list[str]) -> None:
    """In the forked child: become the run's checker. Never returns."""
    code = 0
    try:
        os.setsid()
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        for fd in closing:
            os.close(fd)
        stdin, stdout, stderr, status = fds
        os.close(status)
        for fd, target in ((stdin, 0), (stdout, 1), (stderr, 2)):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(header["cwd"])
        os.environ.clear()
        os.environ.update(header["env"])
        from judge_harness import checker

        preforked = checker.Preforked.fork(preload)
        checker.main(preforked)
        sys.stdout.flush()
        sys.stderr.flush()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
        code = 70
    os._exit(code)


def serve(preload: list[str], control: socket.socket) -> None:
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    running: dict[int, socket.socket] = {}  # checker pid -> its status socket
    try:
        while True:
            ready, _, _ = select.select([control, wake_r], [], [])
            if wake_r in ready:
                os.read(wake_r, 4096)
                _reap(running)
            if control not in ready:
                continue
            try:
                message, fds, _, _ = socket.recv_fds(control, 1 << 20, 4)
            except OSError:
                return
            if not message:
                return  # the judge is gone
            if len(fds) != 4:
                for fd in fds:
                    os.close(fd)
                continue
            header = json.loads(message)
            pid = os.fork()
            if pid == 0:
                _checker(
                    header, fds, [control.fileno(), wake_r, wake_w, *(s.fileno() for s in running.values())], preload
                )
            status = socket.socket(fileno=fds[3])
            for fd in fds[:3]:
                os.close(fd)
            running[pid] = status
            try:
                status.sendall(json.dumps({"pid": pid}).encode())
            except OSError:
                pass
            _reap(running)
    finally:
        for pid in running:
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass


def _reap(running: dict[int, socket.socket]) -> None:
    while running:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        sock = running.pop(pid, None)
        if sock is not None:
            try:
                sock.sendall(json.dumps({"exit": os.waitstatus_to_exitcode(status)}).encode())
            except OSError:
                pass
            sock.close()


def main() -> None:
    preload = json.loads(sys.argv[1])
    control = socket.socket(fileno=int(sys.argv[2]))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the judge decides when its runs stop
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = "1"  # each checker sets its own count
    from judge_harness import checker, zygote  # noqa: F401  (imported here once, for every run)

    zygote.preload(preload)
    serve(preload, control)


if __name__ == "__main__":
    main()
