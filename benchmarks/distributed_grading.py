"""A take-home batch graded directly and through 1, 2 and 3 `judge worker`s, in one run.

    python benchmarks/distributed_grading.py [--candidates 12] [--json]

The batch is N candidates x 2 fixture problems (queue-add, no torch in the worker; toy-add,
torch), each candidate the reference with a comment of its own, graded with `grading.grade`
exactly as `judge takehome grade` does: directly on the local backend with `--jobs 2`, then
through a real Redis (loopback, password) and 1, 2 and 3 worker processes (local backend, one
slot each), with the caller running as many runs at a time as there are workers plus one.
Printed per configuration: wall time, throughput (runs per minute), and, for the queue, its
overhead per run: the caller's wall time for a run minus the time the worker spent judging it
(packing, Redis round trips, the worker's pick-up delay and the result's way back), measured
on runs judged one at a time so no run waits for a busy worker.

On this 2-core machine the workers share two cores with each other and with the caller, so
more workers cannot add throughput here; the figures that carry over to a cluster are the
overhead per run and that throughput does not fall as workers are added. N machines with one
engine each give about N times one machine's throughput while the overhead stays per run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
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
from judge.takehome import bundle as takehome  # noqa: E402
from judge.takehome import grading  # noqa: E402

PROBLEM_ROOTS = [ROOT / "tests" / "fixtures" / "queue-problems", ROOT / "tests" / "fixtures" / "problems"]
SLUGS = ("queue-add", "toy-add")
PASSWORD = "benchmark-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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


def start_workers(url: str, count: int) -> list[subprocess.Popen[bytes]]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "sandbox")]))
    command = [sys.executable, "-m", "judge", "worker", "--queue", url, "--slots", "1", "--backend", "local"]
    workers = [
        subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        for _ in range(count)
    ]
    backend = distributed.QueueBackend(url)
    deadline = time.monotonic() + 120
    while len(backend.workers()) < count:
        if time.monotonic() > deadline:
            raise SystemExit("the workers did not register")
        time.sleep(0.2)
    return workers


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        os.killpg(worker.pid, signal.SIGTERM)
    for worker in workers:
        worker.wait(120)


def grade_once(bundle, folders, catalog, backend, jobs: int) -> tuple[float, dict]:
    started = time.monotonic()
    report = grading.grade(bundle, folders, catalog, backend, jobs=jobs)
    return time.monotonic() - started, report


def verdicts(report: dict) -> list[str]:
    """Every graded cell's verdict, in a stable order, to check the configurations agree."""
    cells = []
    for candidate in report.get("candidates", []):
        for cell in candidate["results"]:
            cells.append(f"{candidate['name']}/{cell['problem']}={cell['verdict']}")
    return sorted(cells)


def overhead_per_run(url: str, catalog, runs: int = 6) -> dict[str, float]:
    """Medians over runs judged one at a time: through the queue, directly, and the queue's two hops."""
    problem = catalog.get("queue-add")

    def median_wall(backend) -> float:
        walls = []
        for _ in range(runs):
            started = time.monotonic()
            runner.run(problem, problem.reference, "hidden", backend)
            walls.append(time.monotonic() - started)
        return statistics.median(walls)

    queue_backend = distributed.QueueBackend(url, priority="takehome")
    queued, direct = median_wall(queue_backend), median_wall(LocalBackend())
    return {
        "overhead_s": queued - direct,
        "enqueue_to_start_s": statistics.median(w for w, _ in queue_backend.overheads),
        "finish_to_result_s": statistics.median(r for _, r in queue_backend.overheads),
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
        port = free_port()
        server = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--requirepass",
                PASSWORD,
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                tmp,
            ],
            stdout=subprocess.DEVNULL,
        )
        url = f"redis://:{PASSWORD}@127.0.0.1:{port}/0"
        try:
            for _ in range(100):
                try:
                    distributed.connect(url)
                    break
                except distributed.QueueError:
                    time.sleep(0.1)
            overhead = None
            for count in (1, 2, 3):
                workers = start_workers(url, count)
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
                    stop_workers(workers)
        finally:
            server.terminate()
            server.wait(10)
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
        f"queue overhead per run (medians, runs one at a time): {overhead['overhead_s']:.3f} s over a direct run"
        f" (enqueue to start {overhead['enqueue_to_start_s']:.3f} s, finish to result {overhead['finish_to_result_s']:.3f} s)"
    )
    if any(row.get("agree") is False for row in rows):
        raise SystemExit("the queue's verdicts differ from the direct run's")


if __name__ == "__main__":
    main()
