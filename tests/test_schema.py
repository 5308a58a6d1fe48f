"""The result document: its shape, its version, and the verdict priority."""

from __future__ import annotations

import json

import pytest

from judge_harness.schema import PRIORITY, SCHEMA_VERSION, RunResult, TestResult, Verdict, worst

DOCUMENT_KEYS = {
    "schema_version",
    "judged_by",
    "verdict",
    "problem",
    "suite",
    "tests",
    "counts",
    "passed",
    "total",
    "wall_s",
    "peak_bytes",
    "problem_hash",
    "submission_hash",
    "judge_version",
    "backend",
    "message",
}
TEST_KEYS = {"id", "verdict", "duration_s", "message", "output", "peak_bytes", "cpu_s"}


def sample() -> RunResult:
    return RunResult(
        verdict=Verdict.WRONG_ANSWER,
        problem="toy-add",
        suite="hidden",
        tests=[
            TestResult("t.py::a", Verdict.ACCEPTED, 0.5),
            TestResult("t.py::b", Verdict.WRONG_ANSWER, 0.25, "sum: shape (2,), expected (3,)", "hello", 1024),
        ],
        wall_s=1.5,
        backend="local",
    )


def test_document_has_every_documented_field() -> None:
    document = sample().as_json()
    assert set(document) == DOCUMENT_KEYS
    assert document["schema_version"] == SCHEMA_VERSION
    assert all(set(t) == TEST_KEYS for t in document["tests"])
    assert document["counts"]["Accepted"] == 1 and document["counts"]["Wrong Answer"] == 1
    assert set(document["counts"]) == {v.value for v in Verdict}
    assert (document["passed"], document["total"]) == (1, 2)
    json.dumps(document)  # plain JSON


def test_roundtrip_through_json() -> None:
    document = sample().as_json()
    again = RunResult.from_json(json.loads(json.dumps(document))).as_json()
    assert again == document


def test_other_schema_versions_are_refused() -> None:
    document = sample().as_json()
    document["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(ValueError, match="schema_version"):
        RunResult.from_json(document)


def test_priority_lists_every_verdict_once() -> None:
    assert sorted(v.value for v in PRIORITY) == sorted(v.value for v in Verdict)


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        ([Verdict.ACCEPTED, Verdict.ACCEPTED], Verdict.ACCEPTED),
        ([Verdict.ACCEPTED, Verdict.WRONG_ANSWER], Verdict.WRONG_ANSWER),
        ([Verdict.WRONG_ANSWER, Verdict.RUNTIME_ERROR], Verdict.RUNTIME_ERROR),
        ([Verdict.RUNTIME_ERROR, Verdict.TIME_LIMIT_EXCEEDED], Verdict.TIME_LIMIT_EXCEEDED),
        ([Verdict.TIME_LIMIT_EXCEEDED, Verdict.MEMORY_LIMIT_EXCEEDED], Verdict.MEMORY_LIMIT_EXCEEDED),
        ([Verdict.MEMORY_LIMIT_EXCEEDED, Verdict.OUTPUT_LIMIT_EXCEEDED], Verdict.OUTPUT_LIMIT_EXCEEDED),
        ([Verdict.OUTPUT_LIMIT_EXCEEDED, Verdict.COMPILATION_ERROR], Verdict.COMPILATION_ERROR),
        ([Verdict.COMPILATION_ERROR, Verdict.INTERNAL_ERROR], Verdict.INTERNAL_ERROR),
        ([], Verdict.INTERNAL_ERROR),
    ],
)
def test_worst_follows_priority(verdicts: list[Verdict], expected: Verdict) -> None:
    assert worst(verdicts) is expected
