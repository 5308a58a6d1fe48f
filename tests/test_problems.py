"""What holds for every problem of the bank, checked for each: one test, parametrized over the catalog.

The interface the stub promises is the reference's; every tolerance problem.toml holds the
checker to is stated in the statement; the limits are sane; each forbidden name exists in the
installed torch (a name that does not resolve would be skipped, silently, by the worker); the stub
raises NotImplementedError; the checker-side helper modules import by plain name, as the tests
import them; every wrong solution applies, names its bug and keeps the entry points. What is
particular to one problem (its science: oracles, worked examples, edge cases) stays in
tests/test_problem_<slug>.py.
"""

from __future__ import annotations

import ast
import importlib
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from judge.catalog import Problem, load_catalog
from judge.paths import PROBLEMS_DIR
from judge.verify import check_interface
from judge_harness.schema import Verdict

from .problem_support import load_wrong

CATALOG = load_catalog([PROBLEMS_DIR])
PROBLEMS = sorted(CATALOG.problems.values(), key=lambda p: p.slug)
SLUGS = [p.slug for p in PROBLEMS]
TOLERANCES = [(p, dtype) for p in PROBLEMS for dtype in sorted(p.tolerances)]
WRONG = [(p, name) for p in PROBLEMS for name in sorted(p.wrong_solutions)]
FILES_NOT_HELPERS = {"stub.py", "driver.py", "test_public.py", "test_hidden.py"}
MIN_WRONG_SOLUTIONS = 6


def by_slug(value: object) -> str:
    return value.slug if isinstance(value, Problem) else str(value)


def test_the_bank_loads_without_errors() -> None:
    assert not CATALOG.errors, [str(e) for e in CATALOG.errors]
    assert len(PROBLEMS) >= 5


@pytest.mark.parametrize("problem", PROBLEMS, ids=by_slug)
def test_the_stub_promises_the_reference_interface(problem: Problem) -> None:
    check = check_interface(problem)  # the same check `judge verify` runs, read with ast
    assert check.ok, check.detail
    stub = _names(problem.stub)
    for name in (*problem.entry_points, *problem.dataclasses):
        assert name in stub and name in _names(problem.reference), f"{name} is not defined in both"
    assert set(problem.dataclasses) <= set(problem.entry_points) | stub


@pytest.mark.parametrize(("problem", "dtype"), TOLERANCES, ids=lambda v: by_slug(v))
def test_the_statement_states_each_tolerance_of_problem_toml(problem: Problem, dtype: str) -> None:
    atol, rtol = problem.tolerances[dtype]
    stated = stated_tolerances(problem.statement, dtype)
    assert stated, f"statement.md states no (atol, rtol) for {dtype}"
    assert (atol, rtol) in stated, f"{dtype}: problem.toml has ({atol:g}, {rtol:g}), the statement {stated}"


@pytest.mark.parametrize("problem", PROBLEMS, ids=by_slug)
def test_the_limits_are_sane(problem: Problem) -> None:
    limits = problem.limits
    assert 0 < limits.test_timeout_s < limits.suite_cpu_s <= 150, limits  # a suite's backstop is 4x + 2 s
    assert 256 <= limits.memory_mb <= 16 * 1024, limits
    assert 1 <= problem.threads <= 8
    assert 5 <= problem.estimated_minutes <= 180
    for dtype, (atol, rtol) in problem.tolerances.items():
        assert 0 <= atol < 1 and 0 <= rtol < 1 and (atol or rtol), dtype


@pytest.mark.parametrize("problem", [p for p in PROBLEMS if p.forbidden], ids=by_slug)
def test_forbidden_names_exist_in_the_installed_torch(problem: Problem) -> None:
    missing = [name for name in problem.forbidden if not _resolves(name)]
    assert not missing, f"forbidden names that do not resolve (the worker would not block them): {missing}"


