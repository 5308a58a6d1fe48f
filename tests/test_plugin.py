"""judge_harness.plugin: how a test's outcome becomes a verdict, through pytest itself.

A small suite runs in-process under JudgePlugin with a stand-in for the worker (the real one is
exercised by the golden cases); classify() is checked on each kind of failure it tells apart.
"""

from __future__ import annotations

import math
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from judge_harness import checks
from judge_harness.plugin import JudgePlugin, classify
from judge_harness.remote import CandidateError, JudgeAbort
from judge_harness.schema import Verdict


class StandIn:
    """What the plugin asks of the worker's proxy: a test window, captured output, a peak."""

    def __init__(self) -> None:
        self.deadline = math.inf
        self.windows: list[tuple[float, float, float]] = []
        self.peak_bytes = 1234
        self.output = ""

    def begin_test(self, deadline: float, suite_deadline: float, cpu_limit: float) -> None:
        self.windows.append((deadline, suite_deadline, cpu_limit))

    def __enter__(self) -> StandIn:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def take_output(self) -> str:
        output, self.output = self.output, ""
        return output

    def cpu_used(self) -> float:
        return 0.25

    def add(self, a: float, b: float) -> float:
        self.output += f"add({a}, {b})\n"
        return a + b

    def fail(self, type_name: str, message: str) -> None:
        raise CandidateError(type_name, message, "Traceback (most recent call last):\n  in fail\n" + message)


SUITE = """
import pytest
from judge_harness.checks import assert_close
from judge_harness.remote import JudgeAbort
from judge_harness.schema import Verdict


def test_accepted(candidate):
    assert candidate.add(1, 2) == 3


def test_wrong_answer(candidate):
    assert candidate.add(1, 2) == 4, "add(1, 2): got 3, expected 4"


def test_runtime_error(candidate):
    candidate.fail("ZeroDivisionError", "division by zero")


def test_memory(candidate):
    candidate.fail("MemoryError", "")


def test_unreadable_result(candidate):
    candidate.add(1, 2).shape


def test_limit(candidate):
    raise JudgeAbort(Verdict.TIME_LIMIT_EXCEEDED, "time limit exceeded during call to add")


def test_tolerances_reach_the_tests(tolerances):
    assert tolerances == {"float32": (1e-05, 0.0001)}


@pytest.fixture
def broken():
    raise RuntimeError("fixture bug")


def test_setup_failure_is_the_judge_s(candidate, broken):
    pass
"""


def run_suite(tmp_path: Path, suite: str = SUITE, **options: Any) -> tuple[JudgePlugin, StandIn]:
    (tmp_path / "test_suite.py").write_text(textwrap.dedent(suite))
    stand_in = StandIn()
    plugin = JudgePlugin(stand_in, test_timeout_s=5, tolerances={"float32": (1e-5, 1e-4)}, **options)
    args = [
        str(tmp_path / "test_suite.py"),
        "-q",
        "-p",
        "no:cacheprovider",
        "--rootdir",
        str(tmp_path),
        "-c",
        "/dev/null",
    ]
    sys.modules.pop("test_suite", None)  # each call collects its own copy of the suite
    pytest.main(args, plugins=[plugin])
    return plugin, stand_in


def test_each_outcome_gets_its_verdict_and_message(tmp_path: Path) -> None:
    plugin, stand_in = run_suite(tmp_path)
    results = {r.id.split("::")[1]: r for r in plugin.results}
    assert list(results) == [
        "test_accepted",
        "test_wrong_answer",
        "test_runtime_error",
        "test_memory",
        "test_unreadable_result",
        "test_limit",
        "test_tolerances_reach_the_tests",
        "test_setup_failure_is_the_judge_s",
    ]  # in file order
    verdicts = {name: r.verdict for name, r in results.items()}
    assert verdicts == {
        "test_accepted": Verdict.ACCEPTED,
        "test_wrong_answer": Verdict.WRONG_ANSWER,
        "test_runtime_error": Verdict.RUNTIME_ERROR,
        "test_memory": Verdict.MEMORY_LIMIT_EXCEEDED,
        "test_unreadable_result": Verdict.WRONG_ANSWER,
        "test_limit": Verdict.TIME_LIMIT_EXCEEDED,
        "test_tolerances_reach_the_tests": Verdict.ACCEPTED,
        "test_setup_failure_is_the_judge_s": Verdict.INTERNAL_ERROR,
    }
    assert results["test_wrong_answer"].message.startswith("add(1, 2): got 3, expected 4")
    assert results["test_runtime_error"].message.startswith("the submission raised ZeroDivisionError: division by zero")
    assert "in fail" in results["test_runtime_error"].message  # the traceback's tail
    assert results["test_unreadable_result"].message.startswith("the result could not be checked: AttributeError")
    assert results["test_limit"].message == "time limit exceeded during call to add"
    assert "fixture bug" in results["test_setup_failure_is_the_judge_s"].message
    assert results["test_accepted"].output == "add(1, 2)\n" and results["test_accepted"].peak_bytes == 1234
    assert results["test_accepted"].cpu_s == 0.25  # the worker CPU of the test, as the proxy reports it
    assert all(cpu == 5 for _, _, cpu in stand_in.windows)  # each test's CPU limit handed to the worker
    assert checks.TOLERANCES == {"float32": (1e-5, 1e-4)}


