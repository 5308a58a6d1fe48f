"""Writes 100 MB to stdout in the call."""

import sys


def add(a, b):
    line = "x" * 2**20 + "\n"
    for _ in range(100):
        sys.stdout.write(line)
    sys.stdout.flush()
    return a + b
