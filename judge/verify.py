"""`judge verify`: every problem is sound. CI runs this.

For each problem: its metadata loads; the stub and the reference expose the same public
names and signatures; the reference is Accepted on the public and hidden tests; the stub
is rejected; every known-wrong solution gets exactly the verdict its header declares; a
seeded sample of mutants of the reference is killed about as often as mutants.toml records.

Fast: the reference runs every test, but a check that expects a rejection (the stub, each
wrong solution) stops at its first test that is not Accepted, and is held to that test's
verdict. Results are cached under the judge's data directory (`verify-cache/`), keyed by the
problem's content hash, the submission's hash, the judge's version and harness, the backend,
the suite and the stop rule, so re-verifying an unchanged problem judges nothing.
"""

from __future__ import annotations

import ast
import concurrent.futures
import dataclasses
import hashlib
import json
import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from judge import __version__, runner
from judge.backends.base import Backend, abort_all
from judge.catalog import Problem
from judge.staging import Submission, read_submission, submission_from_source
from judge.wrong import WrongSolutionError
from judge_harness.schema import RunResult, Verdict

CACHE_FOLDER = "verify-cache"


@dataclasses.dataclass
class Check:
    problem: str
    label: str  # "reference (hidden)", "stub", "wrong/no_running_max.py", "interface"
    expected: str  # a verdict name, "rejected" or "matches"
    actual: str = ""
    ok: bool = False
    detail: str = ""
    wall_s: float = 0.0  # what this check cost now: 0 when its result came from the cache
    cached: bool = False
    first_failure: bool = False  # the run stopped at its first failing test
    decided_by: str = ""  # the first test that was not Accepted, if any

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class ProblemDone:
    """Progress: every check of one problem has finished."""

    problem: str
    checks: list[Check]
    problems_done: int
    problems_total: int
    elapsed_s: float
    eta_s: float  # estimated wall time left for the rest


class ResultCache:
    """Run results of verify, one JSON file per key under `root` (the judge's data dir)."""

    def __init__(self, root: Path, backend: str, harness: str) -> None:
        self.root = root
        self.backend = backend
        self.harness = harness

    @classmethod
    def default(cls, backend: Backend) -> ResultCache:
        from judge.backends.docker.image import image_tag
        from judge.paths import data_dir

        return cls(data_dir() / CACHE_FOLDER, backend.name, image_tag())

    def key(self, problem_hash: str, submission: Submission, suite: str, first_failure: bool) -> str:
        parts = [problem_hash, submission.hash, __version__, self.harness, self.backend, suite, first_failure]
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()

    def get(self, key: str) -> RunResult | None:
        try:
            return RunResult.from_json(json.loads((self.root / f"{key}.json").read_text()))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, key: str, result: RunResult) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            temporary = self.root / f".{key}.{os.getpid()}.tmp"
            temporary.write_text(json.dumps(result.as_json()))
            temporary.replace(self.root / f"{key}.json")
        except OSError:
            pass  # a cache that cannot be written only costs time


