"""Identical code must read as identical: the take-home time ratio of the reference against itself.

    python benchmarks/takehome_timing.py [--gradings 10] [--burners 2] [--problems dpo-loss,sliding-window-attention]
                                         [--backend local|docker] [--timing-runs 5] [--json]

A bundle of the given problems is "returned" twice: once with each problem's reference verbatim,
once with a renamed copy of it (names changed, comments added). Both are graded exactly as
`judge takehome grade` grades, `--gradings` times in a row, while `--burners` processes spin on the
CPU the whole time (the machine is busy on purpose). Printed per grading and problem: the time
ratio (median over the timing runs, range in brackets) and the memory ratio of both copies.
The target: every time ratio within 0.85-1.15 (exit 1 otherwise).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "sandbox")]

from judge.backends import select  # noqa: E402
from judge.catalog import load_catalog  # noqa: E402
from judge.takehome import bundle as takehome  # noqa: E402
from judge.takehome import grading  # noqa: E402

LOW, HIGH = 0.85, 1.15


def burn(stop_at: float) -> None:
    x = 0
    while time.monotonic() < stop_at:
        x = (x * 1103515245 + 12345) % 2**31


def renamed(source: str) -> str:
    """The same code under other names: every `def` and local name gets a suffix, comments added."""
    names = set(re.findall(r"^\s*def (\w+)", source, flags=re.M))
    for name in sorted(names, key=len, reverse=True):
        if not name.startswith("_") or name.endswith("__"):
            continue  # public names and dunders are the interface
        source = re.sub(rf"\b{name}\b", f"{name}_mine", source)
    return "# my solution\n" + source.replace("\n\n\n", "\n\n\n# ---\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gradings", type=int, default=10)
    parser.add_argument("--burners", type=int, default=2)
    parser.add_argument("--problems", default="dpo-loss,sliding-window-attention")
    parser.add_argument("--backend", default="local", choices=["local", "docker"])
    parser.add_argument("--timing-runs", type=int, default=grading.timing.DEFAULT_RUNS)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    catalog = load_catalog()
    problems = [catalog.get(slug) for slug in args.problems.split(",")]
    backend = select(args.backend, warn=lambda message: print(message, file=sys.stderr))
    rows = []
    with tempfile.TemporaryDirectory(prefix="judge-takehome-timing-") as tmp:
        root = Path(tmp)
        bundle = takehome.create_bundle(problems, root / "bundle")
        folders = []
        for name, edit in (("verbatim", lambda s: s), ("renamed", renamed)):
            folder = root / name
            shutil.copytree(root / "bundle", folder)
            for problem in problems:
                (folder / problem.slug / f"{problem.module_name}.py").write_text(edit(problem.reference.read_text()))
            folders.append(folder)
        stop_at = time.monotonic() + 24 * 3600
        burners = [multiprocessing.Process(target=burn, args=(stop_at,), daemon=True) for _ in range(args.burners)]
        for process in burners:
            process.start()
        try:
            for number in range(1, args.gradings + 1):
                started = time.monotonic()
                report = grading.grade(bundle, folders, catalog, backend, jobs=1, timing_runs=args.timing_runs)
                for candidate in report.candidates:
                    for cell in candidate.results:
                        row = {
                            "grading": number,
                            "copy": candidate.name,
                            "problem": cell.problem,
                            "verdict": cell.verdict,
                            "time_ratio": cell.time_ratio,
                            "time_range": cell.time_range,
                            "memory_ratio": cell.memory_ratio,
                            "timing": cell.timing,
                        }
                        rows.append(row)
                        if not args.json:
                            spread = (
                                f"({row['time_range'][0]:.2f}-{row['time_range'][1]:.2f})" if row["time_range"] else ""
                            )
                            print(
                                f"grading {number:2d} {candidate.name:9} {cell.problem:28} time x{cell.time_ratio} {spread:13}"
                                f" memory x{cell.memory_ratio}  [{cell.timing}; {time.monotonic() - started:.0f} s]",
                                flush=True,
                            )
        finally:
            for process in burners:
                process.terminate()
    inside = [row for row in rows if row["time_ratio"] is not None and LOW <= row["time_ratio"] <= HIGH]
    summary = f"{len(inside)}/{len(rows)} time ratios within {LOW}-{HIGH} with {args.burners} CPU burners running"
    if args.json:
        print(json.dumps({"rows": rows, "summary": summary}, indent=2))
    else:
        print(summary)
    if len(inside) != len(rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
