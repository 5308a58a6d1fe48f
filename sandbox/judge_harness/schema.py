"""The result document: verdicts, per-test entries and the run result, versioned.

This is the one module that defines the JSON a run produces; the host (`judge`) and the
checker (inside the box) both import it. Bump SCHEMA_VERSION on any incompatible change.

Document (``RunResult.as_json()``)::

    {
      "schema_version": 1,
      "verdict": "Wrong Answer",            # worst per-test verdict, see PRIORITY
      "problem": "sliding-window-attention",
      "suite": "hidden",                    # or "public"
      "tests": [                            # in file order
        {"id": "test_hidden.py::test_basic", "verdict": "Accepted", "duration_s": 0.12,
         "message": "", "output": "", "peak_bytes": 1234}
      ],
      "counts": {"Accepted": 9, "Wrong Answer": 1, ...},   # every verdict, zeros included
      "passed": 9, "total": 10,
      "wall_s": 3.4, "peak_bytes": 123456789,
      "problem_hash": "sha256:...", "submission_hash": "sha256:...",
      "judge_version": "0.1.0", "backend": "local",
      "message": "",                         # run-level detail (compilation error, internal error)
      "judged_by": ""                        # the queue worker that judged it, if any
    }

``output`` holds the worker's stdout+stderr during that test, cut to OUTPUT_CAPTURE_BYTES.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

SCHEMA_VERSION = 1
OUTPUT_CAPTURE_BYTES = 4096  # captured output kept per test
# A line the checker writes to its stderr after each test when the host asks for progress (the
# live lines of `judge test`/`submit`): this prefix, then {"id", "verdict", "duration_s"} as JSON.
# Display only: the verdict is the signed result's.
PROGRESS_PREFIX = b"\x1ejudge-test "
OUTPUT_LIMIT_BYTES = 8 * 2**20  # total worker output allowed in one run: Output Limit Exceeded past it
MESSAGE_BYTES = 4096  # failure message kept per test
# Limits are CPU time (a test's, the suite's), so a loaded machine cannot turn a correct answer into
# a timeout; a call that sleeps or blocks spends none, and is stopped by the wall clock at this many
# times the limit (plus the fixed slack, for very small limits).
WALL_BACKSTOP_FACTOR = 4
WALL_BACKSTOP_SLACK_S = 2.0


def wall_backstop_s(cpu_limit_s: float) -> float:
    """The wall-clock backstop for a CPU-time limit: what ends a submission that sleeps or blocks."""
    return WALL_BACKSTOP_FACTOR * cpu_limit_s + WALL_BACKSTOP_SLACK_S


class Verdict(enum.StrEnum):
    ACCEPTED = "Accepted"
    WRONG_ANSWER = "Wrong Answer"
    TIME_LIMIT_EXCEEDED = "Time Limit Exceeded"
    MEMORY_LIMIT_EXCEEDED = "Memory Limit Exceeded"
    RUNTIME_ERROR = "Runtime Error"
    COMPILATION_ERROR = "Compilation Error"
    OUTPUT_LIMIT_EXCEEDED = "Output Limit Exceeded"
    INTERNAL_ERROR = "Internal Error"

    @property
    def short(self) -> str:
        return {
            "Accepted": "AC",
            "Wrong Answer": "WA",
            "Time Limit Exceeded": "TLE",
            "Memory Limit Exceeded": "MLE",
            "Runtime Error": "RE",
            "Compilation Error": "CE",
            "Output Limit Exceeded": "OLE",
            "Internal Error": "IE",
        }[self.value]


# The overall verdict is the per-test verdict that comes first in this list (worst first).
# The judge's own fault outranks everything; a submission that cannot load outranks what its
# tests did; resource verdicts outrank wrong answers because they cut tests short.
PRIORITY = [
    Verdict.INTERNAL_ERROR,
    Verdict.COMPILATION_ERROR,
    Verdict.OUTPUT_LIMIT_EXCEEDED,
    Verdict.MEMORY_LIMIT_EXCEEDED,
    Verdict.TIME_LIMIT_EXCEEDED,
    Verdict.RUNTIME_ERROR,
    Verdict.WRONG_ANSWER,
    Verdict.ACCEPTED,
]


def worst(verdicts: list[Verdict]) -> Verdict:
    """The overall verdict: the worst of `verdicts` under PRIORITY; no tests at all is an internal error."""
    if not verdicts:
        return Verdict.INTERNAL_ERROR
    return min(verdicts, key=PRIORITY.index)


@dataclasses.dataclass
class TestResult:
    __test__ = False  # not a pytest test class

    id: str
    verdict: Verdict
    duration_s: float = 0.0
    message: str = ""
    output: str = ""
    peak_bytes: int = 0
    cpu_s: float = 0.0  # CPU seconds the submission's worker (and its children) spent in this test

    def as_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["verdict"] = self.verdict.value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TestResult:
        return cls(
            id=str(data["id"]),
            verdict=Verdict(data["verdict"]),
            duration_s=float(data.get("duration_s", 0.0)),
            message=str(data.get("message", "")),
            output=str(data.get("output", "")),
            peak_bytes=int(data.get("peak_bytes", 0)),
            cpu_s=float(data.get("cpu_s", 0.0)),
        )


@dataclasses.dataclass
class RunResult:
    verdict: Verdict
    problem: str
    suite: str
    tests: list[TestResult] = dataclasses.field(default_factory=list)
    wall_s: float = 0.0
    peak_bytes: int = 0
    problem_hash: str = ""
    submission_hash: str = ""
    judge_version: str = ""
    backend: str = ""  # "" when no box ran
    message: str = ""
    judged_by: str = ""  # the queue worker that judged the run ("" when the caller judged it itself)

    @property
    def passed(self) -> int:
        return sum(t.verdict is Verdict.ACCEPTED for t in self.tests)

    @property
    def counts(self) -> dict[str, int]:
        counts = {v.value: 0 for v in Verdict}
        for test in self.tests:
            counts[test.verdict.value] += 1
        return counts

    def as_json(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "verdict": self.verdict.value,
            "problem": self.problem,
            "suite": self.suite,
            "tests": [t.as_json() for t in self.tests],
            "counts": self.counts,
            "passed": self.passed,
            "total": len(self.tests),
            "wall_s": round(self.wall_s, 3),
            "peak_bytes": self.peak_bytes,
            "problem_hash": self.problem_hash,
            "submission_hash": self.submission_hash,
            "judge_version": self.judge_version,
            "backend": self.backend or None,  # null: no box ran (a Compilation Error the host found)
            "message": self.message,
            "judged_by": self.judged_by,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunResult:
        if data.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"result schema_version {data.get('schema_version')!r}, expected {SCHEMA_VERSION}")
        return cls(
            verdict=Verdict(data["verdict"]),
            problem=str(data["problem"]),
            suite=str(data["suite"]),
            tests=[TestResult.from_json(t) for t in data.get("tests", [])],
            wall_s=float(data.get("wall_s", 0.0)),
            peak_bytes=int(data.get("peak_bytes", 0)),
            problem_hash=str(data.get("problem_hash", "")),
            submission_hash=str(data.get("submission_hash", "")),
            judge_version=str(data.get("judge_version", "")),
            backend=str(data.get("backend") or ""),
            message=str(data.get("message", "")),
            judged_by=str(data.get("judged_by", "")),
        )
