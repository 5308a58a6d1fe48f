"""judge/verify.py's parts that need no judging: the interface check and the plan of checks.

(`judge verify` end to end, judging every check, is in tests/test_cli.py.)
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from judge.catalog import Problem, load_problem
from judge.staging import Submission
from judge.verify import check_interface, expects_rejection, plan, public_interface, sample_wrong
from judge.wrong import make_patch
from judge_harness.schema import Verdict

from .conftest import FIXTURE_PROBLEMS


def write(path: Path, source: str) -> Path:
    path.write_text(textwrap.dedent(source))
    return path


@pytest.fixture
def toy(tmp_path: Path) -> Problem:
    """A copy of the toy fixture problem that a test may edit."""
    shutil.copytree(FIXTURE_PROBLEMS / "toy-add", tmp_path / "toy-add")
    return load_problem(tmp_path / "toy-add")


def test_public_interface_reads_signatures_without_importing(tmp_path: Path) -> None:
    path = write(
        tmp_path / "m.py",
        """
        import no_such_module_anywhere

        def add(a: int, b: int = 2) -> int: ...
        def _private(x): ...
        class Cache(Base):
            size: int
            def __init__(self, window: int) -> None: ...
            def __repr__(self): ...
            def step(self, q, *, k=None): ...
            def _helper(self): ...
        """,
    )
    assert public_interface(path) == {
        "add": "(a: int, b: int=2) -> int",
        "Cache": "class(Base)",
        "Cache.size": "int",
        "Cache.__init__": "(self, window: int) -> None",
        "Cache.step": "(self, q, *, k=None)",
    }


def test_the_toy_stub_matches_its_reference(toy: Problem) -> None:
    check = check_interface(toy)
    assert (check.ok, check.actual, check.detail) == (True, "matches", "")


def test_a_changed_signature_or_a_missing_entry_point_is_named(toy: Problem) -> None:
    source = toy.stub.read_text().replace("def apply(f, x):", "def apply(f, x, y):")
    toy.stub.write_text(source.replace("def add(", "def _add("))
    check = check_interface(toy)
    assert not check.ok and check.actual == "differs"
    assert "apply: stub (f, x, y) vs reference (f, x)" in check.detail
    assert "add: stub (missing) vs reference (a, b)" in check.detail
    assert "entry points missing from the stub: add" in check.detail


def test_a_dunder_only_the_reference_has_does_not_count(toy: Problem) -> None:
    toy.reference.write_text(toy.reference.read_text() + "\n\nclass Extra:\n    def __len__(self):\n        return 0\n")
    toy.stub.write_text(toy.stub.read_text() + "\n\nclass Extra:\n    pass\n")
    assert check_interface(toy).ok


def test_plan_lists_reference_stub_and_every_wrong_solution(toy: Problem) -> None:
    jobs = plan(toy)
    assert [(check.label, check.expected, suite) for check, _, suite in jobs] == [
        ("reference (public)", "Accepted", "public"),
        ("reference (hidden)", "Accepted", "hidden"),
        ("stub (hidden)", "rejected", "hidden"),
        *[(f"wrong/{name}", verdict.value, "hidden") for name, verdict in sorted(toy.wrong_solutions.items())],
    ]
    assert [expects_rejection(check) for check, _, _ in jobs[:3]] == [False, False, True]


def test_plan_judges_a_patch_in_memory_and_marks_one_that_no_longer_applies(toy: Problem) -> None:
    reference = toy.reference.read_text()
    edited = reference.replace("return Pair(pair.right, pair.left)", "return Pair(pair.left, pair.right)")
    assert edited != reference
    patch = make_patch(
        toy.reference,
        edited,
        verdict=Verdict.WRONG_ANSWER,
        bug="swap returns the pair unchanged",
        repo_relative="reference.py",
    )
    (toy.path / "wrong" / "no_swap.patch").write_text(patch)
    by_label = {check.label: (check, what) for check, what, _ in plan(load_problem(toy.path))}
    check, submission = by_label["wrong/no_swap.patch"]
    assert isinstance(submission, Submission) and "return Pair(pair.left, pair.right)" in submission.source
    assert check.expected == "Wrong Answer" and not check.actual  # still to judge
    toy.reference.write_text(reference.replace("return Pair(pair.right, pair.left)", "return Pair(b=0, a=1)"))
    check, _ = {c.label: (c, w) for c, w, _ in plan(load_problem(toy.path))}["wrong/no_swap.patch"]
    assert check.actual == "patch does not apply" and "no_swap.patch" in check.detail


def test_a_wrong_sample_judges_every_backend_sensitive_one_and_a_seeded_few_others() -> None:
    from judge.catalog import load_catalog
    from judge.paths import PROBLEMS_DIR

    problem = load_catalog([PROBLEMS_DIR]).get("quantized-autograd")
    declared = problem.wrong_solutions
    others = {name for name, verdict in declared.items() if verdict is not Verdict.WRONG_ANSWER}
    assert others and len(declared) - len(others) > 2  # the bank's problem with the most of both kinds
    chosen = sample_wrong(problem, 2)
    assert others <= chosen and len(chosen - others) == 2
    assert all(declared[name] is Verdict.WRONG_ANSWER for name in chosen - others)
    assert sample_wrong(problem, 2) == chosen  # seeded by the slug: the same draw every run
    assert sample_wrong(problem, 0) == others and sample_wrong(problem, 1000) == set(declared)
    labels = [check.label for check, _, _ in plan(problem, wrong_sample=2)]
    assert labels[:3] == ["reference (public)", "reference (hidden)", "stub (hidden)"]
    assert sorted(labels[3:]) == sorted(f"wrong/{name}" for name in chosen)


def test_a_wrong_sample_still_fails_a_patch_that_no_longer_applies(toy: Problem) -> None:
    (name,) = toy.wrong_solutions
    toy.reference.write_text(toy.reference.read_text().replace("return", "return  "))  # every hunk's context moves
    problem = load_problem(toy.path)
    assert sample_wrong(problem, 0) == set()  # not drawn (toy's only wrong solution is a Wrong Answer) ...
    (check,) = [check for check, _, _ in plan(problem, wrong_sample=0) if check.label == f"wrong/{name}"]
    assert check.actual == "patch does not apply"  # ... and still a failed check
