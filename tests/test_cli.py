"""The `judge` CLI through Click's CliRunner: help everywhere, JSON out, exit codes, one-line errors."""

from __future__ import annotations

import ast
import json
import os
from collections.abc import Callable
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from judge.backends import BackendError
from judge.backends.docker.image import SandboxError
from judge.cli import cli, common

from .conftest import FIXTURE_PROBLEMS, toy_wrong_source

REPO = Path(__file__).resolve().parents[1]
REFERENCE = FIXTURE_PROBLEMS / "toy-add" / "reference.py"


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.setenv("JUDGE_PROBLEMS_PATH", str(FIXTURE_PROBLEMS))
    monkeypatch.setenv("JUDGE_HOME", str(tmp_path / "home"))
    return CliRunner()


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += all_commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


@pytest.mark.parametrize("path", all_commands(cli), ids=lambda p: " ".join(p) or "judge")
def test_every_command_has_help_with_an_example(runner: CliRunner, path: tuple[str, ...]) -> None:
    result = runner.invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    assert "judge " in result.output.split("Usage:", 1)[1], "the help text shows no example command"


def test_list_json(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["list", "--json"])
    assert result.exit_code == 0
    document = json.loads(result.output)
    slugs = {p["slug"] for p in document["problems"]}
    assert "toy-add" in slugs
    hard_only = json.loads(runner.invoke(cli, ["list", "--json", "--difficulty", "hard"]).output)
    assert "toy-add" not in {p["slug"] for p in hard_only["problems"]}
    tagged = json.loads(runner.invoke(cli, ["list", "--json", "--tag", "fixture"]).output)
    assert [p["slug"] for p in tagged["problems"]] == ["toy-add"]


def test_show(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["show", "toy-add"])
    assert result.exit_code == 0 and "Toy: add two tensors" in result.output
    document = json.loads(runner.invoke(cli, ["show", "toy-add", "--json"]).output)
    assert document["limits"]["memory_mb"] == 1024 and document["tolerances"]["float32"]["atol"] == 1e-6


