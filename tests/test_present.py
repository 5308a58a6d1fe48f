"""judge/cli/present.py: `judge list` and `judge show` as a person reads them, through a real
pseudo-terminal 80 columns wide (rich renders to the terminal's width; piped output stays plain)."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios

import pytest
from click.testing import CliRunner

from judge.catalog import load_catalog
from judge.cli import cli
from judge.cli.present import problem_table, statement

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")


def on_terminal(args: list[str], columns: int = 80) -> list[str]:
    """Run `judge ARGS` with a pseudo-terminal `columns` wide as stdin/stdout/stderr; the lines it showed."""
    parent, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "JUDGE_PROBLEMS_PATH")}
    env.update(TERM="xterm-256color", PAGER="cat")
    process = subprocess.Popen(
        [sys.executable, "-c", "from judge.cli import cli; cli()", *args],
        stdin=child,
        stdout=child,
        stderr=child,
        env=env,
        close_fds=True,
    )
    os.close(child)
    chunks = []
    while True:
        try:
            chunk = os.read(parent, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(parent)
    assert process.wait(timeout=60) == 0, b"".join(chunks).decode(errors="replace")
    text = ANSI.sub("", b"".join(chunks).decode("utf-8", "replace")).replace("\r", "")
    return text.splitlines()


def test_judge_list_fits_80_columns_on_a_terminal() -> None:
    lines = on_terminal(["list"])
    too_wide = [line for line in lines if len(line) > 80]
    assert not too_wide, f"wider than 80 columns: {too_wide}"
    for problem in load_catalog().problems.values():  # each slug whole, on a line of its own row
        assert any(line.split()[:1] == [problem.slug] for line in lines if line.strip()), problem.slug


def test_judge_show_renders_markdown_at_80_columns() -> None:
    lines = on_terminal(["show", "react-agent"])
    too_wide = [line for line in lines if len(line) > 80]
    assert not too_wide, f"wider than 80 columns: {too_wide}"
    text = "\n".join(lines)
    assert "<br>" not in text and "|---|" not in text, "raw Markdown on a terminal"
    assert "## " not in text
    assert any(line.strip().startswith("Action Input: population of") for line in lines), "<br> broke no line"


@pytest.mark.parametrize("width", [60, 80, 120])
def test_every_statement_fits_the_width(width: int) -> None:
    for problem in load_catalog().problems.values():
        rendered = statement(problem, width=width, colour=False)
        assert max(len(line) for line in rendered.splitlines()) <= width, problem.slug
    listing = problem_table(list(load_catalog().problems.values()), width=width, colour=False)
    assert max(len(line) for line in listing.splitlines()) <= width


def test_piped_show_is_the_markdown_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JUDGE_PROBLEMS_PATH", raising=False)
    problem = load_catalog().get("react-agent")
    result = CliRunner().invoke(cli, ["show", "react-agent"])
    assert result.exit_code == 0 and problem.statement in result.stdout
    listed = CliRunner().invoke(cli, ["list"])
    assert listed.exit_code == 0 and max(len(line) for line in listed.stdout.splitlines()) <= 80


def test_identical_failures_are_shown_once() -> None:
    from judge.cli.present import render_result
    from judge_harness.schema import RunResult, TestResult, Verdict

    tle = "time limit exceeded during call to add: more than 2 s of CPU time in this test"
    tests = [TestResult(f"test_hidden.py::test_big[{i}]", Verdict.TIME_LIMIT_EXCEEDED, message=tle) for i in range(69)]
    tests.insert(3, TestResult("test_hidden.py::test_sum", Verdict.WRONG_ANSWER, message="sum: got 3, expected 4"))
    tests.append(TestResult("test_hidden.py::test_ok", Verdict.ACCEPTED))
    text = render_result(RunResult(Verdict.TIME_LIMIT_EXCEEDED, "toy-add", "hidden", tests, backend="local"))
    assert text.count(tle) == 1 and text.count("sum: got 3, expected 4") == 1
    assert "... and 68 more tests: the same (test_big[1], test_big[2], test_big[3], …)" in text


def test_memory_limit_summary_names_the_limit() -> None:
    from judge.cli.present import render_result
    from judge_harness.schema import RunResult, Verdict

    result = RunResult(Verdict.MEMORY_LIMIT_EXCEEDED, "toy-add", "hidden", peak_bytes=43 * 2**20, backend="docker")
    text = render_result(result, memory_limit_mb=256)
    assert "limit 256 MiB, peak 43.0 MiB measured before the run was stopped" in text
