"""The problem checklist: every problem's [checklist] names existing hidden tests for each item, and
every error case of the statement's `<!-- raises -->` list has a test that expects that exception."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from judge.catalog import load_catalog, load_problem
from judge.checklist import ITEMS, marked_cases, problems
from judge.paths import PROBLEMS_DIR

from .conftest import FIXTURE_PROBLEMS

# Problems whose [checklist] is still being written. Strict: once a problem's table passes, this
# test fails until its slug leaves the set; when the set is empty, every problem must pass.
PENDING: set[str] = set()

BANK = load_catalog([PROBLEMS_DIR]).problems


@pytest.mark.parametrize(
    "slug",
    [
        pytest.param(slug, marks=pytest.mark.xfail(strict=True, reason="[checklist] not written yet"))
        if slug in PENDING
        else slug
        for slug in sorted(BANK)
    ],
)
def test_every_problem_meets_the_checklist(slug: str) -> None:
    found = problems(BANK[slug])
    assert not found, "\n".join(found)


def test_pending_names_only_real_problems() -> None:
    assert PENDING <= set(BANK)


STATEMENT_LIST = """
Errors:

<!-- raises -->
- `a` is not a tensor: `TypeError`.
- `b` has another shape than `a`:
  `ValueError` naming both shapes.

Later text.
"""

HIDDEN = """
from judge_harness import expect_raises


def check_shape(candidate):
    with expect_raises("ValueError"):
        candidate.add(1, 2)


def test_sum(candidate):
    pass


def test_type(candidate):
    with expect_raises("TypeError"):
        candidate.add("a", 1)


def test_shape(candidate):
    check_shape(candidate)


def test_no_raise(candidate):
    candidate.add(1, 2)
"""

CHECKLIST = """
[checklist]
state_across_calls = ["test_sum"]
state_across_instances = ["test_sum[two]"]
autograd_graph = "n/a: no autograd here"
caller_data = ["test_sum"]
input_variants = ["test_sum"]
falsy_values = ["test_sum"]
extremes = ["test_sum"]

[[checklist.raises]]
case = "is not a tensor"
tests = ["test_type"]

[[checklist.raises]]
case = "another shape"
tests = ["test_shape"]
"""


def make(tmp_path: Path, checklist: str = CHECKLIST, hidden: str = HIDDEN, statement: str = STATEMENT_LIST) -> Path:
    target = tmp_path / "toy-add"
    shutil.copytree(FIXTURE_PROBLEMS / "toy-add", target)
    (target / "problem.toml").write_text((target / "problem.toml").read_text() + checklist)
    (target / "test_hidden.py").write_text(hidden)
    (target / "statement.md").write_text(statement)
    return target


def test_marked_cases_reads_one_bullet_per_case() -> None:
    assert marked_cases(STATEMENT_LIST) == [
        "`a` is not a tensor: `TypeError`.",
        "`b` has another shape than `a`: `ValueError` naming both shapes.",
    ]
    assert marked_cases("no marker\n- a bullet\n") == []


def test_a_complete_checklist_passes(tmp_path: Path) -> None:
    assert problems(load_problem(make(tmp_path))) == []


@pytest.mark.parametrize(
    "edit, expected",
    [
        (lambda c, h, s: (c.replace('extremes = ["test_sum"]\n', ""), h, s), "checklist.extremes: missing"),
        (lambda c, h, s: (c.replace('"n/a: no autograd here"', '"no autograd"'), h, s), 'must read "n/a: <why'),
        (
            lambda c, h, s: (c.replace('extremes = ["test_sum"]', 'extremes = ["test_gone"]'), h, s),
            "no test 'test_gone'",
        ),
        (lambda c, h, s: (c.replace('extremes = ["test_sum"]', "extremes = []"), h, s), "non-empty list"),
        (lambda c, h, s: (c.replace("[checklist]", "[checklist]\nspeed = ['test_sum']"), h, s), "unknown item 'speed'"),
        (lambda c, h, s: (c.replace('tests = ["test_shape"]', 'tests = ["test_no_raise"]'), h, s), "does not call"),
        (
            lambda c, h, s: (c.replace('tests = ["test_type"]', 'tests = ["test_shape"]'), h, s),
            "expect_raises('TypeError')",
        ),
        (lambda c, h, s: (c.split("[[checklist.raises]]")[0], h, s), "no entry for the statement's error case"),
        (lambda c, h, s: (c.replace('case = "another shape"', 'case = "`a`"'), h, s), "is in 2 bullets"),
        (lambda c, h, s: (c, h, s.replace("<!-- raises -->", "")), "no `<!-- raises -->` list"),
        (lambda c, h, s: ("", h, s), "[checklist] table"),
    ],
)
def test_each_gap_is_reported(tmp_path: Path, edit, expected: str) -> None:
    checklist, hidden, statement = edit(CHECKLIST, HIDDEN, STATEMENT_LIST)
    found = problems(load_problem(make(tmp_path, checklist, hidden, statement)))
    assert any(expected in line for line in found), found


def test_items_are_documented() -> None:
    docs = (Path(__file__).resolve().parent.parent / "docs" / "problem-format.md").read_text()
    for item in ITEMS:
        assert f"`{item}`" in docs
