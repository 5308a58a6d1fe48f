"""Shared fixtures: the toy fixture problem and the local backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from judge.catalog import Problem, load_catalog

TESTS = Path(__file__).resolve().parent
FIXTURE_PROBLEMS = TESTS / "fixtures" / "problems"
TOY_WRONG = FIXTURE_PROBLEMS / "toy-add" / "wrong" / "off_by_one.patch"


def toy_wrong_source() -> str:
    """toy-add's known-wrong solution as a candidate would submit it: the patch applied to the reference."""
    from judge import wrong

    return wrong.load(TOY_WRONG).source(TOY_WRONG.parent.parent / "reference.py")


@pytest.fixture(scope="session", autouse=True)
def own_warm_boxes():
    """The tests' warm boxes are a pool of their own: a judge the same user runs beside the tests
    (a `judge submit`, a verify) neither claims them nor trims them to make room, and the tests that
    count waiting boxes count only theirs."""
    import os

    from judge.backends.docker import warm

    label = f"{warm.user_label()}:pytest-{os.getpid()}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(warm, "user_label", lambda: label)
        yield


@pytest.fixture(scope="session")
def toy_problem() -> Problem:
    return load_catalog([FIXTURE_PROBLEMS]).get("toy-add")


@pytest.fixture(scope="session")
def local_backend():
    from judge.backends.local import LocalBackend

    return LocalBackend()
