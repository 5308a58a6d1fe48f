"""Human output: result tables and verdict colours (colour only on a terminal)."""

from __future__ import annotations

import click

from judge.units import human_bytes
from judge_harness.schema import RunResult, Verdict

COLOURS = {
    Verdict.ACCEPTED: "green",
    Verdict.WRONG_ANSWER: "red",
    Verdict.TIME_LIMIT_EXCEEDED: "yellow",
    Verdict.MEMORY_LIMIT_EXCEEDED: "yellow",
    Verdict.RUNTIME_ERROR: "magenta",
    Verdict.COMPILATION_ERROR: "magenta",
    Verdict.OUTPUT_LIMIT_EXCEEDED: "yellow",
    Verdict.INTERNAL_ERROR: "cyan",
}


def colour(verdict: Verdict, text: str | None = None) -> str:
    return click.style(text or verdict.value, fg=COLOURS[verdict], bold=True)


def table(rows: list[list[str]], headers: list[str]) -> str:
    """A plain aligned table; cells may carry ANSI styles (width is computed without them)."""
    widths = [max(len(click.unstyle(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append(
            "  ".join(c + " " * (w - len(click.unstyle(c))) for c, w in zip(row, widths, strict=True)).rstrip()
        )
    return "\n".join(lines)


def render_result(result: RunResult, *, verbose: bool = False) -> str:
    rows = []
    for test in result.tests:
        name = test.id.split("::", 1)[-1]
        rows.append([colour(test.verdict, test.verdict.short), f"{test.duration_s:.2f}s", name])
    parts = []
    if rows:
        parts.append(table(rows, ["", "time", "test"]))
    for test in result.tests:
        if test.verdict is not Verdict.ACCEPTED:
            parts.append(
                f"\n{colour(test.verdict, test.verdict.short)} {test.id.split('::', 1)[-1]}\n  "
                + test.message.replace("\n", "\n  ")
            )
            if test.output and verbose:
                parts.append("  output:\n    " + test.output.replace("\n", "\n    "))
    summary = f"{colour(result.verdict)}  {result.passed}/{len(result.tests)} tests passed  {result.wall_s:.1f}s  peak {human_bytes(result.peak_bytes)}  ({result.backend})"
    if result.message:
        summary += f"\n{result.message}"
    parts.append("\n" + summary)
    return "\n".join(parts)
