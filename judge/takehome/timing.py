"""Time and memory figures for a take-home report: measured on a workload, not sampled once.

A problem may declare a timing workload, `test_timing.py` in its folder (checker side): realistic
calls of the entry points, no correctness checks. For every Accepted solution the workload runs
`runs` times, each run beside one of the reference in the same round, in boxes of their own on
the same backend; the reference runs first in even rounds and last in odd ones, so whatever the
position in a round costs (a cold page cache, a neighbour starting up) falls on both sides. A run's time is the CPU seconds the
submission's worker spent (the harness reads it from /proc), not wall time, so a machine busy
with other work does not move it; its memory is the worker's peak. The report gives the median
over the runs of candidate / reference (each run against the reference run of the same round)
and the range of those ratios.

A problem without a workload falls back to the hidden suite's run: its per-test worker CPU,
summed, once.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import statistics
from collections.abc import Callable
from pathlib import Path

from judge import runner
from judge.backends.base import Backend, abort_all
from judge.catalog import Problem
from judge.staging import SubmissionError
from judge_harness.schema import RunResult, Verdict

DEFAULT_RUNS = 5  # an odd count: the median is one round's ratio
MIN_SUITE_CPU_S = 0.5  # without a workload, a reference suite spending less CPU gives no time ratio: one run of
# a few tests' worse-than-tick noise would read as a verdict on the candidate's speed
REFERENCE = -1  # as in grading: results are keyed (candidate index, slug)


@dataclasses.dataclass
class Figures:
    """One solution's time and memory on one problem, and how they were measured."""

    cpu_s: float | None = None  # median worker CPU seconds over the runs
    peak_bytes: int | None = None  # median worker peak
    time_ratio: float | None = None  # median of candidate / reference, round by round
    time_range: tuple[float, float] | None = None
    memory_ratio: float | None = None
    method: str = ""  # "workload CPU, 5 runs" | "hidden suite CPU, 1 run"
    message: str = ""  # why there is no figure


def cpu_and_peak(result: RunResult) -> tuple[float, int]:
    """Worker CPU seconds summed over the tests, and the worker's peak memory in the run."""
    return sum(t.cpu_s for t in result.tests), max([result.peak_bytes, *(t.peak_bytes for t in result.tests)])


def _ratio(value: float, reference: float) -> float | None:
    return value / reference if reference > 0 else None


def from_suite(result: RunResult, reference: RunResult | None) -> Figures:
    """The fallback: the hidden suite's own run, summed worker CPU, one run."""
    cpu, peak = cpu_and_peak(result)
    figures = Figures(round(cpu, 4), peak, method="hidden suite CPU, 1 run")
    if reference is not None and result.verdict is Verdict.ACCEPTED:
        ref_cpu, ref_peak = cpu_and_peak(reference)
        ratio, memory = _ratio(cpu, ref_cpu), _ratio(peak, ref_peak)
        if ref_cpu < MIN_SUITE_CPU_S:
            ratio = None
            figures.method += f"; the reference's {ref_cpu:.2f} s is too little CPU for a ratio"
        figures.time_ratio = None if ratio is None else round(ratio, 2)
        figures.memory_ratio = None if memory is None else round(memory, 2)
    return figures


def measure(
    problems: dict[str, Problem],
    accepted: dict[tuple[int, str], Path],
    backend: Backend,
    *,
    jobs: int = 1,
    runs: int = DEFAULT_RUNS,
    progress: Callable[[int, int, str], None] | None = None,
    names: Callable[[int], str] = str,
) -> dict[tuple[int, str], Figures]:
    """Workload figures for the reference of every problem that has one and each `accepted` solution."""
    timed = {slug for slug, problem in problems.items() if problem.test_file("timing").is_file()}
    order: list[tuple[int, int, str, Path]] = []  # (round, who, slug, path)
    for round_ in range(runs):
        for slug in sorted(timed):
            reference = [(round_, REFERENCE, slug, problems[slug].reference)]
            candidates = [(round_, who, s, path) for (who, s), path in sorted(accepted.items()) if s == slug]
            order += reference + candidates if round_ % 2 == 0 else candidates + reference
    results: dict[tuple[int, int, str], RunResult | str] = {}
    if order and progress:
        progress(0, len(order), "")
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {
            pool.submit(_run, problems[slug], path, backend): (round_, who, slug) for round_, who, slug, path in order
        }
        try:
            for future in concurrent.futures.as_completed(futures):
                round_, who, slug = futures[future]
                results[round_, who, slug] = future.result()
                if progress:
                    label = "reference" if who == REFERENCE else names(who)
                    progress(len(results), len(order), f"timing {label} {slug} ({round_ + 1}/{runs})")
        except KeyboardInterrupt:
            for future in futures:
                future.cancel()
            abort_all(backend)
            raise
    figures: dict[tuple[int, str], Figures] = {}
    for slug in timed:
        for who in [REFERENCE, *(w for (w, s) in accepted if s == slug)]:
            figures[who, slug] = _figures(results, who, slug, runs)
    return figures


def _run(problem: Problem, path: Path, backend: Backend) -> RunResult | str:
    try:
        return runner.run(problem, path, "timing", backend)
    except SubmissionError as exc:
        return str(exc)
    except Exception as exc:  # one failed run must not stop the others
        return f"the judge failed on the timing workload: {type(exc).__name__}: {exc}"


def _figures(results: dict, who: int, slug: str, runs: int) -> Figures:
    mine = [results[round_, who, slug] for round_ in range(runs)]
    theirs = [results[round_, REFERENCE, slug] for round_ in range(runs)]
    failed = next((r for r in mine if not isinstance(r, RunResult) or r.verdict is not Verdict.ACCEPTED), None)
    if failed is not None:
        reason = failed if isinstance(failed, str) else f"{failed.verdict.value} {failed.message}".strip()
        return Figures(method=f"workload CPU, {runs} runs", message=f"timing workload: {reason}")
    cpu = [cpu_and_peak(r)[0] for r in mine]
    peak = [cpu_and_peak(r)[1] for r in mine]
    figures = Figures(
        round(statistics.median(cpu), 4), int(statistics.median(peak)), method=f"workload CPU, {runs} runs"
    )
    if who == REFERENCE or any(not isinstance(r, RunResult) or r.verdict is not Verdict.ACCEPTED for r in theirs):
        return figures
    ratios = [_ratio(c, cpu_and_peak(r)[0]) for c, r in zip(cpu, theirs, strict=True)]
    memory = [_ratio(p, cpu_and_peak(r)[1]) for p, r in zip(peak, theirs, strict=True)]
    if all(ratio is not None for ratio in ratios):
        figures.time_ratio = round(statistics.median(ratios), 2)
        figures.time_range = (round(min(ratios), 2), round(max(ratios), 2))
    if all(ratio is not None for ratio in memory):
        figures.memory_ratio = round(statistics.median(memory), 2)
    return figures
