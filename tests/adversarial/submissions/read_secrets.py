"""Looks for what the checker holds: PID 1's environment and memory, the hidden tests, the signing key.

Accepted only when nothing is found.
"""

import glob
import os
import signal

MARKER = "HIDDEN-TESTS-" + "MARKER"  # split, so this file does not hold the marker itself


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(1 << 20)
    except OSError:
        return b""


def _found() -> list[str]:
    found = []
    if _read("/proc/1/environ"):
        found.append("/proc/1/environ")
    if _read("/proc/1/mem") or _read("/proc/1/fd/0"):
        found.append("/proc/1 memory or stdin")
    for path in ["/judge/problem/test_hidden.py", *glob.glob("/judge/**/*.py", recursive=True)]:
        if path != __file__ and MARKER.encode() in _read(path):
            found.append(path)
    try:
        os.listdir("/judge")
        found.append("listed /judge")
    except OSError:
        pass
    try:
        os.setuid(10001)
        found.append("became the checker uid")
    except OSError:
        pass
    try:
        os.kill(1, signal.SIGSTOP)
        found.append("signalled the checker")
    except OSError:
        pass
    return found


def add(a, b):
    found = _found()
    if found:
        print("found:", found)
        return a + b + 1
    return a + b
