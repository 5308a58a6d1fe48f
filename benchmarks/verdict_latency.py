"""Benchmark: time to a verdict, bare in-process vs the local backend vs the docker sandbox.

    python benchmarks/verdict_latency.py                      # sandbox-probe and toy-add, 3 runs each
    python benchmarks/verdict_latency.py --repeats 5 --problem tests/fixtures/problems/toy-add
    python benchmarks/verdict_latency.py --problem problems/react-agent --suite hidden

Rows per problem (the reference solution on the hidden suite, each run from a cold start):
  bare     `python -m judge_harness.inprocess`: the tests with the submission imported in the
           same process; no worker, no limits, no isolation (the floor)
  local    judge.runner.run with the local backend: checker + worker subprocesses, signed result
  docker   judge.runner.run with the docker backend: a fresh hardened container per run

Columns: median and min seconds from start to verdict, and the median relative to bare. The
docker row needs an engine and `judge sandbox build`; without them it is skipped and says why.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from judge import runner
from judge.backends import BackendError
from judge.backends.local import HARNESS_ROOT, LocalBackend
from judge.catalog import Problem, load_problem

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PROBLEMS = [
    REPO_ROOT / "tests" / "adversarial" / "problems" / "sandbox-probe",  # no torch in the worker
    REPO_ROOT / "tests" / "fixtures" / "problems" / "toy-add",  # torch, hypothesis, records, callbacks
]


def time_bare(problem: Problem, suite: str) -> float:
    env = dict(os.environ, PYTHONPATH=str(HARNESS_ROOT))
    command = [sys.executable, "-m", "judge_harness.inprocess", str(problem.path), str(problem.reference), suite]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    seconds = time.monotonic() - started
    if "overall: Accepted" not in done.stdout:
        raise RuntimeError(f"bare run of {problem.slug} was not Accepted:\n{done.stdout[-1500:]}{done.stderr[-1500:]}")
    return seconds


def time_backend(backend: object) -> Callable[[Problem, str], float]:
    def run(problem: Problem, suite: str) -> float:
        started = time.monotonic()
        result = runner.run(problem, problem.reference, suite, backend)
        seconds = time.monotonic() - started
        if result.verdict.value != "Accepted":
            raise RuntimeError(f"{backend.name} run of {problem.slug}: {result.verdict.value} {result.message}")
        return seconds

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problem", type=Path, action="append", help="a problem folder (repeatable)")
    parser.add_argument("--suite", default="hidden", choices=["public", "hidden"])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    modes: list[tuple[str, Callable[[Problem, str], float] | None, str]] = [
        ("bare", time_bare, ""),
        ("local", time_backend(LocalBackend()), ""),
    ]
    try:
        from judge.backends.docker import DockerBackend

        modes.append(("docker", time_backend(DockerBackend.connect()), ""))
    except BackendError as exc:
        modes.append(("docker", None, f"skipped: {exc}"))

    print(
        f"{'problem':<16} {'mode':<7} {'median s':>9} {'min s':>7} {'x bare':>7}   (n={args.repeats}, {args.suite} suite)"
    )
    for folder in args.problem or DEFAULT_PROBLEMS:
        problem = load_problem(folder.resolve())
        bare_median = None
        for name, measure, note in modes:
            if measure is None:
                print(f"{problem.slug:<16} {name:<7} {note}")
                continue
            times = [measure(problem, args.suite) for _ in range(args.repeats)]
            median = statistics.median(times)
            bare_median = bare_median or median
            print(
                f"{problem.slug:<16} {name:<7} {median:9.2f} {min(times):7.2f} {median / bare_median:7.2f}", flush=True
            )


if __name__ == "__main__":
    main()
