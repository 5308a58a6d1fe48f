"""Writes a 10 GB file into its own /tmp in the call, without catching the error that stops it."""


def add(a, b):
    block = b"\0" * 2**20
    with open("big.bin", "wb") as f:
        for _ in range(10 * 1024):
            f.write(block)
    return a + b
