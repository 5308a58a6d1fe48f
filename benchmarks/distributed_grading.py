"""A take-home batch graded directly and through 1, 2 and 3 `judge worker`s, in one run.

    python benchmarks/distributed_grading.py [--candidates 12] [--json]

The batch is N candidates x 2 fixture problems (queue-add, no torch in the worker; toy-add,
torch), each candidate the reference with a comment of its own, graded with `grading.grade`
exactly as `judge takehome grade` does: directly on the local backend with `--jobs 2`, then
through a real Redis (loopback, password) and 1, 2 and 3 worker processes (local backend, one
slot each), with the caller running as many runs at a time as there are workers plus one.
Printed per configuration: wall time, throughput (runs per minute), and, for the queue, its
overhead per run: enqueue to the worker's start plus the worker's finish to the result in the
caller's hands (packing, Redis round trips, the worker's pick-up delay and the result's way
back), medians over runs judged one at a time so no run waits for a busy worker, interleaved
with direct runs whose wall-time difference is shown as a cross-check.

On this 2-core machine the workers share two cores with each other and with the caller, so
more workers cannot add throughput here; the figures that carry over to a cluster are the
overhead per run and that throughput does not fall as workers are added. N machines with one
engine each give about N times one machine's throughput while the overhead stays per run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "sandbox")]

from judge import distributed, runner  # noqa: E402
from judge.backends.local import LocalBackend  # noqa: E402
from judge.catalog import load_catalog  # noqa: E402
from judge.localqueue import Workers, redis_server  # noqa: E402
from judge.takehome import bundle as takehome  # noqa: E402
from judge.takehome import grading  # noqa: E402

PROBLEM_ROOTS = [ROOT / "tests" / "fixtures" / "queue-problems", ROOT / "tests" / "fixtures" / "problems"]
SLUGS = ("queue-add", "toy-add")
PASSWORD = "benchmark-secret"


def make_batch(root: Path, catalog, candidates: int) -> tuple[takehome.Bundle, list[Path]]:
    problems = [catalog.get(slug) for slug in SLUGS]
    bundle = takehome.create_bundle(problems, root / "bundle", hours=24)
    folders = []
    for index in range(candidates):
        folder = root / "returned" / f"candidate-{index:02d}"
        shutil.copytree(root / "bundle", folder)
        for problem in problems:
            source = problem.reference.read_text()
            (folder / problem.slug / f"{problem.module_name}.py").write_text(f"# candidate {index}\n{source}")
        folders.append(folder)
    return bundle, folders


def grade_once(bundle, folders, catalog, backend, jobs: int) -> tuple[float, dict]:
    started = time.monotonic()
    report = grading.grade(bundle, folders, catalog, backend, jobs=jobs)
    return time.monotonic() - started, report


def verdicts(report) -> list[str]:
    """Every graded cell's verdict, in a stable order, to check the configurations agree."""
    document = report.as_json()
    cells = []
    for candidate in document["candidates"]:
        for cell in candidate["results"]:
            cells.append(f"{candidate['name']}/{cell['problem']}={cell['verdict']}")
    return sorted(cells)


def overhead_per_run(url: str, catalog, runs: int = 6) -> dict[str, float]:
    """Medians over runs judged one at a time, queued and direct interleaved (so both see the same load).

    The queue's own cost is its two hops, read from the caller's clock: enqueue to the worker's
    start, and the worker's finish to the result in the caller's hands. The difference of the
    two medians' wall times is printed beside it as a cross-check (noisy: it subtracts two
    checker runs of a few seconds each).
    """
    problem = catalog.get("queue-add")
    queue_backend, local = distributed.QueueBackend(url, priority="takehome"), LocalBackend()
    walls: dict[str, list[float]] = {"queued": [], "direct": []}
    for _ in range(runs):
        for name, backend in (("queued", queue_backend), ("direct", local)):
            started = time.monotonic()
            runner.run(problem, problem.reference, "hidden", backend)
            walls[name].append(time.monotonic() - started)
    waited = statistics.median(w for w, _ in queue_backend.overheads)
    returned = statistics.median(r for _, r in queue_backend.overheads)
    return {
        "overhead_s": waited + returned,
        "enqueue_to_start_s": waited,
        "finish_to_result_s": returned,
        "wall_difference_s": statistics.median(walls["queued"]) - statistics.median(walls["direct"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--candidates", type=int, default=12)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if shutil.which("redis-server") is None:
        raise SystemExit("needs redis-server (Debian: apt-get install redis-server)")
    catalog = load_catalog(PROBLEM_ROOTS)
    rows = []
    with tempfile.TemporaryDirectory(prefix="judge-bench-") as tmp:
        bundle, folders = make_batch(Path(tmp), catalog, args.candidates)
        runs = len(folders) * len(SLUGS) + len(SLUGS)  # the references run too
        wall, report = grade_once(bundle, folders, catalog, LocalBackend(), jobs=2)
        expected = verdicts(report)
        rows.append({"configuration": "direct (local, --jobs 2)", "wall_s": wall, "runs": runs})
        with redis_server(Path(tmp), PASSWORD) as url:
            overhead = None
            for count in (1, 2, 3):
                workers = Workers(url, stderr=subprocess.DEVNULL)
                workers.start(count)
                try:
                    if count == 1:
                        overhead = overhead_per_run(url, catalog)
                    backend = distributed.QueueBackend(url, priority="takehome")
                    wall, report = grade_once(bundle, folders, catalog, backend, jobs=count + 1)
                    agree = verdicts(report) == expected
                    rows.append(
                        {"configuration": f"queue, {count} worker(s)", "wall_s": wall, "runs": runs, "agree": agree}
                    )
                finally:
                    workers.stop()
    for row in rows:
        row["runs_per_min"] = round(row["runs"] / row["wall_s"] * 60, 1)
        row["wall_s"] = round(row["wall_s"], 1)
    overhead = {key: round(value, 3) for key, value in (overhead or {}).items()}
    document = {"candidates": args.candidates, "problems": list(SLUGS), "queue_overhead": overhead, "rows": rows}
    if args.json:
        print(json.dumps(document, indent=2))
        return
    print(
        f"take-home batch: {args.candidates} candidates x {len(SLUGS)} problems ({rows[0]['runs']} runs with the references)"
    )
    print(f"{'configuration':<28} {'wall':>8} {'runs/min':>9}  verdicts")
    for row in rows:
        same = "" if "agree" not in row else ("same as direct" if row["agree"] else "DIFFER from direct")
        print(f"{row['configuration']:<28} {row['wall_s']:>7.1f}s {row['runs_per_min']:>9.1f}  {same}")
    print(
        f"queue overhead per run (medians, runs one at a time): {overhead['overhead_s']:.3f} s"
        f" = enqueue to start {overhead['enqueue_to_start_s']:.3f} s + finish to result"
        f" {overhead['finish_to_result_s']:.3f} s (queued minus direct wall, interleaved:"
        f" {overhead['wall_difference_s']:+.3f} s)"
    )
    if any(row.get("agree") is False for row in rows):
        raise SystemExit("the queue's verdicts differ from the direct run's")


if __name__ == "__main__":
    main()
