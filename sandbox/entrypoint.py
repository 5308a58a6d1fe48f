"""PID 1 of the sandbox: unpack the run, become the checker uid, run the checker in this process.

The container starts as root with no capability but the four the checker needs (Docker's
cap_drop=ALL + cap_add, so they are also the whole bounding set) and no-new-privileges:
CAP_SETUID and CAP_SETGID to start each worker as the worker uid, CAP_KILL to stop it, and
CAP_DAC_OVERRIDE to write its /proc/<pid>/clear_refs (the per-call peak memory). Then:

0. before anything of the run arrives: import the modules $JUDGE_PRELOAD names (torch, for
   most problems) and fork the workers' zygote from this process (judge_harness.zygote.prefork),
   so the run pays one `import torch`, and the zygote, a copy of this process taken now, can
   hold nothing of the run. A warm box ($JUDGE_WARM_IDLE_S set: judge/backends/docker/warm.py)
   is started before its run exists and waits here, at most that long, for the run on stdin.
1. read the run from stdin: one tar holding spec.json, problem/, submission/ and driver/.
   It comes from the host judge, not from the candidate; it is still checked entry by entry.
2. PR_SET_KEEPCAPS and setresuid/setresgid to the checker uid: the permitted capabilities
   survive the switch, the effective ones are cleared.
3. capset: effective = permitted = those four, inheritable empty, ambient cleared.
4. unpack into /judge (a tmpfs owned by the checker, mode 0711): problem/ 0700 (hidden tests,
   oracles: the worker uid cannot even look up a name in it), submission/ and driver/ 0755.
5. run judge_harness.checker here, with the spec as its stdin. No exec: an exec as a non-root
   uid keeps only ambient capabilities, so the checker would lose them.

The checker forks each worker; its preexec (which still holds CAP_SETUID) switches to the worker
uid, and the exec that follows leaves the worker with no capability at all: non-root, no file
capabilities, an empty ambient set. The worker can read the submission and write only to /tmp
(its own tmpfs); it cannot signal, ptrace or read /proc of the checker (another uid, non-dumpable).

Exits 70 when the box itself cannot be set up; the host then reports an internal error.
"""

from __future__ import annotations

import ctypes
import io
import json
import os
import select
import signal
import stat
import sys
import tarfile

HARNESS_ROOT = "/opt/judge"
JUDGE_ROOT = "/judge"
MAX_RUN_BYTES = 64 * 2**20  # the unpacked run; problems are a few hundred KiB
PRELOAD_ENV = "JUDGE_PRELOAD"  # comma-separated modules; judge/backends/docker/limits.py (tested)
IDLE_ENV = "JUDGE_WARM_IDLE_S"  # a warm box: how long to wait for a run; judge/backends/docker/warm.py (tested)
DIRECTORY_MODES = {"problem": 0o700, "submission": 0o755, "driver": 0o755}

PR_SET_KEEPCAPS = 8
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
CAP_DAC_OVERRIDE = 1
CAP_KILL = 5
CAP_SETGID = 6
CAP_SETUID = 7
CHECKER_CAPS = (CAP_DAC_OVERRIDE, CAP_KILL, CAP_SETGID, CAP_SETUID)  # judge/backends/docker/limits.py (tested)
LINUX_CAPABILITY_VERSION_3 = 0x20080522
EXIT_BOX_ERROR = 70
EXIT_EXPIRED = 75  # a warm box that gave up waiting: a run that claimed it just then starts a cold box (tested)


class CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


class BoxError(RuntimeError):
    pass


def _check(result: int, what: str) -> None:
    if result != 0:
        raise BoxError(f"{what} failed: {os.strerror(ctypes.get_errno())}")


def become_checker(uid: int, gid: int) -> None:
    """Switch to uid/gid keeping CHECKER_CAPS effective and nothing inheritable or ambient."""
    libc = ctypes.CDLL(None, use_errno=True)
    _check(libc.prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0), "prctl(PR_SET_KEEPCAPS)")
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    _check(libc.prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0), "prctl(PR_SET_KEEPCAPS, 0)")
    header = CapHeader(LINUX_CAPABILITY_VERSION_3, 0)
    data = (CapData * 2)()
    keep = sum(1 << cap for cap in CHECKER_CAPS)
    data[0].effective = data[0].permitted = keep
    _check(libc.capset(ctypes.byref(header), data), "capset")
    _check(libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "prctl(PR_CAP_AMBIENT_CLEAR_ALL)")


