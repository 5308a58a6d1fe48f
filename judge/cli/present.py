"""Human output: result tables, verdict colours (colour only on a terminal), and the problem list
and statements, rendered with rich to the terminal's width."""

from __future__ import annotations

import shutil
from typing import Any

import click
from rich import box
from rich.console import Console, Group
from rich.markdown import Markdown
from rich.table import Table
from rich.text import Text

from judge.catalog import Problem
from judge.units import human_bytes
from judge_harness.schema import RunResult, TestResult, Verdict

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


SAME_NAMES_SHOWN = 3  # tests named in "... and N more tests: the same" before "…"


def _same_failures(result: RunResult) -> list[tuple[TestResult, list[TestResult]]]:
    """Failing tests grouped by (verdict, message, output), in order of first appearance: the first of
    each group is shown in full, the rest are named."""
    groups: dict[tuple[Verdict, str, str], tuple[TestResult, list[TestResult]]] = {}
    for test in result.tests:
        if test.verdict is Verdict.ACCEPTED:
            continue
        key = (test.verdict, test.message, test.output)
        if key in groups:
            groups[key][1].append(test)
        else:
            groups[key] = (test, [])
    return list(groups.values())


def test_line(verdict: Verdict, duration_s: float, test_id: str) -> str:
    """One finished test, as the live lines and the result table show it."""
    return f"{colour(verdict, verdict.short)}  {duration_s:5.2f}s  {test_id.split('::', 1)[-1]}"


class LiveTests:
    """`judge test`/`submit` on a terminal: a line per test as it finishes, under a spinner that counts
    them. `on_test` is the backend's progress callback (called from its reading thread)."""

    def __init__(self, what: str) -> None:
        self.console = Console(highlight=False)
        self.what = what
        self.done = 0
        self.status = self.console.status(f"{what}…", spinner="dots")

    def __enter__(self) -> LiveTests:
        self.status.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.status.__exit__(*exc)

    def on_test(self, event: dict[str, Any]) -> None:
        try:
            verdict = Verdict(event["verdict"])
            line = test_line(verdict, float(event.get("duration_s", 0.0)), str(event["id"]))
        except (KeyError, ValueError, TypeError):
            return
        self.done += 1
        self.console.print(Text.from_ansi(line))
        self.status.update(f"{self.what}… {self.done} test{'s' if self.done != 1 else ''} done")


def render_result(
    result: RunResult, *, verbose: bool = False, memory_limit_mb: int | None = None, tests_shown: bool = False
) -> str:
    """The result table, the failures in full and the summary; `tests_shown`: the per-test lines were
    already printed live (LiveTests), so the table is left out."""
    rows = []
    for test in result.tests:
        name = test.id.split("::", 1)[-1]
        rows.append([colour(test.verdict, test.verdict.short), f"{test.duration_s:.2f}s", name])
    parts = []
    if rows and not tests_shown:
        parts.append(table(rows, ["", "time", "test"]))
    for test, same in _same_failures(result):
        parts.append(
            f"\n{colour(test.verdict, test.verdict.short)} {test.id.split('::', 1)[-1]}\n  "
            + test.message.replace("\n", "\n  ")
        )
        if test.output and verbose:
            parts.append("  output:\n    " + test.output.replace("\n", "\n    "))
        if same:
            names = [t.id.split("::", 1)[-1] for t in same]
            shown = ", ".join(names[:SAME_NAMES_SHOWN]) + (", …" if len(names) > SAME_NAMES_SHOWN else "")
            parts.append(f"  ... and {len(same)} more test{'s' if len(same) > 1 else ''}: the same ({shown})")
    peak = f"peak {human_bytes(result.peak_bytes)}"
    if result.verdict is Verdict.MEMORY_LIMIT_EXCEEDED and memory_limit_mb:
        peak = f"limit {memory_limit_mb} MiB, {peak} measured before the run was stopped"
    where = result.backend or "no box ran"
    summary = f"{colour(result.verdict)}  {result.passed}/{len(result.tests)} tests passed  {result.wall_s:.1f}s  {peak}  ({where})"
    if result.message:
        summary += f"\n{result.message}"
    parts.append("\n" + summary)
    return "\n".join(parts)


def problem_table(problems: list[Problem], *, width: int | None = None, colour: bool | None = None) -> str:
    """`judge list`: slug, difficulty, minutes, and the title with the tags under it, fitted to `width`
    (default: the terminal's, 80 when piped) so nothing wraps into the next column."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, expand=False)
    table.add_column("slug", no_wrap=True, style="bold")
    table.add_column("level", no_wrap=True)
    table.add_column("time", no_wrap=True, justify="right")
    table.add_column("title / tags", ratio=1)
    for problem in problems:
        about = Text(problem.title)
        about.append("\n" + ", ".join(problem.tags), style="dim")
        table.add_row(problem.slug, problem.difficulty, f"{problem.estimated_minutes} min", about)
    return _render(table, width=width, colour=colour)


class Statement(Markdown):
    """A statement as rich Markdown; `<br>` inside a table cell (GitHub's line break) breaks the line."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        pending = list(self.parsed)
        while pending:
            token = pending.pop()
            if token.type == "html_inline" and token.content.strip().lower() in ("<br>", "<br/>", "<br />"):
                token.type = "hardbreak"
            pending.extend(token.children or ())


def statement(problem: Problem, *, width: int | None = None, colour: bool | None = None) -> str:
    """`judge show` on a terminal: the header and the statement rendered to `width` columns."""
    header = Text(problem.title, style="bold")
    header.append(f"  [{problem.difficulty}, ~{problem.estimated_minutes} min, {', '.join(problem.tags)}]", style="dim")
    return _render(Group(header, Text(""), Statement(problem.statement)), width=width, colour=colour)


def _render(renderable: Any, *, width: int | None, colour: bool | None) -> str:
    width = width or shutil.get_terminal_size((80, 24)).columns
    console = Console(width=width, force_terminal=colour, no_color=colour is False, highlight=False)
    with console.capture() as captured:
        console.print(renderable)
    return "\n".join(line.rstrip() for line in captured.get().splitlines())
