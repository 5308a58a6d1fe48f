"""Leaves a daemon behind: a double-forked `sleep 31337` in its own session, started at import."""

import os

if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execvp("sleep", ["sleep", "31337"])
    os._exit(0)
os.wait()


def add(a, b):
    return a + b