def test_unknown_slug_is_a_usage_error_with_a_suggestion(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["show", "toy-ad"])
    assert result.exit_code == 2
    assert "did you mean 'toy-add'" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p, "no such file"),
        (lambda p: (p.mkdir(), p)[1], "is a directory"),
        (lambda p: (p.write_bytes(b"\xff\xfe\x00"), p)[1], "not UTF-8"),
        (lambda p: (p.write_text("#" * (2**20 + 10)), p)[1], "1 MiB"),
        (lambda p: (p.symlink_to(REFERENCE), p)[1], "symlink"),
    ],
)
def test_bad_submission_files_get_one_line(runner: CliRunner, tmp_path: Path, make, message: str) -> None:
    path = make(tmp_path / "solution.py")
    result = runner.invoke(cli, ["submit", "toy-add", str(path), "--backend", "local"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], result.output


def test_syntax_error_is_compilation_error_with_the_line(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "solution.py"
    path.write_text("def add(a, b)\n    return a + b\n")
    result = runner.invoke(cli, ["submit", "toy-add", str(path), "--backend", "local", "--json"])
    assert result.exit_code == 1
    document = json.loads(result.output)
    assert document["verdict"] == "Compilation Error" and "line 1" in document["message"]
    assert document["backend"] is None and document["total"] == 0  # found on the host: no box ran


@pytest.mark.parametrize("content", ["", "\n  \n"])
def test_an_empty_file_is_compilation_error_recorded_like_a_missing_entry_point(
    runner: CliRunner, tmp_path: Path, content: str
) -> None:
    """One mistake (no entry point), one outcome: Compilation Error, exit 1, in the history."""
    path = tmp_path / "toy_add.py"
    path.write_text(content)
    result = runner.invoke(cli, ["submit", "toy-add", str(path), "--backend", "local", "--json"])
    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    assert document["verdict"] == "Compilation Error" and "is empty" in document["message"]
    assert "Accumulator" in document["message"] and document["backend"] is None
    recorded = json.loads(runner.invoke(cli, ["history", "--json"]).stdout)["submissions"]
    assert [e["verdict"] for e in recorded] == ["Compilation Error"]
    assert "no box ran" in runner.invoke(cli, ["submit", "toy-add", str(path), "--backend", "local"]).output


@pytest.mark.slow
def test_missing_entry_point_names_it(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "solution.py"
    path.write_text("def add(a, b):\n    return a + b\n")
    result = runner.invoke(cli, ["submit", "toy-add", str(path), "--backend", "local", "--json"])
    document = json.loads(result.output)
    assert result.exit_code == 1
    assert document["verdict"] == "Compilation Error" and "Accumulator" in document["message"]
    assert document["backend"] == "local"  # a box ran: importing it is how the judge found out
    recorded = json.loads(runner.invoke(cli, ["history", "--json"]).stdout)["submissions"]
    assert [e["verdict"] for e in recorded] == ["Compilation Error"]  # recorded, as an empty file is


@pytest.mark.slow
def test_test_and_submit_exit_codes(runner: CliRunner, tmp_path: Path) -> None:
    accepted = runner.invoke(cli, ["test", "toy-add", str(REFERENCE), "--backend", "local", "--json"])
    assert accepted.exit_code == 0, accepted.output
    document = json.loads(accepted.output)
    assert document["verdict"] == "Accepted" and document["suite"] == "public" and document["backend"] == "local"
    wrong = tmp_path / "toy_add.py"
    wrong.write_text(toy_wrong_source())
    rejected = runner.invoke(cli, ["submit", "toy-add", str(wrong), "--backend", "local"])
    assert rejected.exit_code == 1
    assert "Wrong Answer" in rejected.output and "max abs error" in rejected.output


@pytest.mark.slow
def test_verify_fixture_problem(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["verify", "toy-add", "--backend", "local", "--json", "--jobs", "2"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)  # progress lines go to stderr
    assert "[5/5]" in result.stderr  # 4 judged checks and the mutant sample
    assert document["ok"] is True
    labels = {c["label"]: c["actual"] for c in document["checks"]}
    assert labels["reference (hidden)"] == "Accepted"
    assert labels["wrong/off_by_one.patch"] == "Wrong Answer"
    assert labels["stub (hidden)"] == "Runtime Error"
    assert labels["interface (stub vs reference)"] == "matches"
    assert labels["mutants (sample of 8)"] == "consistent with the recorded score"
    wrong = next(c for c in document["checks"] if c["label"] == "wrong/off_by_one.patch")
    assert wrong["first_failure"] and wrong["decided_by"].startswith("test_hidden.py::")
    # unchanged problem, same judge and backend: every run comes from the cache
    again = runner.invoke(cli, ["verify", "toy-add", "--backend", "local", "--json", "--mutants", "0"])
    assert again.exit_code == 0, again.output
    judged = [c for c in json.loads(again.stdout)["checks"] if not c["label"].startswith("interface")]
    assert [c["actual"] for c in judged] == [labels[c["label"]] for c in judged]
    assert all(c["cached"] and c["wall_s"] == 0 for c in judged)
    assert "[problem 1/1] toy-add: 5/5 ok (4 cached)" in again.stderr


def test_click_is_imported_only_in_judge_cli() -> None:
    """The CLI parses and presents; everything else is a library a test (or another front end) calls directly."""
    offenders = []
    for root in (REPO / "judge", REPO / "sandbox"):
        for path in root.rglob("*.py"):
            if path.is_relative_to(REPO / "judge" / "cli"):
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                names = (
                    [alias.name for alias in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else []
                )
                if any(name == "click" or name.startswith("click.") for name in names):
                    offenders.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert not offenders, f"click imported outside judge/cli/: {offenders}"


@pytest.mark.parametrize(
    "args",
    [
        ["test", "toy-add", str(REFERENCE), "--gpus", "all"],
        ["submit", "toy-add", str(REFERENCE), "--gpus", "all"],
        ["verify", "toy-add", "--gpus", "all"],
    ],
    ids=lambda args: args[0],
)
def test_gpus_travel_to_the_backend_as_a_value(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    asked: list[tuple[str, str | None]] = []

    def select(name: str, warn: object = None, gpus: str | None = None) -> None:
        asked.append((name, gpus))
        raise BackendError("no engine in this test")

    monkeypatch.setattr(common, "select", select)
    monkeypatch.delenv("JUDGE_GPUS", raising=False)
    result = runner.invoke(cli, [*args, "--backend", "docker"])
    assert result.exit_code == 3 and "no engine in this test" in result.output
    assert asked == [("docker", "all")]
    assert "JUDGE_GPUS" not in os.environ  # a value handed over, not a variable set behind the backend's back
    monkeypatch.setenv("JUDGE_GPUS", "0,1")  # the variable still works, through the option
    runner.invoke(cli, [a for a in args if a not in ("--gpus", "all")])
    assert asked[-1][1] == "0,1"


def _raise(exc: Exception) -> Callable[..., None]:
    def fail(*args: object, **kwargs: object) -> None:
        raise exc

    return fail


@pytest.mark.parametrize(
    ("args", "patch", "code", "fragment"),
    [
        (["show", "no-such-problem"], None, 2, "no problem 'no-such-problem'"),
        (["list", "--difficulty", "impossible"], None, 2, "Invalid value"),
        (["status"], None, 2, "not inside a workspace"),
        (["history", "--code", "999"], None, 2, "no submit with id 999"),
        (["takehome", "grade", "{tmp}", "{tmp}", "--report", "{tmp}/report"], None, 2, "takehome.json"),
        (["test", "toy-add", "{tmp}/missing.py", "--backend", "local"], None, 2, "no such file"),
        (
            ["test", "toy-add", str(REFERENCE)],
            ("judge.cli.common.select", BackendError("engine gone")),
            3,
            "engine gone",
        ),
        (["verify", "toy-add"], ("judge.cli.common.select", BackendError("engine gone")), 3, "engine gone"),
        (
            ["sandbox", "build"],
            ("judge.backends.docker.image.build", SandboxError("the build failed")),
            3,
            "the build failed",
        ),
    ],
    ids=lambda value: " ".join(value[:2]) if isinstance(value, list) else None,
)
def test_user_facing_errors_exit_with_the_documented_code(
    runner: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    args: list[str],
    patch: tuple[str, Exception] | None,
    code: int,
    fragment: str,
) -> None:
    """README: 0 accepted, 1 rejected, 2 usage error, 3 judge or sandbox error; one line, no traceback."""
    monkeypatch.chdir(tmp_path)
    if patch is not None:
        monkeypatch.setattr(patch[0], _raise(patch[1]))
    result = runner.invoke(cli, [arg.replace("{tmp}", str(tmp_path)) for arg in args])
    assert result.exit_code == code, result.output
    assert fragment in result.output and "Traceback" not in result.output
    as_json = runner.invoke(cli, [*(arg.replace("{tmp}", str(tmp_path)) for arg in args), "--json"])
    assert as_json.exit_code == code, as_json.output
    error = json.loads(as_json.stdout)["error"]  # a script reading stdout gets a document, not nothing
    assert error["exit_code"] == code and fragment in error["message"]
    assert error["kind"] == {2: "usage", 3: "judge"}[code]


def test_usage_errors_with_json_print_a_document(runner: CliRunner) -> None:
    for args in (["list", "--json", "--no-such-flag"], ["show", "--json"], ["submit", "--json", "toy-add"]):
        result = runner.invoke(cli, args)
        assert result.exit_code == 2, result.output
        assert json.loads(result.stdout)["error"]["kind"] == "usage", args
        assert "Error" in result.stderr  # people still read the one line on stderr
    assert json.loads(runner.invoke(cli, ["list", "--json"]).stdout)["problems"]  # success is untouched
    assert runner.invoke(cli, ["list", "--no-such-flag"]).stdout == ""  # no --json: nothing on stdout