def public_interface(path: Path) -> dict[str, str]:
    """Public top-level names -> signature text, methods as Class.method, read with ast (no import)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: dict[str, str] = {}

    def signature(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
        returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
        return f"({ast.unparse(node.args)}){returns}"

    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
            found[node.name] = signature(node)
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            found[node.name] = "class(" + ", ".join(ast.unparse(b) for b in node.bases) + ")"
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and (
                    not item.name.startswith("_") or item.name in ("__init__", "__len__", "__call__")
                ):
                    found[f"{node.name}.{item.name}"] = signature(item)
                elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    found[f"{node.name}.{item.target.id}"] = ast.unparse(item.annotation)
    return found


def check_interface(problem: Problem) -> Check:
    check = Check(problem.slug, "interface (stub vs reference)", "matches")
    stub, reference = public_interface(problem.stub), public_interface(problem.reference)
    # Every public name must match; a dunder (__init__, __len__) counts only where the stub declares it.
    names = set(stub) | {name for name in reference if not name.rsplit(".", 1)[-1].startswith("__")}
    differences = [
        f"{name}: stub {stub.get(name, '(missing)')} vs reference {reference.get(name, '(missing)')}"
        for name in sorted(names)
        if stub.get(name) != reference.get(name)
    ]
    missing = [name for name in problem.entry_points if name not in stub]
    if missing:
        differences.append(f"entry points missing from the stub: {', '.join(missing)}")
    check.ok = not differences
    check.actual = "matches" if check.ok else "differs"
    check.detail = "; ".join(differences)[:2000]
    return check


def sample_wrong(problem: Problem, count: int) -> set[str]:
    """The wrong solutions a `--wrong-sample count` verify judges: every one declared anything but
    Wrong Answer (time, memory, crashes: what depends on the backend), and `count` of the Wrong
    Answer ones, drawn with a seed of the problem's slug (the same draw every run)."""
    declared = problem.wrong_solutions
    chosen = {name for name, verdict in declared.items() if verdict is not Verdict.WRONG_ANSWER}
    wrong_answers = sorted(name for name in declared if name not in chosen)
    chosen.update(random.Random(problem.slug).sample(wrong_answers, min(count, len(wrong_answers))))
    return chosen


def plan(problem: Problem, wrong_sample: int | None = None) -> list[tuple[Check, Path | Submission, str]]:
    """(check, what to judge, suite) for every judged check of `problem`; wrong solutions patched in memory.

    With `wrong_sample`, only sample_wrong's choice of wrong solutions is judged; every patch is
    still applied, and one that does not apply is a failed check whether drawn or not.
    """
    judged = sample_wrong(problem, wrong_sample) if wrong_sample is not None else set(problem.wrong_solutions)
    jobs = [
        (Check(problem.slug, "reference (public)", Verdict.ACCEPTED.value), problem.reference, "public"),
        (Check(problem.slug, "reference (hidden)", Verdict.ACCEPTED.value), problem.reference, "hidden"),
        (Check(problem.slug, "stub (hidden)", "rejected"), problem.stub, "hidden"),
    ]
    for name, verdict in sorted(problem.wrong_solutions.items()):
        check = Check(problem.slug, f"wrong/{name}", verdict.value)
        wrong = problem.wrong_solution(name)
        try:
            submission: Path | Submission = submission_from_source(wrong.source(problem.reference), wrong.path)
        except WrongSolutionError as exc:
            check.actual, check.detail = "patch does not apply", str(exc)
            submission = wrong.path  # not judged: _judge sees the failed check
        if name in judged or check.actual:
            jobs.append((check, submission, "hidden"))
    return jobs


def expects_rejection(check: Check) -> bool:
    return check.expected != Verdict.ACCEPTED.value


def _cached(
    check: Check, path: Path | Submission, suite: str, problem_hash: str, cache: ResultCache | None
) -> tuple[Submission | None, str, RunResult | None]:
    """(the submission, its cache key, the cached result or None) for a check still to judge."""
    if check.actual:  # decided before judging (a patch that does not apply)
        return None, "", None
    if isinstance(path, Path) and not path.exists():
        check.actual, check.detail = "missing", f"{path} does not exist"
        return None, "", None
    submission = path if isinstance(path, Submission) else read_submission(path)
    if cache is None:
        return submission, "", None
    key = cache.key(problem_hash, submission, suite, expects_rejection(check))
    return submission, key, cache.get(key)


def _judge(
    check: Check,
    problem: Problem,
    path: Path | Submission,
    suite: str,
    backend: Backend,
    cache: ResultCache | None = None,
    problem_hash: str = "",
) -> Check:
    submission, key, result = _cached(check, path, suite, problem_hash or problem.content_hash(), cache)
    if submission is None:
        return check
    check.first_failure = expects_rejection(check)
    if result is not None:
        check.cached = True
    else:
        result = runner.run(problem, submission, suite, backend, first_failure=check.first_failure)
        check.wall_s = round(result.wall_s, 2)
        if cache is not None and result.verdict is not Verdict.INTERNAL_ERROR:  # the judge's fault: run it again
            cache.put(key, result)
    return hold(check, result)


