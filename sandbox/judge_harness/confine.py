"""What a worker process does to itself before it imports a submission.

Used in two places: the pre-exec hook of a worker started as a fresh interpreter, and the
fork server (zygote.py), whose forked children confine themselves the same way.
"""

from __future__ import annotations

import ctypes
import os
import resource
from typing import Any

PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
CLONE_NEWNS = 0x00020000
MS_RDONLY = 1
MS_REC = 16384
MS_PRIVATE = 1 << 18
FILE_SIZE_LIMIT = 64 * 2**20
OPEN_FILES_LIMIT = 256


def libc() -> Any:
    return ctypes.CDLL(None, use_errno=True)


def set_dumpable(dumpable: bool) -> None:
    """Non-dumpable: /proc/<pid>/{mem,fd,environ,...} belong to root, so a same-uid process cannot open them."""
    libc().prctl(PR_SET_DUMPABLE, int(dumpable), 0, 0, 0)


def drop_to_user(user: list[int] | None) -> None:
    """Become the worker uid/gid (inside the sandbox; the local backend passes None)."""
    if user:
        os.setgroups([])
        os.setresgid(user[1], user[1], user[1])
        os.setresuid(user[0], user[0], user[0])


def set_limits(memory_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))
    resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILES_LIMIT, OPEN_FILES_LIMIT))
    # Address-space headroom over the RSS limit: torch reserves far more than it touches.
    resource.setrlimit(resource.RLIMIT_DATA, (memory_bytes + 2**30, memory_bytes + 2**30))


def isolate(hide: list[str]) -> None:
    """Best effort, unprivileged: a user namespace with no network and the judge's secrets unmounted.

    Where the kernel allows unprivileged user namespaces, the worker gets an empty network
    namespace and a private mount namespace in which every path in `hide` (problem folders,
    references, the judge's tests) is covered by an empty read-only tmpfs. Where it does not
    (e.g. inside the Docker sandbox, which has its own isolation), nothing changes.
    """
    lib = libc()
    if lib.unshare(CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWNS) != 0:
        return
    if lib.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        return
    for path in hide:
        lib.mount(b"none", os.fsencode(path), b"tmpfs", MS_RDONLY, b"size=4k,mode=555")


def confine(options: dict[str, Any]) -> None:
    """Limits, then namespaces; the caller has already switched uid where one is asked for."""
    set_limits(int(options["memory_bytes"]))
    if options.get("isolate", True):
        isolate(list(options.get("hide_paths", [])))
