"""The sandbox's limits and identities, defined once.

The container settings (judge/backends/docker/__init__.py), the doctor's probe and its
expectations read them from here. Two files cannot import this module and restate some of it:
sandbox/entrypoint.py (runs inside the box, where judge/ does not exist) and sandbox/Dockerfile;
tests/test_sandbox_docker.py reads both and checks that they agree with these values.
docs/sandbox.md explains each choice.
"""

from __future__ import annotations

CHECKER_UID = 10001  # reads the tests, runs pytest; owns /judge
WORKER_UID = 10002  # runs the submission; owns /tmp

# What the checker keeps (and so the whole bounding set): start the worker as its uid (SETUID,
# SETGID), stop it (KILL), reset its /proc/<pid>/clear_refs for per-call peak memory (DAC_OVERRIDE).
# Values are the kernel's capability numbers (linux/capability.h).
CAPABILITY_NUMBERS = {"DAC_OVERRIDE": 1, "KILL": 5, "SETGID": 6, "SETUID": 7}
CHECKER_CAPS = tuple(sorted(CAPABILITY_NUMBERS))


def capability_mask(names: tuple[str, ...] = CHECKER_CAPS) -> str:
    """The CapEff line of /proc/<pid>/status for these capabilities: 16 hex digits."""
    return f"{sum(1 << CAPABILITY_NUMBERS[name] for name in names):016x}"


JUDGE_MB = 64  # the checker's /judge tmpfs: problem files, submission, pytest's byte-code
JUDGE_MODE = 0o711  # the worker may cross /judge to reach submission/, not list it
TMP_MB = 256  # the worker's /tmp tmpfs (its pages count against the container's memory)
TMP_MODE = 0o700
SHM_MB = 16
CHECKER_MEMORY_MB = 1024  # pytest, torch and the tests, on top of the worker's memory_mb
PIDS_LIMIT = 256
NOFILE = 1024
FSIZE_BYTES = 256 * 2**20
MAX_RUN_BYTES = 64 * 2**20  # the packed run the box reads on stdin (the entry point checks it too)
PRELOAD_ENV = "JUDGE_PRELOAD"  # the box's only environment: the modules imported before the run is read
