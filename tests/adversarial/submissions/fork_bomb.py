"""Fork bomb inside the call: the pids limit stops it, the per-test deadline ends it, the reaper kills the rest."""

import os


def add(a, b):
    while True:
        try:
            os.fork()
        except OSError:
            pass