def test_stop_at_first_failure_ends_the_session(tmp_path: Path) -> None:
    plugin, _ = run_suite(tmp_path, stop_at_first_failure=True)
    assert [r.verdict for r in plugin.results] == [Verdict.ACCEPTED, Verdict.WRONG_ANSWER]


def test_a_spent_suite_cpu_budget_fails_the_remaining_tests_as_time_limit(tmp_path: Path) -> None:
    # The checker has spent more than 1e-9 s of CPU before the first test: the budget is gone.
    plugin, stand_in = run_suite(tmp_path, suite_cpu_s=1e-9)
    judged = [r for r in plugin.results if r.id.endswith("test_accepted")]
    assert judged[0].verdict is Verdict.TIME_LIMIT_EXCEEDED and "CPU-time limit of 1e-09 s" in judged[0].message
    assert stand_in.windows == []  # no test reached the worker


def test_the_suite_cpu_budget_counts_the_checker_and_every_test_s_worker_cpu(tmp_path: Path) -> None:
    plugin, _ = run_suite(tmp_path, suite_cpu_s=1e6)
    worker = sum(r.cpu_s for r in plugin.results)
    assert worker == 0.25 * len(plugin.results)  # the stand-in's worker CPU, per test
    assert worker < plugin.suite_cpu_used() < worker + time.process_time() + 1e-6


def test_a_suite_past_its_wall_backstop_fails_the_remaining_tests_as_time_limit(tmp_path: Path) -> None:
    # The backstop is 4x the CPU budget + 2 s of wall from the suite's start (a submission that sleeps).
    plugin, stand_in = run_suite(tmp_path, suite_cpu_s=1e6, suite_started=time.monotonic() - 5e6)
    judged = [r for r in plugin.results if r.id.endswith("test_accepted")]
    assert judged[0].verdict is Verdict.TIME_LIMIT_EXCEEDED and "wall-clock backstop" in judged[0].message
    assert stand_in.windows == []


PROPERTY_SUITE = """
from hypothesis import given, settings, strategies as st


@settings(max_examples=200)
@given(st.integers(0, 10**6))
def test_below_a_thousand(candidate, n):
    assert candidate.add(n, 0) < 1000, f"add({n}, 0) is not below 1000"
"""


def test_a_failing_property_test_reports_the_shrunk_example(tmp_path: Path) -> None:
    # Under the checker's hypothesis profile (derandomized, shrinking capped at seconds) the
    # message names the smallest failing input, 1000, not the large one generation found first.
    plugin, _ = run_suite(tmp_path, PROPERTY_SUITE)
    (result,) = plugin.results
    assert result.verdict is Verdict.WRONG_ANSWER
    assert "add(1000, 0) is not below 1000" in result.message, result.message
    assert "n=1000" in result.message  # hypothesis's "Falsifying example" note, as shrunk


def test_no_hidden_suite_turns_shrinking_off() -> None:
    # Each shrinking step is a round trip to the worker, but the profile caps the whole shrink at
    # a few seconds; a suite that skips the phase hands candidates its unshrunk, unreadable input.
    problems = Path(__file__).resolve().parents[1] / "problems"
    offenders = [p.parent.name for p in sorted(problems.glob("*/test_hidden.py")) if "Phase." in p.read_text()]
    assert not offenders, f"hidden suites that set hypothesis phases (shrinking off): {offenders}"


def excinfo(exc: BaseException) -> pytest.ExceptionInfo[BaseException]:
    try:
        raise exc
    except BaseException as raised:
        return pytest.ExceptionInfo.from_exception(raised)


def test_classify_looks_inside_exception_groups() -> None:
    group = BaseExceptionGroup("flaky", [ValueError("x"), AssertionError("sum: 1 of 3 elements outside")])
    assert classify(excinfo(group)) == (Verdict.WRONG_ANSWER, "sum: 1 of 3 elements outside")
    aborted = BaseExceptionGroup("g", [JudgeAbort(Verdict.OUTPUT_LIMIT_EXCEEDED, "too much output")])
    assert classify(excinfo(aborted)) == (Verdict.OUTPUT_LIMIT_EXCEEDED, "too much output")


