"""The pytest plugin the checker loads: the `candidate` fixture and per-test verdicts.

It reports through objects, not by parsing pytest's output: each test's outcome becomes a
`TestResult` in `JudgePlugin.results`, in file order.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from typing import Any

import pytest

from judge_harness import checks
from judge_harness.remote import CandidateError, JudgeAbort
from judge_harness.schema import MESSAGE_BYTES, PROGRESS_PREFIX, TestResult, Verdict, wall_backstop_s

HYPOTHESIS_PROFILE = "judge"


SHRINK_SECONDS = 3  # every round of shrinking is a round trip to the worker: keep it short


def lean_pytest_args() -> list[str]:
    """pytest options for a judged suite, and no plugin autoloading (set in the environment).

    For an entry-point plugin pytest marks its whole distribution for assertion rewriting, so
    hypothesis's plugin made every run re-parse and rewrite all of hypothesis (89 modules, no .pyc
    cache in the box): about half the checker's start-up CPU. The one plugin the suites need is
    named instead; only the test files are rewritten. unraisableexception's clean-up runs
    gc.collect() five times over torch's heap (~0.5 s). The checker and the in-process runner
    (the benchmarks' bare baseline) start pytest the same way.
    """
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return ["-p", "_hypothesis_pytestplugin", "-p", "no:cacheprovider", "-p", "no:unraisableexception"]


def prepare_hypothesis() -> None:
    """Pay now, before a run arrives, what hypothesis pays on the first test it runs.

    Hypothesis registers its own global Random then, and checks that the object is referenced with
    gc.collect() and gc.get_referrers() over the whole heap: about 0.3 s of CPU with torch
    imported. A warm box does it while it waits; the Random is then seeded per test as before.
    """
    try:
        from random import Random

        import hypothesis.core
        from hypothesis.internal.entropy import register_random

        local = hypothesis.core.threadlocal
        if getattr(local, "_hypothesis_global_random", None) is None:
            local._hypothesis_global_random = Random()
            register_random(local._hypothesis_global_random)
    except (ImportError, AttributeError):  # another hypothesis: it does the same on the first test
        pass


def register_hypothesis_profile() -> None:
    from hypothesis import HealthCheck, settings
    from hypothesis.internal.conjecture import engine

    # A failing example is still shrunk (the message shows the shrunk counterexample), but for
    # seconds, not hypothesis's default five minutes, so a wrong answer stays a Wrong Answer
    # instead of running into the test's time limit.
    if hasattr(engine, "MAX_SHRINKING_SECONDS"):
        engine.MAX_SHRINKING_SECONDS = SHRINK_SECONDS

    settings.register_profile(
        HYPOTHESIS_PROFILE,
        derandomize=True,
        database=None,
        deadline=None,
        print_blob=False,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
    )
    settings.load_profile(HYPOTHESIS_PROFILE)


def _unwrap(exc: BaseException) -> BaseException:
    """Hypothesis may wrap the real failure in an exception group (e.g. FlakyFailure)."""
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            if isinstance(inner, (JudgeAbort, CandidateError, AssertionError)):
                return inner
        return _unwrap(exc.exceptions[0])
    return exc


def memory_error_message(exc: CandidateError, memory_limit_bytes: int) -> str:
    """A MemoryError says what failed and against which limit (Python's own often says nothing)."""
    what = exc.message.strip() or "an allocation failed"
    limit = (
        f"the memory limit is {memory_limit_bytes / 2**20:.0f} MiB" if memory_limit_bytes else "no memory limit was set"
    )
    return (
        f"the submission ran out of memory ({exc.type_name}: {what}); {limit}, and one allocation larger than "
        "what is left of it fails at once, so the peak measured before it is lower than the limit"
    )


PYTEST_HINTS = re.compile(r"[Uu]se -v to get more diff|use '?-vv?'? to show")


def hint_for_the_judge(message: str) -> str:
    """pytest's "use '-vv' to show" names its own flags; the judge's is -v."""
    return PYTEST_HINTS.sub("`judge test -v` / `judge submit -v` shows it all", message)


def classify(excinfo: pytest.ExceptionInfo[BaseException], memory_limit_bytes: int = 0) -> tuple[Verdict, str]:
    exc = _unwrap(excinfo.value)
    notes = "\n".join(getattr(exc, "__notes__", []) or [])
    if isinstance(exc, JudgeAbort):
        return exc.verdict, exc.message
    if isinstance(exc, CandidateError):
        if exc.is_memory_error:
            return Verdict.MEMORY_LIMIT_EXCEEDED, memory_error_message(exc, memory_limit_bytes)
        tail = exc.traceback.strip().splitlines()[-6:] if exc.traceback else []
        detail = "\n".join(tail)
        return Verdict.RUNTIME_ERROR, f"the submission raised {exc}" + (f"\n{detail}" if detail else "") + (
            f"\n{notes}" if notes else ""
        )
    if isinstance(exc, AssertionError):
        return Verdict.WRONG_ANSWER, hint_for_the_judge(str(exc) or "assertion failed") + (
            f"\n{notes}" if notes else ""
        )
    if type(exc).__module__.startswith("hypothesis"):
        return Verdict.INTERNAL_ERROR, f"test generation failed: {type(exc).__name__}: {exc}"
    # The test's own code tripped over what the submission returned (wrong type, missing field).
    return Verdict.WRONG_ANSWER, f"the result could not be checked: {type(exc).__name__}: {exc}" + (
        f"\n{notes}" if notes else ""
    )


class JudgePlugin:
    def __init__(
        self,
        candidate: Any,
        *,
        test_timeout_s: float,
        tolerances: dict[str, tuple[float, float]],
        suite_cpu_s: float = 0,
        suite_started: float | None = None,
        stop_at_first_failure: bool = False,
        memory_limit_bytes: int = 0,
        progress: bool = False,
        shard: tuple[int, int] = (0, 1),
    ) -> None:
        """`test_timeout_s` is CPU time per test, `suite_cpu_s` the whole suite's (0: none).

        The suite's CPU is the checker's own (time.process_time: collection, oracles, hypothesis)
        plus the submission's in every test so far; it is checked before each test, so a suite
        ends past its budget by at most one test's limit. Its wall-clock backstop, for a
        submission that sleeps, is `wall_backstop_s(suite_cpu_s)` from `suite_started`.

        With `stop_at_first_failure` the session ends after the first test that is not Accepted
        (verify's checks that expect a rejection need no more than that one). With `progress`
        each recorded test is also written to stderr as a PROGRESS_PREFIX line, as it finishes.
        With `shard` (i, n) only the tests whose collection index is i modulo n run: the host
        spreads one suite over n boxes and merges their results (judge.runner).
        """
        self.progress = progress
        self.shard = (int(shard[0]), int(shard[1]))
        self._candidate = candidate
        self.test_timeout_s = test_timeout_s
        started = time.monotonic() if suite_started is None else suite_started
        self.suite_cpu_s = suite_cpu_s or math.inf
        self.suite_deadline = started + wall_backstop_s(suite_cpu_s) if suite_cpu_s else math.inf
        self.stop_at_first_failure = stop_at_first_failure
        self.memory_limit_bytes = memory_limit_bytes  # named in a MemoryError's message
        self._session: pytest.Session | None = None
        self.results: list[TestResult] = []
        self.collection_errors: list[str] = []
        self._started: dict[str, float] = {}
        checks.TOLERANCES.clear()
        checks.TOLERANCES.update(tolerances)

    @pytest.fixture
    def candidate(self) -> Any:
        if self.suite_cpu_used() >= self.suite_cpu_s:
            raise JudgeAbort(
                Verdict.TIME_LIMIT_EXCEEDED,
                f"the suite's CPU-time limit of {self.suite_cpu_s:g} s (the checker's and the submission's) "
                "was spent before this test ran",
            )
        if time.monotonic() >= self.suite_deadline:
            raise JudgeAbort(
                Verdict.TIME_LIMIT_EXCEEDED, "the suite's wall-clock backstop was reached before this test ran"
            )
        # The limit is the worker's CPU time; the wall clock only backs it up (a sleeper spends none).
        if self.test_timeout_s:
            deadline, cpu_limit = time.monotonic() + wall_backstop_s(self.test_timeout_s), self.test_timeout_s
        else:
            deadline, cpu_limit = math.inf, math.inf
        self._candidate.begin_test(min(deadline, self.suite_deadline), self.suite_deadline, cpu_limit)
        with self._candidate:
            yield self._candidate
        self._candidate.deadline = math.inf

    def suite_cpu_used(self) -> float:
        """CPU seconds the suite has spent: the checker's own and the submission's in every test."""
        return time.process_time() + sum(r.cpu_s for r in self.results)

    @pytest.fixture
    def tolerances(self) -> dict[str, tuple[float, float]]:
        return dict(checks.TOLERANCES)

    def pytest_configure(self, config: pytest.Config) -> None:
        register_hypothesis_profile()

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self._session = session

    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        index, count = self.shard
        if count > 1:
            others = [item for i, item in enumerate(items) if i % count != index]
            items[:] = [item for i, item in enumerate(items) if i % count == index]
            config.hook.pytest_deselected(items=others)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collection_errors.append(str(report.longrepr)[-MESSAGE_BYTES:])

    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
        self._started[nodeid] = time.monotonic()
        self._candidate.take_output()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        outcome = yield
        report = outcome.get_result()
        if (
            call.when == "call"
            or (call.when == "setup" and report.failed)
            or (call.when == "teardown" and report.failed)
        ):
            if call.when == "call":
                verdict, message = (
                    (Verdict.ACCEPTED, "") if call.excinfo is None else classify(call.excinfo, self.memory_limit_bytes)
                )
            elif call.excinfo is not None and isinstance(call.excinfo.value, JudgeAbort):
                verdict, message = classify(call.excinfo)
            else:
                verdict, message = (
                    Verdict.INTERNAL_ERROR,
                    f"test {call.when} failed: {call.excinfo.exconly() if call.excinfo else ''}",
                )
            if report.skipped:
                return
            self._record(item.nodeid, verdict, message)

    def _record(self, nodeid: str, verdict: Verdict, message: str) -> None:
        existing = [r for r in self.results if r.id == nodeid]
        if existing:  # a teardown failure after the call was recorded: keep the worse one
            if verdict is Verdict.ACCEPTED:
                return
            self.results.remove(existing[0])
        self.results.append(
            TestResult(
                id=nodeid,
                verdict=verdict,
                duration_s=round(time.monotonic() - self._started.get(nodeid, time.monotonic()), 4),
                message=message[:MESSAGE_BYTES],
                output=self._candidate.take_output(),
                peak_bytes=int(self._candidate.peak_bytes),
                cpu_s=round(self._candidate.cpu_used(), 4),
            )
        )
        if self.progress:
            done = self.results[-1]
            line = json.dumps({"id": done.id, "verdict": done.verdict.value, "duration_s": done.duration_s})
            try:
                os.write(2, PROGRESS_PREFIX + line.encode() + b"\n")
            except OSError:
                pass  # nobody reads the progress: the result still goes out on stdout
        if self.stop_at_first_failure and verdict is not Verdict.ACCEPTED and self._session is not None:
            self._session.shouldstop = f"stopped at the first failing test ({nodeid}: {verdict.value})"
