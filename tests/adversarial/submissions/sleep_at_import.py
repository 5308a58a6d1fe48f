"""Sleeps at import, past the suite's wall-clock backstop: only a wall clock can end this run (it spends no CPU)."""

import time

time.sleep(3600)


def add(a, b):
    return a + b
