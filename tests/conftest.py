"""Shared fixtures: the toy fixture problem and the local backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from judge.catalog import Problem, load_catalog

TESTS = Path(__file__).resolve().parent
FIXTURE_PROBLEMS = TESTS / "fixtures" / "problems"


@pytest.fixture(scope="session")
def toy_problem() -> Problem:
    return load_catalog([FIXTURE_PROBLEMS]).get("toy-add")


@pytest.fixture(scope="session")
def local_backend():
    from judge.backends.local import LocalBackend

    return LocalBackend()
