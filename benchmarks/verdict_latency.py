"""Benchmark: time to a verdict, bare in-process vs local vs docker cold vs docker warm.

    python benchmarks/verdict_latency.py                          # every problem of the bank, 3 rounds
    python benchmarks/verdict_latency.py --problem dpo-loss --problem react-agent --repeats 5
    python benchmarks/verdict_latency.py --problem tests/adversarial/problems/sandbox-probe

For each problem, the reference solution on the public suite (what `judge test` runs) and on the
hidden suite (`judge submit`), in each mode, interleaved round by round so a busy machine slows
every mode alike:
  bare    `python -m judge_harness.inprocess`: the tests with the submission imported in the same
          fresh process; no worker, no limits, no isolation (the floor a bare pytest run pays)
  local   judge.runner.run, local backend, its fork server started afresh for the run (what one
          `judge test --backend local` command pays)
  cold    judge.runner.run, docker backend, warm boxes off: containers created for the run
  warm    judge.runner.run, docker backend, claiming warm boxes that have finished starting (a
          candidate reads a verdict and edits for longer than a box takes to start)
The three judge modes spread the suite over as many boxes as `judge test`/`submit` would
(judge.cli.common.spread_workers: the box's CPU quota, at most 4 and the problem's cap;
JUDGE_WORKERS overrides it, e.g. JUDGE_WORKERS=1 for one box).

Seconds are from the call to the verdict (median of the rounds); `warm/bare` is the ratio of the
medians. The targets of issue 21 are checked at the end: warm `test` at most 2 s for every
problem, warm `submit` no slower than bare. The docker modes need an engine and the image.
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
from judge.backends.local import HARNESS_ROOT, LocalBackend, close_fork_servers
from judge.catalog import Problem, load_catalog, load_problem
from judge.cli.common import spread_workers

SUITES = {"test": "public", "submit": "hidden"}
TEST_TARGET_S = 2.0


def time_bare(problem: Problem, suite: str) -> float:
    env = dict(os.environ, PYTHONPATH=str(HARNESS_ROOT))
    command = [sys.executable, "-m", "judge_harness.inprocess", str(problem.path), str(problem.reference), suite]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    seconds = time.monotonic() - started
    if "overall: Accepted" not in done.stdout:
        raise RuntimeError(f"bare run of {problem.slug} was not Accepted:\n{done.stdout[-1500:]}{done.stderr[-1500:]}")
    return seconds


def timed_run(problem: Problem, suite: str, backend: object) -> float:
    workers = spread_workers(problem, backend)
    started = time.monotonic()
    result = runner.run(problem, problem.reference, suite, backend, workers=workers)
    seconds = time.monotonic() - started
    if result.verdict.value != "Accepted":
        raise RuntimeError(f"{backend.name} run of {problem.slug}: {result.verdict.value} {result.message}")
    return seconds


def time_local(problem: Problem, suite: str) -> float:
    close_fork_servers()  # each command starts its own
    return timed_run(problem, suite, LocalBackend())


def _settled(pid: int, quiet_s: float = 0.5, timeout_s: float = 60.0) -> None:
    """Wait until process `pid` (a box's PID 1, seen from the host) sleeps with its CPU time unchanged."""

    def cpu() -> tuple[str, int]:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return fields[0], int(fields[11]) + int(fields[12])

    deadline = time.monotonic() + timeout_s
    last = cpu()
    while time.monotonic() < deadline:
        time.sleep(quiet_s)
        now = cpu()
        if now[0] == "S" and now[1] == last[1]:
            return
        last = now


def warm_timer(backend: object) -> Callable[[Problem, str], float]:
    import docker

    from judge.backends.docker import warm

    def run(problem: Problem, suite: str) -> float:
        client = backend._client()
        config = backend.container_config(problem.slug, problem.limits.memory_mb, problem.preload)
        key = warm.config_key(config)
        backend.wait_for_warm_boxes()
        want = spread_workers(problem, backend)
        while len(warm.waiting(client, key)) < want:
            warm.leave(client, config, key, want)
        for box in warm.waiting(client, key):
            try:
                box.reload()
                _settled(int(box.attrs["State"]["Pid"]))
            except (docker.errors.NotFound, FileNotFoundError):
                continue  # gone meanwhile (its idle expiry): the run starts a cold box instead
        return timed_run(problem, suite, backend)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problem", action="append", help="a slug or a problem folder (repeatable; default: the bank)")
    parser.add_argument("--repeats", type=int, default=3, help="rounds (default 3)")
    args = parser.parse_args()

    modes: dict[str, Callable[[Problem, str], float] | None] = {"bare": time_bare, "local": time_local}
    note = ""
    warm_backend = None
    try:
        from judge.backends.docker import DockerBackend

        connected = DockerBackend.connect()
        cold = DockerBackend(connected.image, cpus=connected.cpus, warm_boxes=False)
        warm_backend = DockerBackend(connected.image, cpus=connected.cpus, warm_boxes=True)
        modes["cold"] = lambda problem, suite: timed_run(problem, suite, cold)
        modes["warm"] = warm_timer(warm_backend)
    except BackendError as exc:
        modes["cold"] = modes["warm"] = None
        note = f"docker modes skipped: {exc}"

    if args.problem:
        catalog = None
        problems = []
        for name in args.problem:
            if Path(name).is_dir():
                problems.append(load_problem(Path(name).resolve()))
            else:
                catalog = catalog or load_catalog()
                problems.append(catalog.get(name))
    else:
        problems = sorted(load_catalog().problems.values(), key=lambda p: p.slug)

    print(
        f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; {args.repeats} rounds; median seconds to the verdict"
    )
    if note:
        print(note)
    header = f"{'problem':<32} {'command':<7}" + "".join(f" {m:>7}" for m in modes) + f" {'warm/bare':>10}"
    print(header)
    misses = []
    for problem in problems:
        times: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.repeats):
            for command, suite in SUITES.items():
                for mode, measure in modes.items():
                    if measure is not None:
                        times.setdefault((command, mode), []).append(measure(problem, suite))
        for command in SUITES:
            medians = {m: statistics.median(times[(command, m)]) for m in modes if (command, m) in times}
            cells = "".join(f" {medians[m]:7.2f}" if m in medians else f" {'-':>7}" for m in modes)
            ratio = medians["warm"] / medians["bare"] if "warm" in medians else float("nan")
            print(f"{problem.slug:<32} {command:<7}{cells} {ratio:10.2f}", flush=True)
            if "warm" in medians:
                if command == "test" and medians["warm"] > TEST_TARGET_S:
                    misses.append(f"{problem.slug}: warm test {medians['warm']:.2f} s > {TEST_TARGET_S:g} s")
                if command == "submit" and ratio > 1.0:
                    misses.append(f"{problem.slug}: warm submit {ratio:.2f}x bare > 1.0")
    print()
    print("targets met" if not misses else "targets missed:\n  " + "\n  ".join(misses))
    if warm_backend is not None:
        warm_backend.wait_for_warm_boxes()


if __name__ == "__main__":
    main()
