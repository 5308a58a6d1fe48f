"""The take-home report document, versioned: what `grading.grade` returns and report.json holds.

Like judge_harness.schema's RunResult: dataclasses with `as_json()` and `from_json()`, and a
`schema_version` that from_json checks. Bump SCHEMA_VERSION on any incompatible change.
report.py renders the JSON form (so a report.json read back renders the same).

Document (``Report.as_json()``)::

    {"schema_version": 1, "bundle_id", "created_at", "deadline", "graded_at", "judge_version", "backend",
     "problems": [{"slug", "title", "forbidden", "changed_since_bundle",
                   "reference": {"verdict", "passed", "total", "time_s", "peak_bytes"}   # when it ran
                              | {"verdict": null, "message"}}],                         # when it could not
     "candidates": [{"name", "folder", "status": "graded" | "errors" | "not graded",
                     "errors": [{"kind", "message"}], "modified_at", "late", "bundle_id", "deadline",
                     "seal": "sealed" | "no seal" | "invalid", "lateness",
                     "results": [{"problem", "verdict", "passed", "total", "message", "time_s", "time_ratio", "time_range", "timing",
                                  "peak_bytes", "memory_ratio", "late", "modified_at",
                                  "forbidden": [{"name", "line", "text"}], "flags", "failing"}]}],
     "similarity": {"threshold", "method", "pairs": [{"problem", "a", "b", "score"}]}}

Times are ISO 8601 UTC strings; `time_s` is the submission worker's CPU seconds on the problem's
timing workload (median of the runs; `timing` says how it was measured); ratios are to the
reference run alongside (None when the reference did not run or the cell is not Accepted:
a failed run's time says nothing). `flags` say where the code came from (unchanged from the
stub, matching the reference or a known-wrong solution); `failing` lists the tests not Accepted.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from judge.takehome.scan import ForbiddenUse

SCHEMA_VERSION = 1
CANDIDATE_STATUSES = ("graded", "errors", "not graded")


@dataclasses.dataclass
class ReferenceRun:
    """The reference solution's run on one problem, the yardstick of the ratios."""

    verdict: str | None
    passed: int | None = None
    total: int | None = None
    time_s: float | None = None
    peak_bytes: int | None = None
    message: str = ""  # why it could not run (verdict None)
    timing: str = ""  # how time_s and peak_bytes were measured (judge/takehome/timing.py)

    def as_json(self) -> dict[str, Any]:
        if self.verdict is None:
            return {"verdict": None, "message": self.message}
        return {
            "verdict": self.verdict,
            "passed": self.passed,
            "total": self.total,
            "time_s": self.time_s,
            "peak_bytes": self.peak_bytes,
            "timing": self.timing,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReferenceRun:
        if data["verdict"] is None:
            return cls(None, message=str(data.get("message", "")))
        return cls(
            data["verdict"],
            data["passed"],
            data["total"],
            data["time_s"],
            data["peak_bytes"],
            timing=data.get("timing", ""),
        )


@dataclasses.dataclass
class ProblemRow:
    slug: str
    title: str
    forbidden: list[str]
    changed_since_bundle: bool
    reference: ReferenceRun

    def as_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "reference": self.reference.as_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProblemRow:
        return cls(
            data["slug"],
            data["title"],
            list(data["forbidden"]),
            bool(data["changed_since_bundle"]),
            ReferenceRun.from_json(data["reference"]),
        )


@dataclasses.dataclass
class Cell:
    """One candidate on one problem."""

    problem: str
    verdict: str | None = None  # None: not judged (see message)
    passed: int | None = None
    total: int | None = None
    message: str = ""
    time_s: float | None = None
    time_ratio: float | None = None  # median over the timing runs of candidate / reference
    time_range: list[float] | None = None  # [lowest, highest] of those ratios
    timing: str = ""  # how time and memory were measured: "workload CPU, 5 runs" | "hidden suite CPU, 1 run"
    peak_bytes: int | None = None
    memory_ratio: float | None = None
    late: bool = False
    modified_at: str | None = None
    forbidden: list[ForbiddenUse] = dataclasses.field(default_factory=list)
    judged_by: str = ""  # the queue worker that judged it ("" when graded on the grader's machine)
    flags: list[str] = dataclasses.field(
        default_factory=list
    )  # "unchanged from the stub", "matches the reference 0.97"
    failing: list[str] = dataclasses.field(default_factory=list)  # ids of the tests that were not Accepted

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # ForbiddenUse's own as_json is asdict too

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Cell:
        fields = {f.name for f in dataclasses.fields(cls)} - {"forbidden"}
        return cls(
            **{k: data[k] for k in fields if k in data}, forbidden=[ForbiddenUse(**use) for use in data["forbidden"]]
        )


@dataclasses.dataclass
class CandidateRow:
    name: str
    folder: str
    status: str  # one of CANDIDATE_STATUSES
    errors: list[dict[str, str]]  # {"kind", "message"}, kinds from bundle.inspect
    modified_at: str | None
    late: bool
    results: list[Cell]
    bundle_id: str = ""  # the candidate's own bundle (a cohort has one per candidate)
    deadline: str = ""
    seal: str = "no seal"  # "sealed" | "no seal" | "invalid"
    lateness: str = ""  # "on time", "late by 3 h 12 min", "... (no seal: time from mtime, unverified)"

    def as_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "results": [cell.as_json() for cell in self.results]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CandidateRow:
        if data["status"] not in CANDIDATE_STATUSES:
            raise ValueError(f"candidate status {data['status']!r}, expected one of {CANDIDATE_STATUSES}")
        return cls(
            data["name"],
            data["folder"],
            data["status"],
            [dict(error) for error in data["errors"]],
            data["modified_at"],
            bool(data["late"]),
            [Cell.from_json(cell) for cell in data["results"]],
            **{key: str(data[key]) for key in ("bundle_id", "deadline", "seal", "lateness") if key in data},
        )


@dataclasses.dataclass
class Pair:
    """Two candidates' solutions of one problem that look alike."""

    problem: str
    a: str
    b: str
    score: float


@dataclasses.dataclass
class Similarity:
    threshold: float
    method: str
    pairs: list[Pair]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Similarity:
        return cls(data["threshold"], data["method"], [Pair(**pair) for pair in data["pairs"]])


@dataclasses.dataclass
class Report:
    bundle_id: str
    created_at: str
    deadline: str
    graded_at: str
    judge_version: str
    backend: str
    problems: list[ProblemRow]
    candidates: list[CandidateRow]
    similarity: Similarity

    def as_json(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            **{f.name: getattr(self, f.name) for f in dataclasses.fields(self)},
            "problems": [problem.as_json() for problem in self.problems],
            "candidates": [candidate.as_json() for candidate in self.candidates],
            "similarity": dataclasses.asdict(self.similarity),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Report:
        if data.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"report schema_version {data.get('schema_version')!r}, expected {SCHEMA_VERSION}")
        return cls(
            **{k: data[k] for k in ("bundle_id", "created_at", "deadline", "graded_at", "judge_version", "backend")},
            problems=[ProblemRow.from_json(problem) for problem in data["problems"]],
            candidates=[CandidateRow.from_json(candidate) for candidate in data["candidates"]],
            similarity=Similarity.from_json(data["similarity"]),
        )
