"""Allocates (and touches) 64 MiB blocks until something stops it."""


def add(a, b):
    hoard = []
    while True:
        hoard.append(bytearray(64 * 2**20))
