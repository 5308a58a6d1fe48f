"""Spins forever in the call."""


def add(a, b):
    while True:
        pass
