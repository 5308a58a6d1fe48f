"""Benchmark: per problem, the reference's hidden-suite wall time, its number of tests, and verify's total.

    python benchmarks/suite_times.py                           # every problem, local backend
    python benchmarks/suite_times.py sliding-window-attention react-agent --json
    python benchmarks/suite_times.py --jobs 2 --backend docker

One run per problem, never cached: `judge verify` for that problem (the reference on both suites,
the stub and every wrong solution, each rejection stopping at its first failing test; no mutant
sample unless --mutants), with its results held in a scratch cache so the reference's hidden run
can be read back for its wall time and test count. Columns:
  hidden s   the reference's hidden suite, start to verdict (what the 15 s target is about)
  tests      how many tests the hidden suite ran
  verify s   wall time of the whole verify of the problem
  checks     checks run, and how many failed (a failed check is printed under the table)
Timings depend on the machine and its load; compare runs made side by side.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("slugs", nargs="*", help="problems (default: all)")
    parser.add_argument("--backend", default="local", choices=["local", "docker", "auto"])
    parser.add_argument("--jobs", type=int, default=1, help="checks side by side within a problem")
    parser.add_argument("--mutants", type=int, default=0, help="mutant sample per problem (default 0: off)")
    parser.add_argument("--json", action="store_true", help="one JSON document instead of the table")
    args = parser.parse_args()
    catalog = load_catalog()
    try:
        problems = [catalog.get(slug) for slug in args.slugs] if args.slugs else list(catalog.problems.values())
    except LookupError as exc:
        sys.exit(f"error: {exc}")
    backend = select(args.backend, warn=lambda message: print(message, file=sys.stderr))
    rows = []
    for problem in problems:
        print(f"verifying {problem.slug} ...", file=sys.stderr)
        rows.append(measure(problem, backend, args.jobs, args.mutants))
    if args.json:
        print(json.dumps({"backend": backend.name, "jobs": args.jobs, "problems": rows}, indent=2))
        return
    print(f"{'problem':32} {'hidden s':>9} {'tests':>6} {'verify s':>9} {'checks':>8}")
    for row in rows:
        hidden = f"{row['hidden_s']:.1f}" if row["hidden_s"] is not None else "-"
        checks = f"{row['checks'] - len(row['failed'])}/{row['checks']}"
        print(f"{row['problem']:32} {hidden:>9} {row['tests']:>6} {row['verify_s']:>9.1f} {checks:>8}")
    for row in rows:
        for failure in row["failed"]:
            print(f"FAIL {row['problem']} {failure}")
    print(f"backend {backend.name}, {args.jobs} job(s); the hidden suite's target is 15 s on an idle machine")


if __name__ == "__main__":
    main()
