"""Verdicts do not depend on load: the per-test limit is CPU time, the wall clock only a backstop.

Real processes on both backends (docker marked `docker`), on the small fixture problem
tests/fixtures/problems/cpu-clock (1 s of CPU per test, a 6 s wall backstop, 60 s of CPU for the suite).
A submission is judged on an idle machine, then while two processes burn a CPU each, and must
get the same verdict every time. A submission that spends a third of its limit in CPU is Accepted
under load (its wall time is several times its CPU time then); one that spends three times the
limit is Time Limit Exceeded. A sleeper and an infinite spinner are Time Limit Exceeded on every
test, never Internal Error, and are recorded in the history.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from judge import runner
from judge.catalog import Problem, load_catalog
from judge.cli import cli
from judge.practice import history
from judge_harness.schema import Verdict

from .conftest import FIXTURE_PROBLEMS

# Spends `seconds` of its own CPU time on the large test, then answers correctly.
BUSY = """
import time


def sum_of_squares(n):
    if n > 1000:
        start = time.process_time()
        while time.process_time() - start < {seconds}:
            pass
    return sum(i * i for i in range(n))
"""
SLEEPER = "import time\n\n\ndef sum_of_squares(n):\n    time.sleep(3600)\n"
SPINNER = "def sum_of_squares(n):\n    while True:\n        pass\n"
LOADED_RUNS = 2


@pytest.fixture(scope="module")
def clock_problem() -> Problem:
    return load_catalog([FIXTURE_PROBLEMS]).get("cpu-clock")


@pytest.fixture(params=["local", pytest.param("docker", marks=pytest.mark.docker)])
def backend(request: pytest.FixtureRequest) -> object:
    if request.param == "local":
        from judge.backends.local import LocalBackend

        return LocalBackend()
    from tests.sandbox_support import docker_backend_or_skip

    return docker_backend_or_skip()


@pytest.fixture
def cpu_burners() -> Iterator[list[subprocess.Popen]]:
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        yield burners
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


def write(tmp_path: Path, name: str, source: str) -> Path:
    path = tmp_path / name
    path.write_text(source)
    return path


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(0.3, Verdict.ACCEPTED), (3.0, Verdict.TIME_LIMIT_EXCEEDED)],
    ids=["a-third-of-the-limit", "three-times-the-limit"],
)
def test_verdict_is_the_same_idle_and_under_load(
    clock_problem: Problem,
    backend: object,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    seconds: float,
    expected: Verdict,
) -> None:
    submission = write(tmp_path, "busy.py", BUSY.format(seconds=seconds))
    idle = runner.run(clock_problem, submission, "hidden", backend)
    assert idle.verdict is expected, [(t.id, t.verdict.value, t.message) for t in idle.tests]
    request.getfixturevalue("cpu_burners")
    for _ in range(LOADED_RUNS):
        loaded = runner.run(clock_problem, submission, "hidden", backend)
        assert loaded.verdict is idle.verdict, [(t.id, t.verdict.value, t.message) for t in loaded.tests]
        assert [t.verdict for t in loaded.tests] == [t.verdict for t in idle.tests]


@pytest.mark.parametrize("source", [SLEEPER, SPINNER], ids=["sleeper", "spinner"])
def test_a_sleeper_and_a_spinner_are_time_limit_exceeded_and_recorded(
    backend: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    monkeypatch.setenv("JUDGE_PROBLEMS_PATH", str(FIXTURE_PROBLEMS))
    monkeypatch.setenv("JUDGE_HOME", str(tmp_path / "home"))
    submission = write(tmp_path, "cpu_clock.py", source)
    result = CliRunner().invoke(cli, ["submit", "cpu-clock", str(submission), "--backend", backend.name, "--json"])
    document = json.loads(result.stdout)
    tests = [(t["id"], t["verdict"], t["message"]) for t in document["tests"]]
    assert document["verdict"] == Verdict.TIME_LIMIT_EXCEEDED.value, tests
    assert tests and all(verdict == Verdict.TIME_LIMIT_EXCEEDED.value for _, verdict, _ in tests), tests
    assert result.exit_code == 1
    [entry] = history.entries("cpu-clock")
    assert entry.verdict is Verdict.TIME_LIMIT_EXCEEDED
