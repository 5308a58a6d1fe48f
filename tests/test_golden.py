"""Golden submissions for the toy fixture problem: each folder holds a submission and the result it must get.

expected.json pins the verdict, the tests passed and total, the non-zero verdict counts, and a
fragment of the first failing test's message (`message_contains`) or of the run's own message
(`run_message_contains`, when nothing ran).

Several are forgeries (exit early, fake output, write to the results channel, monkeypatch the
test machinery, hunt for the reference, patch the clock): none may be Accepted.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from judge import runner
from judge_harness.schema import Verdict

GOLDEN = Path(__file__).resolve().parent / "golden"
GUARD_PROBLEMS = Path(__file__).resolve().parent / "fixtures" / "guard_problems"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "submission.py").exists())


def guard_problem():
    """The input guard's fixture (outside fixtures/problems, so the toy catalog stays one problem)."""
    from judge.catalog import load_catalog

    return load_catalog([GUARD_PROBLEMS]).get("toy-guard")


def test_every_golden_case_pins_verdict_counts_and_a_message() -> None:
    assert len(CASES) >= 15
    for case in CASES:
        expected = json.loads((GOLDEN / case / "expected.json").read_text())
        verdict = Verdict(expected["verdict"])
        assert {"passed", "total", "counts"} <= set(expected), case
        assert sum(expected["counts"].values()) == expected["total"], case
        assert expected["counts"].get("Accepted", 0) == expected["passed"], case
        if verdict is not Verdict.ACCEPTED:
            assert {"message_contains", "run_message_contains"} & set(expected), f"{case}: pin a message fragment"


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_golden_local(case: str, toy_problem, local_backend) -> None:
    expected = json.loads((GOLDEN / case / "expected.json").read_text())
    problem = guard_problem() if expected.get("problem") == "toy-guard" else toy_problem
    contains = expected.pop("message_contains", None)
    run_contains = expected.pop("run_message_contains", None)
    counts = expected.pop("counts")
    result = runner.run(problem, GOLDEN / case / "submission.py", "hidden", local_backend)
    document = result.as_json()
    shown = json.dumps(document, indent=1)[:3000]
    assert {k: document[k] for k in expected} == expected, shown
    assert {verdict: n for verdict, n in document["counts"].items() if n} == counts, shown
    if contains:  # the first failing test's message
        failing = [t for t in document["tests"] if t["verdict"] != "Accepted"]
        assert failing and contains in failing[0]["message"], shown
    if run_contains:  # the run's own message (nothing ran: compilation errors)
        assert run_contains in document["message"], shown
    if problem is not toy_problem:
        return
    if case.startswith("forge_"):
        assert result.verdict is not Verdict.ACCEPTED
    if result.verdict not in (Verdict.COMPILATION_ERROR, Verdict.INTERNAL_ERROR):
        assert document["total"] == 6