def test_classify_keeps_hypothesis_notes_and_blames_generation_failures_on_the_judge() -> None:
    error = AssertionError("bad sum")
    error.add_note("Falsifying example: test_add(a=1)")
    assert classify(excinfo(error)) == (Verdict.WRONG_ANSWER, "bad sum\nFalsifying example: test_add(a=1)")
    from hypothesis.errors import Unsatisfiable

    verdict, message = classify(excinfo(Unsatisfiable("no examples")))
    assert verdict is Verdict.INTERNAL_ERROR and message.startswith("test generation failed: Unsatisfiable")


def test_a_memory_error_names_the_limit() -> None:
    verdict, message = classify(excinfo(CandidateError("MemoryError", "")), memory_limit_bytes=256 * 2**20)
    assert verdict is Verdict.MEMORY_LIMIT_EXCEEDED
    assert "the memory limit is 256 MiB" in message and "MemoryError: an allocation failed" in message
    torch_message = "DefaultCPUAllocator: can't allocate memory: you tried to allocate 8589934592 bytes"
    _, message = classify(excinfo(CandidateError("RuntimeError", torch_message)), memory_limit_bytes=2**30)
    assert "8589934592 bytes" in message and "1024 MiB" in message


DIFF_SUITE = """
def test_long_lists(candidate):
    assert list(range(40)) + [0] == list(range(40)) + [1]
"""


class Ready(StandIn):
    def worker(self) -> None:
        return None  # the pre-flight import: nothing to import here


@pytest.mark.parametrize("verbose", [False, True])
def test_verbose_shows_the_diff_pytest_hides(tmp_path: Path, verbose: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """`judge submit -v` travels to the checker as spec["verbose"]: assertion diffs come in full, and
    without it the hint names the judge's -v, not pytest's -vv. The same under CI (pytest stops
    truncating when $CI is set; the checker must not)."""
    from judge_harness.checker import run_tests
    from judge_harness.schema import RunResult

    monkeypatch.setenv("CI", "true")

    (tmp_path / "test_diff.py").write_text(DIFF_SUITE)
    spec = {
        "problem_dir": str(tmp_path),
        "test_file": str(tmp_path / "test_diff.py"),
        "test_timeout_s": 5,
        "memory_bytes": 2**30,
        "verbose": verbose,
    }
    sys.modules.pop("test_diff", None)
    result = run_tests(spec, Ready(), RunResult(Verdict.INTERNAL_ERROR, "p", "hidden"))
    [test] = result.tests
    assert test.verdict is Verdict.WRONG_ANSWER
    assert "-vv" not in test.message and "Use -v to get more diff" not in test.message
    if verbose:
        assert "Full diff:" in test.message and "+     0," in test.message and "39, 1]" in test.message
    else:
        assert "`judge test -v` / `judge submit -v` shows it all" in test.message


def test_tracebacks_show_the_candidate_s_frames_only(tmp_path: Path) -> None:
    from judge_harness import worker

    submission = tmp_path / "solution.py"
    submission.write_text("def inner():\n    return 1 / 0\n\n\ndef add(a, b):\n    return inner()\n")
    module = worker.load_module(str(submission), "solution_under_test")

    def judge_calls(function):  # stands for the worker's dispatch, a judge_harness frame
        return function(1, 2)

    judge_calls.__code__ = judge_calls.__code__.replace(co_filename=worker.__file__)
    try:
        judge_calls(module.add)
    except ZeroDivisionError as exc:
        text = worker.candidate_traceback(exc)
    assert "judge_harness" not in text and "<frozen" not in text
    assert text.count(str(submission)) == 2 and "in inner" in text and "ZeroDivisionError" in text


_BURN = """
import sys, threading, time

def burn(seconds):
    started = time.thread_time()
    while time.thread_time() - started < seconds:
        pass

if sys.argv[1] == "thread":  # a thread that has exited by the reading: only the ticks hold its time
    helper = threading.Thread(target=burn, args=(0.2,))
    helper.start()
    helper.join()
burn(0.1234)
print(time.process_time(), flush=True)
sys.stdin.read()
"""


def _cpu_reading(kind: str) -> tuple[float | None, float]:
    import subprocess

    from judge_harness.remote import process_cpu_seconds

    process = subprocess.Popen([sys.executable, "-c", _BURN, kind], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        own = float(process.stdout.readline())  # its own clock_gettime(CPUTIME), to the nanosecond
        return process_cpu_seconds(process.pid), own
    finally:
        process.stdin.close()
        process.wait()


def test_a_process_cpu_reading_is_exact_to_the_millisecond_not_the_clock_tick() -> None:
    """The take-home time ratio divides workload CPU times of a few hundred ms: 10 ms ticks are 5%."""
    for _ in range(3):
        reading, own = _cpu_reading("main")
        assert reading is not None and abs(reading - own) < 0.003, (reading, own)


def test_a_process_cpu_reading_counts_threads_that_have_exited() -> None:
    reading, own = _cpu_reading("thread")
    assert own > 0.3 and reading is not None and abs(reading - own) < 0.025, (reading, own)
