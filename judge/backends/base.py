"""The contract between the runner and a backend: what goes in (a Job), what comes out (an Execution).

The runner (judge/runner.py) turns a submission into a Job, hands it to a backend, and
interprets the Execution: it trusts only a result the checker signed with the job's key, so a
backend moves bytes and enforces limits, it never decides a verdict. A backend:

- has a `name` (recorded in every RunResult: "local", "docker", "queue");
- `execute(job)` runs judge_harness.checker with `checker_spec(job, ...)` on its stdin, the paths
  as the checker sees them, and reports what it observed; it raises BackendError when it cannot
  run at all (no engine, no image), never for anything the submission did;
- may have `abort_all()`, which ends every run in flight at once (Ctrl-C during a parallel verify).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from judge.catalog import Problem
from judge.staging import Submission
from judge_harness.schema import PROGRESS_PREFIX

RESULT_STDOUT_LIMIT = 32 * 2**20  # what the host reads from the checker's result channel
SKIPPED_PARTS = ("wrong", "__pycache__")  # problem folder parts that never travel with a run


class ProgressScanner:
    """Takes the checker's stderr as it streams: calls `progress` for each PROGRESS_PREFIX line and
    returns the rest (what the stderr tail keeps), so the live lines never reach error messages."""

    PARTIAL_LIMIT = 65536  # a longer line without a newline is not a progress line: pass it on

    def __init__(self, progress: Callable[[dict[str, Any]], None] | None) -> None:
        self.progress = progress
        self.partial = b""

    def feed(self, chunk: bytes) -> bytes:
        if self.progress is None:
            return self.flush() + chunk
        lines = (self.partial + chunk).split(b"\n")
        self.partial = lines.pop()
        kept = b"".join(rest + b"\n" for rest in map(self._line, lines) if rest is not None)
        if len(self.partial) > self.PARTIAL_LIMIT:
            kept += self.flush()
        return kept

    def flush(self) -> bytes:
        rest, self.partial = self.partial, b""
        return self._line(rest) or b""

    def _line(self, line: bytes) -> bytes | None:
        """The line less its progress event (pytest's dots may precede one), which goes to `progress`;
        None when nothing else was on it."""
        at = line.find(PROGRESS_PREFIX)
        if at < 0:
            return line
        try:
            event = json.loads(line[at + len(PROGRESS_PREFIX) :])
        except ValueError:
            event = None
        if event is not None and self.progress is not None:
            try:
                self.progress(event)
            except Exception:  # the display's fault must not end the run
                self.progress = None
        return line[:at] or None


class BackendError(RuntimeError):
    """The backend cannot run at all (no engine, no image): a judge/sandbox error, exit 3."""


@dataclasses.dataclass(frozen=True)
class Job:
    """One run to execute: a problem's suite on a submission, with the key the checker signs the result with."""

    problem: Problem
    submission: Submission
    suite: str
    key: bytes
    first_failure: bool = False  # end the suite at the first test that is not Accepted (verify's rejections)
    verbose: bool = False  # full assertion diffs (`judge test/submit -v`)
    # called with {"id", "verdict", "duration_s"} as each test finishes (the live lines on a
    # terminal), from the backend's reading thread; display only, never part of the verdict
    progress: Callable[[dict[str, Any]], None] | None = dataclasses.field(default=None, compare=False)
    shard: tuple[int, int] = (0, 1)  # (i, n): this run judges the tests whose collection index % n == i


@dataclasses.dataclass
class Execution:
    """What a backend observed of one checker run."""

    stdout: bytes
    stderr_tail: str
    exit_code: int | None
    timed_out: bool = False
    oom_killed: bool = False
    stdout_overflow: bool = False
    killed_outside: bool = False  # SIGKILLed by neither the kernel (memory) nor the backend (deadline)
    judged_by: str = ""  # the queue worker that judged it ("" when this process did)


@runtime_checkable
class Backend(Protocol):
    """Where a checker runs. `abort_all()` is optional: see `abort_all` below."""

    name: str

    def execute(self, job: Job) -> Execution: ...


def abort_all(backend: Backend) -> None:
    """End every run `backend` has in flight, when it can (the docker and queue backends can)."""
    abort = getattr(backend, "abort_all", None)
    if abort is not None:
        abort()


def problem_files(problem: Problem) -> Iterator[tuple[str, Path]]:
    """The problem folder as it travels with a run (into a box, onto a queue): (relative name, path).

    Not wrong/ (the known-wrong solutions), caches, dot files or links."""
    for path in sorted(problem.path.rglob("*")):
        relative = path.relative_to(problem.path)
        if path.is_symlink() or not path.is_file() or relative.parts[0] in SKIPPED_PARTS:
            continue
        if any(part.startswith(".") or part == "__pycache__" for part in relative.parts):
            continue
        yield relative.as_posix(), path


def checker_spec(
    job: Job, *, problem_dir: str, submission: str, driver: str | None, worker_cwd: str, **extra: Any
) -> dict[str, Any]:
    """The checker's stdin document (read by judge_harness.checker); paths are as the checker sees them."""
    problem = job.problem
    return {
        "problem": problem.slug,
        "suite": job.suite,
        "problem_dir": problem_dir,
        "test_file": f"{problem_dir}/test_{job.suite}.py",
        "submission": submission,
        "module_name": problem.module_name,
        "entry_points": list(problem.entry_points),
        "dataclasses": list(problem.dataclasses),
        "forbidden": list(problem.forbidden),
        "preload": list(problem.preload),
        "mutable_inputs": list(problem.mutable_inputs),
        "threads": problem.threads,
        "driver": driver,
        "memory_bytes": problem.limits.memory_mb * 2**20,
        "test_timeout_s": problem.limits.test_timeout_s,
        "suite_cpu_s": problem.limits.suite_cpu_s,
        "tolerances": {k: list(v) for k, v in problem.tolerances.items()},
        "worker_cwd": worker_cwd,
        "stop_at_first_failure": job.first_failure,
        "verbose": job.verbose,
        "progress": job.progress is not None,
        "shard": list(job.shard),
        "key": job.key.hex(),
        **extra,
    }