def hold(check: Check, result: RunResult) -> Check:
    """Hold `check` to what `result` shows."""
    check.actual = result.verdict.value
    failing = [t for t in result.tests if t.verdict is not Verdict.ACCEPTED]
    check.decided_by = failing[0].id if failing else ""
    if check.expected == "rejected":
        check.ok = result.verdict not in (Verdict.ACCEPTED, Verdict.INTERNAL_ERROR)
    else:
        check.ok = result.verdict.value == check.expected
    if not check.ok:
        first = failing[0] if failing else None
        check.detail = result.message or (f"{first.id}: {first.message}" if first else "")
        check.detail = check.detail[:1000]
    return check


def check_mutants(problem: Problem, count: int) -> Check:
    """A seeded sample of `count` mutants of the reference, held to mutants.toml's score (judge/mutants.py)."""
    from judge.mutants import check_sample

    check = Check(problem.slug, f"mutants (sample of {count})", "consistent with the recorded score")
    started = time.monotonic()
    result = check_sample(problem, count)
    check.ok, check.detail = result.ok, result.detail[:1000]
    check.actual = check.expected if result.ok else "below the recorded score"
    check.wall_s = round(time.monotonic() - started, 2)
    return check


def verify(
    problems: list[Problem],
    backend: Backend,
    jobs: int = 1,
    progress: Callable[[Check], None] | None = None,
    mutants: int = 0,
    cache: ResultCache | None = None,
    problem_done: Callable[[ProblemDone], None] | None = None,
    wrong_sample: int | None = None,
) -> list[Check]:
    """Every check of `problems`; `cache` (None: judge everything) holds results across runs.

    `wrong_sample` (None: all) judges only a sample of each problem's wrong solutions (sample_wrong).
    """
    started = time.monotonic()
    checks: list[Check] = []
    work = []
    finished: dict[str, list[Check]] = {}
    for problem in problems:
        checks.append(check_interface(problem))
        finished[problem.slug] = [checks[-1]]
        problem_hash = problem.content_hash()
        work.extend((check, problem, path, suite, problem_hash) for check, path, suite in plan(problem, wrong_sample))
    left = {problem.slug: sum(1 for item in work if item[1] is problem) + (1 if mutants else 0) for problem in problems}
    judged = [0, sum(1 for item in work if not item[0].actual)]  # runs done, runs in all (cache hits leave it)

    def account(done: Check) -> None:
        if progress:
            progress(done)
        if done.cached:
            judged[1] -= 1
        elif done.wall_s:
            judged[0] += 1
        finished[done.problem].append(done)
        left[done.problem] -= 1
        if left[done.problem] == 0 and problem_done:
            elapsed = time.monotonic() - started
            remaining = max(0, judged[1] - judged[0])
            eta = elapsed / judged[0] * remaining if judged[0] else 0.0
            count = sum(1 for slug in left if left[slug] == 0)
            problem_done(ProblemDone(done.problem, finished[done.problem], count, len(problems), elapsed, eta))

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        # the long runs (every test of the reference) first, so the pool does not end on one
        futures = [
            pool.submit(_judge, check, problem, path, suite, backend, cache, problem_hash)
            for check, problem, path, suite, problem_hash in sorted(work, key=lambda item: expects_rejection(item[0]))
        ]
        sampled = [pool.submit(check_mutants, problem, mutants) for problem in problems] if mutants else []
        futures += sampled
        try:
            for future in concurrent.futures.as_completed(futures):
                account(future.result())
        except KeyboardInterrupt:
            for future in futures:
                future.cancel()
            abort_all(backend)  # the docker and queue backends end their runs in flight now
            raise
    checks.extend(item[0] for item in work)
    checks.extend(future.result() for future in sampled)
    return checks
