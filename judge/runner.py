"""A run: one submission x one problem x one suite -> one RunResult.

The runner does the host-side checks, asks a backend to execute the checker, and turns
what came back into a result: it verifies the checker's HMAC (a worker cannot forge a
verdict without the key), and maps a wall-time kill or a missing result to a verdict.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hmac
import json
import secrets
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from judge import __version__
from judge.backends.base import RESULT_STDOUT_LIMIT, Backend, Execution, Job, checker_spec
from judge.catalog import Problem
from judge.staging import Submission, read_submission
from judge_harness.checker import sign
from judge_harness.schema import RunResult, Verdict, worst

SUITES = ("public", "hidden", "timing")  # timing: the optional workload take-home ratios measure
__all__ = [
    "RESULT_STDOUT_LIMIT",
    "SUITES",
    "Execution",
    "Job",
    "checker_spec",
    "interpret",
    "run",
    "stop_on_termination",
]  # Job & co. still import from here


def interpret(job: Job, execution: Execution) -> RunResult:
    """Turn a backend's observation into a result, trusting only a correctly signed document."""
    base = RunResult(verdict=Verdict.INTERNAL_ERROR, problem=job.problem.slug, suite=job.suite)
    if execution.stdout_overflow:
        base.verdict, base.message = Verdict.OUTPUT_LIMIT_EXCEEDED, "the run wrote more output than the judge reads"
        return base
    if execution.timed_out:
        base.verdict = Verdict.TIME_LIMIT_EXCEEDED
        base.message = f"the run passed its wall-clock backstop of {job.problem.limits.suite_backstop_s:g} s"
        return base
    if execution.oom_killed:
        base.verdict, base.message = Verdict.MEMORY_LIMIT_EXCEEDED, "the sandbox was killed for memory"
        return base
    lines = execution.stdout.decode("utf-8", "replace").strip().splitlines()
    try:
        envelope = json.loads(lines[-1])
        document, signature = envelope["result"], envelope["signature"]
    except (IndexError, ValueError, KeyError, TypeError):
        base.message = f"the checker returned no result (exit {execution.exit_code}): {execution.stderr_tail[-500:]}"
        return base
    if not isinstance(signature, str) or not hmac.compare_digest(signature, sign(document, job.key)):
        base.message = "the result's signature does not match: it was not written by the checker"
        return base
    try:
        result = RunResult.from_json(document)
    except (ValueError, KeyError, TypeError) as exc:
        base.message = f"the checker's result is malformed: {exc}"
        return base
    if result.problem != job.problem.slug or result.suite != job.suite:
        base.message = "the checker's result is for another run"
        return base
    return result


def compile_error(problem: Problem, sub: Submission) -> str | None:
    """Why `sub` is a Compilation Error without running it, or None: it does not parse, or it is empty.

    An empty file is the same mistake as a file without the entry points (it defines none of
    them), so it gets the same verdict, recorded in the history, rather than a usage error.
    """
    if sub.syntax_error:
        return f"syntax error at {sub.syntax_error}"
    if not sub.source.strip():
        names = ", ".join(problem.entry_points)
        return (
            f"{sub.path.name} is empty: it defines none of {names} (start from the stub: `judge start {problem.slug}`)"
        )
    return None


def run(
    problem: Problem,
    submission: Path | Submission,
    suite: str,
    backend: Backend,
    *,
    first_failure: bool = False,
    verbose: bool = False,
    progress: Callable[[dict[str, Any]], None] | None = None,
    workers: int = 1,
) -> RunResult:
    """Judge `submission` on `problem`'s `suite` tests with `backend`. Raises SubmissionError on bad input.

    With `first_failure` the suite ends at the first test that is not Accepted; the result's
    verdict is that test's. With `verbose`, assertion diffs come in full. `progress` is called with
    each test as it finishes (Job.progress; backends that cannot stream never call it). With
    `workers` > 1 the suite is spread over that many runs side by side, each judging every
    workers-th test in collection order, and merged (`spread`). A result that no box
    produced (a Compilation Error found here) has backend "" (null in its JSON).
    """
    if suite not in SUITES:
        raise ValueError(f"suite must be one of {SUITES}, got {suite!r}")
    if not problem.test_file(suite).is_file():
        raise ValueError(f"{problem.slug} has no {problem.test_file(suite).name}")
    sub = submission if isinstance(submission, Submission) else read_submission(submission)
    started = time.monotonic()
    unrunnable = compile_error(problem, sub)
    if unrunnable:
        result = RunResult(verdict=Verdict.COMPILATION_ERROR, problem=problem.slug, suite=suite, message=unrunnable)
    else:
        jobs = [
            Job(problem, sub, suite, secrets.token_bytes(32), first_failure, verbose, progress, (i, max(1, workers)))
            for i in range(max(1, workers))
        ]
        result = _judge(backend, jobs[0]) if len(jobs) == 1 else spread(backend, jobs)
        result.backend = backend.name
    result.wall_s = time.monotonic() - started
    result.problem_hash = problem.content_hash()
    result.submission_hash = sub.hash
    result.judge_version = __version__
    return result


def _judge(backend: Backend, job: Job) -> RunResult:
    execution = backend.execute(job)
    result = interpret(job, execution)
    result.judged_by = execution.judged_by
    return result


def spread(backend: Backend, jobs: list[Job]) -> RunResult:
    """Judge the shards of one suite side by side and merge them into the single run's result.

    Shard i holds the tests whose collection index is i modulo n, so taking the shards' tests
    round-robin restores collection order. The verdict is the worst of the shards' (a shard with
    no tests is Accepted with nothing in it); messages and memory as a single run reports them.
    On Ctrl-C (or a backend error) every shard still running is stopped before this returns.
    """
    pool = concurrent.futures.ThreadPoolExecutor(len(jobs), thread_name_prefix="judge-shard")
    futures = [pool.submit(_judge, backend, job) for job in jobs]
    try:
        results = [future.result() for future in futures]
    except BaseException:
        abort = getattr(backend, "abort_all", None)
        if abort is not None:
            abort()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    tests = [r.tests[k] for k in range(max(len(r.tests) for r in results)) for r in results if k < len(r.tests)]
    merged = RunResult(verdict=worst([r.verdict for r in results]), problem=results[0].problem, suite=results[0].suite)
    merged.tests = tests
    if not tests and merged.verdict is Verdict.ACCEPTED:
        merged.verdict, merged.message = Verdict.INTERNAL_ERROR, "no tests ran"
    merged.message = merged.message or next((r.message for r in results if r.verdict is merged.verdict), "")
    merged.peak_bytes = max(r.peak_bytes for r in results)
    merged.judged_by = ", ".join(sorted({r.judged_by for r in results if r.judged_by}))
    return merged


TERMINATING = (signal.SIGTERM, signal.SIGHUP)  # `kill`, and a terminal that closes


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


@contextlib.contextmanager
def stop_on_termination() -> Iterator[None]:
    """Within it, SIGTERM and SIGHUP end the run as Ctrl-C does (KeyboardInterrupt), so the backend's
    cleanup runs (the container removed, the checker's process group killed) instead of the judge
    dying and leaving the box to run out its wall limit. Outside the main thread it changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.signal(number, _interrupt) for number in TERMINATING}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
