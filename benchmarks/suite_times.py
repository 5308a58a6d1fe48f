"""Benchmark: per problem, the reference's hidden-suite wall time, its number of tests, and verify's total.

    python benchmarks/suite_times.py                           # every problem, local backend
    python benchmarks/suite_times.py sliding-window-attention react-agent --json
    python benchmarks/suite_times.py --jobs 2 --backend docker
    python benchmarks/suite_times.py --hidden-only             # only the references' hidden suites

One run per problem, never cached: `judge verify` for that problem (the reference on both suites,
the stub and every wrong solution, each rejection stopping at its first failing test; no mutant
sample unless --mutants), with its results held in a scratch cache so the reference's hidden run
can be read back for its wall time and test count. Columns:
  hidden s   the reference's hidden suite, start to verdict (what the 15 s target is about)
  tests      how many tests the hidden suite ran
  verify s   wall time of the whole verify of the problem
  checks     checks run, and how many failed (a failed check is printed under the table)
With --hidden-only the reference's hidden suite is run alone (no verify). Each row is printed
as soon as its problem is done. Timings depend on the machine and its load; compare runs made
side by side.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from judge import runner
from judge.backends import select
from judge.backends.base import Backend
from judge.catalog import Problem, load_catalog
from judge.staging import read_submission
from judge.verify import ResultCache, verify


def measure(problem: Problem, backend: Backend, jobs: int, mutants: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="suite-times-") as scratch:
        cache = ResultCache(Path(scratch), backend.name, "benchmark")
        started = time.monotonic()
        checks = verify([problem], backend, jobs=jobs, mutants=mutants, cache=cache)
        verify_s = time.monotonic() - started
        key = cache.key(problem.content_hash(), read_submission(problem.reference), "hidden", False)
        hidden = cache.get(key)
    failed = [c for c in checks if not c.ok]
    return {
        "problem": problem.slug,
        "hidden_s": round(hidden.wall_s, 2) if hidden else None,
        "hidden_verdict": hidden.verdict.value if hidden else "not run",
        "tests": len(hidden.tests) if hidden else 0,
        "verify_s": round(verify_s, 2),
        "checks": len(checks),
        "failed": [f"{c.label}: expected {c.expected}, got {c.actual}" for c in failed],
    }


def measure_hidden(problem: Problem, backend: Backend) -> dict[str, Any]:
    result = runner.run(problem, problem.reference, "hidden", backend)
    failed = [] if result.verdict.value == "Accepted" else [f"reference hidden: got {result.verdict.value}"]
    return {
        "problem": problem.slug,
        "hidden_s": round(result.wall_s, 2),
        "hidden_verdict": result.verdict.value,
        "tests": len(result.tests),
        "verify_s": None,
        "checks": 1,
        "failed": failed,
    }


def table_row(row: dict[str, Any]) -> str:
    hidden = f"{row['hidden_s']:.1f}" if row["hidden_s"] is not None else "-"
    verify_s = f"{row['verify_s']:.1f}" if row["verify_s"] is not None else "-"
    checks = f"{row['checks'] - len(row['failed'])}/{row['checks']}"
    return f"{row['problem']:32} {hidden:>9} {row['tests']:>6} {verify_s:>9} {checks:>8}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("slugs", nargs="*", help="problems (default: all)")
    parser.add_argument("--backend", default="local", choices=["local", "docker", "auto"])
    parser.add_argument("--jobs", type=int, default=1, help="checks side by side within a problem")
    parser.add_argument("--mutants", type=int, default=0, help="mutant sample per problem (default 0: off)")
    parser.add_argument("--hidden-only", action="store_true", help="run only each reference's hidden suite")
    parser.add_argument("--json", action="store_true", help="one JSON document instead of the table")
    args = parser.parse_args()
    catalog = load_catalog()
    try:
        problems = [catalog.get(slug) for slug in args.slugs] if args.slugs else list(catalog.problems.values())
    except LookupError as exc:
        sys.exit(f"error: {exc}")
    backend = select(args.backend, warn=lambda message: print(message, file=sys.stderr))
    if not args.json:
        print(f"{'problem':32} {'hidden s':>9} {'tests':>6} {'verify s':>9} {'checks':>8}", flush=True)
    rows = []
    for problem in problems:
        print(f"{'timing' if args.hidden_only else 'verifying'} {problem.slug} ...", file=sys.stderr)
        if args.hidden_only:
            rows.append(measure_hidden(problem, backend))
        else:
            rows.append(measure(problem, backend, args.jobs, args.mutants))
        if not args.json:
            print(table_row(rows[-1]), flush=True)
    if args.json:
        print(json.dumps({"backend": backend.name, "jobs": args.jobs, "problems": rows}, indent=2))
        return
    for row in rows:
        for failure in row["failed"]:
            print(f"FAIL {row['problem']} {failure}")
    slowest = max((row for row in rows if row["hidden_s"] is not None), key=lambda row: row["hidden_s"], default=None)
    print(f"backend {backend.name}, {args.jobs} job(s); the hidden suite's target is 15 s on an idle machine", end="")
    print(f"; slowest: {slowest['problem']} {slowest['hidden_s']:.1f} s" if slowest else "")
    if any(row["failed"] for row in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
