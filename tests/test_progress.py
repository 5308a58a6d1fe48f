"""Live results: the checker's per-test progress lines reach the caller as each test finishes, on
both backends, and never reach the stderr tail that error messages quote."""

from __future__ import annotations

import pytest

from judge import runner
from judge.backends.base import ProgressScanner
from judge_harness.schema import PROGRESS_PREFIX, Verdict
from tests.conftest import toy_wrong_source
from tests.sandbox_support import docker_backend  # noqa: F401 - fixture


def test_the_scanner_hands_over_progress_lines_split_anywhere_and_keeps_the_rest() -> None:
    events = []
    scanner = ProgressScanner(events.append)
    stream = b"warming up\n.." + PROGRESS_PREFIX + b'{"id": "t::a", "verdict": "Accepted"}\nlast words'
    kept = b"".join(scanner.feed(stream[i : i + 3]) for i in range(0, len(stream), 3)) + scanner.flush()
    assert events == [{"id": "t::a", "verdict": "Accepted"}]
    assert kept == b"warming up\n..\nlast words"
    assert ProgressScanner(None).feed(stream) == stream, "without a callback stderr passes unchanged"


def test_a_failing_display_does_not_stop_the_scan() -> None:
    def broken(event: dict) -> None:
        raise RuntimeError("terminal gone")

    scanner = ProgressScanner(broken)
    line = PROGRESS_PREFIX + b'{"id": "x"}\n'
    assert scanner.feed(line + line + b"tail\n") == b"tail\n"


def _events_match(result, events: list[dict]) -> None:
    assert [e["id"] for e in events] == [t.id for t in result.tests], "one event per test, in order"
    assert [e["verdict"] for e in events] == [t.verdict.value for t in result.tests]


def test_local_runs_report_each_test_as_it_finishes(toy_problem, local_backend) -> None:
    events: list[dict] = []
    result = runner.run(toy_problem, toy_problem.reference, "hidden", local_backend, progress=events.append)
    assert result.verdict is Verdict.ACCEPTED and len(result.tests) > 1
    _events_match(result, events)


def test_a_rejected_run_reports_its_failures_live(toy_problem, local_backend, tmp_path) -> None:
    wrong = tmp_path / "toy_add.py"
    wrong.write_text(toy_wrong_source())
    events: list[dict] = []
    result = runner.run(toy_problem, wrong, "hidden", local_backend, progress=events.append)
    assert result.verdict is not Verdict.ACCEPTED
    _events_match(result, events)
    assert any(e["verdict"] != "Accepted" for e in events)


@pytest.mark.docker
def test_docker_runs_report_each_test_as_it_finishes(toy_problem, docker_backend) -> None:  # noqa: F811
    events: list[dict] = []
    result = runner.run(toy_problem, toy_problem.reference, "hidden", docker_backend, progress=events.append)
    assert result.verdict is Verdict.ACCEPTED
    _events_match(result, events)