def unpack(archive: bytes, root: str) -> str:
    """Write the run's files under root; return spec.json's text (kept in memory, never on disk)."""
    spec_text = None
    total = 0
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:") as tar:
        for member in tar:
            parts = member.name.split("/")
            if member.name.startswith("/") or any(p in ("", ".", "..") for p in parts):
                raise BoxError(f"refusing archive entry {member.name!r}")
            if member.name == "spec.json" and member.isfile():
                spec_text = tar.extractfile(member).read().decode()
                continue
            if parts[0] not in DIRECTORY_MODES:
                raise BoxError(f"unexpected archive entry {member.name!r}")
            path = os.path.join(root, *parts)
            if member.isdir():
                os.makedirs(path, mode=0o700, exist_ok=True)
                continue
            if not member.isfile():
                raise BoxError(f"archive entry {member.name!r} is not a regular file")
            total += member.size
            if total > MAX_RUN_BYTES:
                raise BoxError(f"the run is over {MAX_RUN_BYTES} bytes")
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o400)
            os.fchmod(fd, 0o444)  # read-only for everyone; the directory's mode decides who reaches it
            with os.fdopen(fd, "wb") as f:
                f.write(tar.extractfile(member).read())
    if spec_text is None:
        raise BoxError("the run has no spec.json")
    for name, mode in DIRECTORY_MODES.items():
        path = os.path.join(root, name)
        os.makedirs(path, mode=0o700, exist_ok=True)
        os.chmod(path, mode)
        if mode & stat.S_IXOTH:  # what the worker reads: every directory below must be traversable
            for folder, subfolders, _ in os.walk(path):
                for sub in subfolders:
                    os.chmod(os.path.join(folder, sub), mode)
    return spec_text


def hard_stop(seconds: float) -> None:
    """End the box on its own if the host that should stop it is gone. PID 1 needs a handler."""
    signal.signal(signal.SIGALRM, lambda *_: os._exit(124))
    signal.alarm(max(1, int(seconds)))


def prefork() -> object | None:
    """Import the preload modules and fork the zygote now, while this process holds no run."""
    sys.path.insert(0, HARNESS_ROOT)
    preload = [name for name in os.environ.pop(PRELOAD_ENV, "").split(",") if name]
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = "1"  # the checker sets the run's count
    try:
        from judge_harness import checker

        preforked = checker.Preforked.fork(preload)
    except Exception as exc:  # the checker then starts a zygote the usual way
        sys.stderr.write(f"sandbox: no preforked zygote ({exc!r})\n")
        return None
    # What every checker imports, after the fork so the zygote and its workers stay as lean as
    # a started zygote (pytest and hypothesis add ~11 MiB to each worker's resident memory).
    import _hypothesis_pytestplugin  # noqa: F401
    import pytest  # noqa: F401

    from judge_harness import candidate, plugin  # noqa: F401

    plugin.prepare_hypothesis()
    return preforked


def wait_for_run() -> None:
    """A warm box waits at most its idle time for a run, then ends (Docker removes it)."""
    idle = os.environ.pop(IDLE_ENV, "")
    if idle:
        ready, _, _ = select.select([0], [], [], float(idle))
        if not ready:
            os._exit(EXIT_EXPIRED)


def main() -> None:
    preforked = prefork()
    wait_for_run()
    try:
        archive = sys.stdin.buffer.read(MAX_RUN_BYTES + 1)
        if len(archive) > MAX_RUN_BYTES:
            raise BoxError(f"the run is over {MAX_RUN_BYTES} bytes")
        stdin = os.open(os.devnull, os.O_RDONLY)
        os.dup2(stdin, 0)
        os.close(stdin)
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:") as tar:
            box = json.loads(tar.extractfile("spec.json").read())["box"]
        hard_stop(float(box["deadline_s"]))
        become_checker(int(box["checker_uid"]), int(box["checker_gid"]))
        os.chmod(JUDGE_ROOT, 0o711)  # Docker copies the image directory's mode onto the tmpfs
        os.umask(0o077)
        spec_text = unpack(archive, JUDGE_ROOT)
        os.chdir(JUDGE_ROOT)
    except (BoxError, OSError, ValueError, KeyError, tarfile.TarError) as exc:
        sys.stderr.write(f"sandbox: cannot set up the run: {exc}\n")
        sys.stderr.flush()
        os._exit(EXIT_BOX_ERROR)
    del archive
    from judge_harness import checker

    sys.stdin = io.StringIO(spec_text)
    checker.main(preforked)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