@pytest.mark.parametrize("problem", PROBLEMS, ids=by_slug)
def test_the_stub_raises_not_implemented_error(problem: Problem) -> None:
    """Every entry point that is not a plain dataclass raises NotImplementedError somewhere in its body."""
    tree = ast.parse(problem.stub.read_text(), str(problem.stub))
    definitions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef | ast.ClassDef)}
    silent = [
        name
        for name in problem.entry_points
        if name not in problem.dataclasses and not _raises_not_implemented(definitions[name])
    ]
    assert not silent, f"stub entry points that do not raise NotImplementedError: {silent}"


@pytest.mark.parametrize("problem", PROBLEMS, ids=by_slug)
def test_checker_side_helper_modules_import_by_plain_name(problem: Problem) -> None:
    helpers = sorted(p for p in problem.path.glob("*.py") if p.name not in FILES_NOT_HELPERS)
    sys.path.insert(0, str(problem.path))
    try:
        for path in helpers:
            assert importlib.import_module(path.stem).__file__ == str(path)
    finally:
        sys.path.remove(str(problem.path))
        for path in helpers:
            sys.modules.pop(path.stem, None)


@pytest.mark.parametrize("problem", PROBLEMS, ids=by_slug)
def test_each_problem_has_enough_wrong_solutions(problem: Problem) -> None:
    assert len(problem.wrong_solutions) >= MIN_WRONG_SOLUTIONS
    on_disk = {p.name for p in (problem.path / "wrong").iterdir() if p.suffix in (".patch", ".py")}
    assert set(problem.wrong_solutions) == on_disk


@pytest.mark.parametrize(("problem", "name"), WRONG, ids=lambda v: by_slug(v))
def test_a_wrong_solution_applies_names_its_bug_and_keeps_the_entry_points(problem: Problem, name: str) -> None:
    wrong = problem.wrong_solution(name)
    assert wrong.verdict in set(Verdict) - {Verdict.ACCEPTED, Verdict.INTERNAL_ERROR}
    if wrong.header:  # (files without one are the legacy layout, verdicts in problem.toml, being converted)
        assert wrong.is_patch or wrong.header.get("why-a-file"), f"{name}: a whole file says why it is not a patch"
        assert wrong.bug and "\n" not in wrong.bug, f"{name}: the header names the mistake in one line"
        if wrong.verdict in (Verdict.TIME_LIMIT_EXCEEDED, Verdict.MEMORY_LIMIT_EXCEEDED):
            assert wrong.header.get("measured"), f"{name}: a resource-limit verdict states what was measured"
    if wrong.is_patch:
        assert wrong.source(problem.reference) != problem.reference.read_text(), f"{name}: the patch changes nothing"
    module = load_wrong(problem.slug, name)
    missing = [entry for entry in problem.entry_points if not hasattr(module, entry)]
    assert not missing, f"{name}: the patched module lost {missing}"


# -- helpers -------------------------------------------------------------------------------------


def stated_tolerances(statement: str, dtype: str) -> list[tuple[float, float]]:
    """Every (atol, rtol) the statement gives `dtype`: "`float32` (1e-5, 1e-4)" or a "| float32 | 1e-5 | 1e-4 |" row."""
    text = " ".join(statement.split())
    name = rf"(?<![\w]){re.escape(dtype)}(?![\w])"
    number = r"([0-9][0-9.]*(?:e[+-]?[0-9]+)?)"
    found = re.findall(rf"`?{name}`?\s*\(\s*{number}\s*,\s*{number}\s*\)", text)
    found += re.findall(rf"\|\s*`?{name}`?\s*\|\s*{number}\s*\|\s*{number}\s*\|", text)
    return [(float(atol), float(rtol)) for atol, rtol in found]


def _names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.ClassDef)}


def _raises_not_implemented(node: ast.AST) -> bool:
    for child in ast.walk(node):
        if isinstance(child, ast.Raise) and child.exc is not None:
            target = child.exc.func if isinstance(child.exc, ast.Call) else child.exc
            if isinstance(target, ast.Name) and target.id == "NotImplementedError":
                return True
    return False


def _resolves(dotted: str) -> bool:
    """Whether `dotted` names something: the longest importable module prefix, then attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            owner: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attribute in parts[cut:]:
                owner = getattr(owner, attribute)
        except AttributeError:
            return False
        return True
    return False
