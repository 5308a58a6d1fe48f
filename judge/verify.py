"""`judge verify`: every problem is sound. CI runs this.

For each problem: its metadata loads; the stub and the reference expose the same public
names and signatures; the reference is Accepted on the public and hidden tests; the stub
is rejected; every known-wrong solution gets exactly the verdict problem.toml declares; a
seeded sample of mutants of the reference is killed about as often as mutants.toml records.
"""

from __future__ import annotations

import ast
import concurrent.futures
import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from judge import runner
from judge.backends.base import Backend, abort_all
from judge.catalog import Problem
from judge.staging import Submission, submission_from_source
from judge.wrong import WrongSolutionError
from judge_harness.schema import RunResult, Verdict


@dataclasses.dataclass
class Check:
    problem: str
    label: str  # "reference (hidden)", "stub", "wrong/no_running_max.py", "interface"
    expected: str  # a verdict name, "rejected" or "matches"
    actual: str = ""
    ok: bool = False
    detail: str = ""
    wall_s: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


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


def plan(problem: Problem) -> list[tuple[Check, Path | Submission, str]]:
    """(check, what to judge, suite) for every judged check of `problem`; wrong solutions patched in memory."""
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
        jobs.append((check, submission, "hidden"))
    return jobs


def _judge(check: Check, problem: Problem, path: Path | Submission, suite: str, backend: Backend) -> Check:
    if check.actual:  # decided before judging (a patch that does not apply)
        return check
    if isinstance(path, Path) and not path.exists():
        check.actual, check.detail = "missing", f"{path} does not exist"
        return check
    result: RunResult = runner.run(problem, path, suite, backend)
    check.actual = result.verdict.value
    check.wall_s = round(result.wall_s, 2)
    if check.expected == "rejected":
        check.ok = result.verdict not in (Verdict.ACCEPTED, Verdict.INTERNAL_ERROR)
    else:
        check.ok = result.verdict.value == check.expected
    if not check.ok:
        failing = [t for t in result.tests if t.verdict is not Verdict.ACCEPTED]
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
) -> list[Check]:
    checks: list[Check] = []
    work = []
    for problem in problems:
        checks.append(check_interface(problem))
        work.extend((check, problem, path, suite) for check, path, suite in plan(problem))
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(_judge, *item, backend) for item in work]
        sampled = [pool.submit(check_mutants, problem, mutants) for problem in problems] if mutants else []
        futures += sampled
        try:
            for future in concurrent.futures.as_completed(futures):
                done = future.result()
                if progress:
                    progress(done)
        except KeyboardInterrupt:
            for future in futures:
                future.cancel()
            abort_all(backend)  # the docker and queue backends end their runs in flight now
            raise
    checks.extend(item[0] for item in work)
    checks.extend(future.result() for future in sampled)
    return checks
