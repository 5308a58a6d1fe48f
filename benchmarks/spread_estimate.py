"""What spreading a suite over n boxes buys on a machine with n free cores, from measured test times.

    python benchmarks/spread_estimate.py                       # every problem, hidden suites
    python benchmarks/spread_estimate.py --problem dpo-loss --suite public --check

This machine has 2 cores, so a 4-box spread (what an 8-core laptop gets) cannot be timed here.
What can be measured is what the spread's wall time is made of. Each problem's reference runs its
suite once in one box (local backend): the test times `duration_s`, and the rest of the run's wall
time (staging, checker start, collection, worker start, teardown), which every box pays once in
parallel. With a box to each core, n boxes take

    estimate(n) = rest + max over shards i of (sum of duration_s of the tests with index % n == i)

(shard i holds the tests whose collection index is i modulo n, as judge.runner.spread deals them).
`--check` also times a real 2-box spread here and prints it beside estimate(2): on a 2-core machine
that is the one case where the model can be compared with a measurement (a busy machine makes
both the single and the spread run slower, so compare it when the load is low).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from judge import runner
from judge.backends.local import LocalBackend
from judge.catalog import load_catalog


def shard_times(durations: list[float], n: int) -> list[float]:
    return [sum(d for k, d in enumerate(durations) if k % n == i) for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problem", action="append", help="a slug (repeatable; default: the bank)")
    parser.add_argument("--suite", default="hidden", choices=["public", "hidden"])
    parser.add_argument("--check", action="store_true", help="also time a real 2-box spread")
    args = parser.parse_args()
    catalog = load_catalog()
    problems = [catalog.get(slug) for slug in args.problem] if args.problem else list(catalog.problems.values())
    backend = LocalBackend()
    header = f"{'problem':<32}{'tests':>6}{'1 box':>8}{'rest':>7}{'est 2':>7}{'est 4':>7}{'x4':>6}"
    print(header + (f"{'real 2':>8}" if args.check else ""), flush=True)
    speedups = []
    for problem in problems:
        runner.run(problem, problem.reference, "public", backend)  # starts the fork server for its preload list
        started = time.monotonic()
        result = runner.run(problem, problem.reference, args.suite, backend)
        wall = time.monotonic() - started
        if result.verdict.value != "Accepted":
            print(f"{problem.slug:<32} reference not Accepted: {result.verdict.value} {result.message[:80]}")
            continue
        if problem.max_workers == 1:
            print(f"{problem.slug:<32}{len(result.tests):>6}{wall:>8.2f}   (workers = 1: never spread)")
            continue
        durations = [t.duration_s for t in result.tests]
        rest = max(0.0, wall - sum(durations))
        estimate = {n: rest + max(shard_times(durations, n)) for n in (2, 4)}
        speedups.append(wall / estimate[4])
        line = f"{problem.slug:<32}{len(durations):>6}{wall:>8.2f}{rest:>7.2f}{estimate[2]:>7.2f}{estimate[4]:>7.2f}{wall / estimate[4]:>6.2f}"
        if args.check:
            started = time.monotonic()
            runner.run(problem, problem.reference, args.suite, backend, workers=2)
            line += f"{time.monotonic() - started:>8.2f}"
        print(line, flush=True)
    if speedups:
        print(
            f"\n{len(speedups)} problems, {args.suite} suites: 4 boxes on 4 free cores would take the one-box time "
            f"divided by {statistics.median(speedups):.2f} (median; {min(speedups):.2f}-{max(speedups):.2f}); "
            f"load {os.getloadavg()[0]:.1f} while measured"
        )


if __name__ == "__main__":
    main()
