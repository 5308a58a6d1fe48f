"""The practice loop from the command line: start, status, pause/resume, test/submit in a workspace, --watch, practice.

Judging is faked here (judge_and_report replaced) so the loop's own logic is tested in
milliseconds; test_start_submit_stats_end_to_end runs the real judge once, as a user would.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from judge.cli import cli
from judge.cli import common as core
from judge.practice import history, workspace
from judge_harness import schema
from judge_harness.schema import RunResult, Verdict

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "problems"
TOY = FIXTURES / "toy-add"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Fixture problems on the path, history under tmp_path, cwd an empty folder."""
    monkeypatch.setenv("JUDGE_PROBLEMS_PATH", str(FIXTURES))
    monkeypatch.setenv("JUDGE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("JUDGE_BACKEND", "local")
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    return tmp_path / "work"


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def fake_result(verdict: Verdict = Verdict.ACCEPTED, suite: str = "hidden") -> RunResult:
    tests = [
        schema.TestResult("test_hidden.py::test_a", Verdict.ACCEPTED),
        schema.TestResult("test_hidden.py::test_b", verdict),
    ]
    return RunResult(verdict, "toy-add", suite, tests, wall_s=1.0, submission_hash="sha256:feed", backend="local")


@pytest.fixture
def fake_judge(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Replace judging with a recorder; set `calls[0]["verdict"]`-style behaviour via the returned list."""
    calls: list[dict[str, Any]] = []

    def judge(
        slug: str, file: Path, suite: str, as_json: bool, backend: str, verbose: bool, gpus: str | None = None
    ) -> RunResult:
        verdict = calls[0].get("next_verdict", Verdict.ACCEPTED) if calls else Verdict.ACCEPTED
        calls.append({"slug": slug, "file": Path(file).absolute(), "suite": suite, "backend": backend})
        result = fake_result(verdict, suite)
        result.submission_hash = "sha256:" + hashlib.sha256(Path(file).read_bytes()).hexdigest()
        if calls[0].get("edit_while_judging"):
            Path(file).write_text(Path(file).read_text() + "\n# saved again mid-run\n")
        if as_json:
            core.emit_json(result.as_json())
        return result

    monkeypatch.setattr(core, "judge_and_report", judge)
    return calls


def test_the_practice_history_and_takehome_commands_have_help_with_an_example() -> None:
    """(tests/test_cli.py walks every command; this names the ones this module adds, so none goes missing.)"""
    for path in (["start"], ["status"], ["pause"], ["resume"], ["practice"], ["history"], ["stats"], ["takehome"]):
        result = run(*path, "--help")
        assert result.exit_code == 0, (path, result.output)
        assert "judge " in result.output.split("Options:")[0], f"`judge {' '.join(path)} --help` has no example"
    for path in (["takehome", "create"], ["takehome", "grade"]):
        assert run(*path, "--help").exit_code == 0
    assert "--watch" in run("test", "--help").output


def test_start_creates_workspace_and_reports_json(env: Path) -> None:
    data = as_json(run("start", "toy-add", "--minutes", "30", "--json"))
    assert data["slug"] == "toy-add" and data["minutes"] == 30
    assert Path(data["path"]) == env / "toy-add"
    assert (env / "toy-add" / "toy_add.py").read_text() == (TOY / "stub.py").read_text()
    again = run("start", "toy-add")
    assert again.exit_code == 2 and "already a workspace" in again.output
    unknown = run("start", "toy-ad")
    assert unknown.exit_code == 2 and "did you mean 'toy-add'" in unknown.output


def test_start_dir_option(env: Path) -> None:
    data = as_json(run("start", "toy-add", "--dir", "practice/one", "--json"))
    assert Path(data["path"]) == env / "practice" / "one"
    assert data["minutes"] == 5  # the problem's estimated_minutes


def test_status_pause_resume(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outside = run("status")
    assert outside.exit_code == 2 and "judge start" in outside.output
    run("start", "toy-add")
    monkeypatch.chdir(env / "toy-add")
    status = as_json(run("status", "--json"))
    assert status["attempts"] == 0 and not status["paused"] and status["remaining_s"] > 290
    assert as_json(run("pause", "--json"))["paused"] is True
    twice = run("pause")
    assert twice.exit_code == 2 and "already paused" in twice.output
    assert as_json(run("resume", "--json"))["paused"] is False
    assert "left of 5 min" in run("status").output


def test_test_and_submit_need_no_arguments_inside_a_workspace(env: Path, monkeypatch, fake_judge) -> None:
    run("start", "toy-add")
    (env / "toy-add" / "notes").mkdir()
    monkeypatch.chdir(env / "toy-add" / "notes")  # a subfolder: the manifest is found above
    assert run("test").exit_code == 0
    assert run("submit").exit_code == 0
    solution = (env / "toy-add" / "toy_add.py").absolute()
    assert [(c["slug"], c["file"], c["suite"]) for c in fake_judge] == [
        ("toy-add", solution, "public"),
        ("toy-add", solution, "hidden"),
    ]
    wrong = run("test", "other-problem")
    assert wrong.exit_code == 2 and "workspace is for toy-add" in wrong.output


def test_test_outside_a_workspace_asks_for_slug_and_file(env: Path, fake_judge) -> None:
    result = run("test")
    assert result.exit_code == 2
    assert "expected SLUG and FILE" in result.output and "judge start" in result.output
    assert fake_judge == []


def test_submit_is_recorded_with_clock_and_late_mark(env: Path, fake_judge) -> None:
    from judge.catalog import load_catalog

    toy = load_catalog([FIXTURES]).get("toy-add")
    ws = workspace.create(toy, env / "late", minutes=5, now=time.time() - 600)  # started 10 min ago
    result = run("submit", "toy-add", str(ws.solution), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["verdict"] == "Accepted"  # stdout stays one JSON document
    assert "late: submitted" in result.stderr
    [entry] = as_json(run("history", "--json"))["submissions"]
    assert entry["late"] is True and entry["workspace_id"] == ws.workspace_id
    assert 599 <= entry["elapsed_s"] <= 700
    assert history.code(entry["code_sha256"]) == ws.solution.read_text()


def test_submit_outside_a_workspace_is_recorded_without_a_clock(env: Path, fake_judge) -> None:
    solution = env / "mine.py"
    shutil.copyfile(TOY / "reference.py", solution)
    assert run("submit", "toy-add", str(solution)).exit_code == 0
    [entry] = history.entries()
    assert entry.elapsed_s is None and entry.late is False and entry.workspace_id is None
    assert entry.tags == ["fixture"]


def test_a_file_saved_mid_judging_is_not_recorded_as_the_judged_code(env: Path, fake_judge) -> None:
    fake_judge.append({"edit_while_judging": True})
    solution = env / "mine.py"
    shutil.copyfile(TOY / "reference.py", solution)
    assert run("submit", "toy-add", str(solution)).exit_code == 0
    [entry] = history.entries()
    assert "changed while it was being judged" in history.code(entry.code_sha256)


def test_internal_errors_are_not_counted_as_attempts(env: Path, fake_judge) -> None:
    fake_judge.append({"next_verdict": Verdict.INTERNAL_ERROR})
    solution = env / "mine.py"
    shutil.copyfile(TOY / "reference.py", solution)
    assert run("submit", "toy-add", str(solution)).exit_code == 3
    assert history.entries() == []


def test_status_counts_attempts_of_this_workspace(env: Path, monkeypatch, fake_judge) -> None:
    run("start", "toy-add")
    monkeypatch.chdir(env / "toy-add")
    fake_judge.append({"next_verdict": Verdict.WRONG_ANSWER})
    assert run("submit").exit_code == 1
    status = as_json(run("status", "--json"))
    assert status["attempts"] == 1 and status["best_verdict"] == "Wrong Answer"


def test_practice_picks_an_unsolved_problem(env: Path, fake_judge) -> None:
    data = as_json(run("practice", "--tag", "fixture", "--json"))
    assert data["slug"] == "toy-add"
    assert run("submit", "toy-add", str(Path(data["solution"]))).exit_code == 0  # Accepted (faked)
    none_left = run("practice", "--tag", "fixture")
    assert none_left.exit_code == 2 and "no unsolved problem" in none_left.output
    assert run("practice", "--tag", "no-such-tag").exit_code == 2


def test_watch_reruns_on_save_and_stops_cleanly_on_ctrl_c(env: Path, monkeypatch, fake_judge) -> None:
    run("start", "toy-add")
    monkeypatch.chdir(env / "toy-add")
    solution = env / "toy-add" / "toy_add.py"
    polls: list[float] = []

    def sleep(seconds: float) -> None:  # the editor saves on polls 2 and 4; Ctrl-C on poll 6
        polls.append(seconds)
        if len(polls) in (2, 4):
            solution.write_text(solution.read_text() + f"\n# save {len(polls)}\n")
        if len(polls) == 6:
            raise KeyboardInterrupt

    monkeypatch.setattr(workspace.time, "sleep", sleep)
    result = run("test", "--watch")
    assert result.exit_code == 0, result.output
    assert "stopped watching" in result.stderr and "Traceback" not in result.output
    assert len(fake_judge) == 3 and {c["suite"] for c in fake_judge} == {"public"}  # once, then once per save
    assert all(seconds >= workspace.WATCH_INTERVAL_S for seconds in polls)


def test_watch_keeps_going_after_a_user_error(env: Path, monkeypatch) -> None:
    run("start", "toy-add")
    monkeypatch.chdir(env / "toy-add")
    solution = env / "toy-add" / "toy_add.py"
    solution.unlink()  # an editor mid-save by rename: the file is gone for a moment
    polls: list[int] = []

    def sleep(seconds: float) -> None:
        polls.append(1)
        if len(polls) == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(workspace.time, "sleep", sleep)
    result = run("test", "--watch")
    assert result.exit_code == 0
    assert "no such file" in result.stderr and "stopped watching" in result.stderr


@pytest.mark.slow
def test_start_submit_stats_end_to_end(tmp_path: Path) -> None:
    """The candidate's path as a user types it: real console script, real judge (local backend)."""
    environment = {
        **os.environ,
        "JUDGE_PROBLEMS_PATH": str(FIXTURES),
        "JUDGE_HOME": str(tmp_path / "home"),
        "JUDGE_BACKEND": "local",
    }
    judge = [shutil.which("judge") or pytest.fail("the `judge` console script is not installed (pip install -e .)")]

    def judge_run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*judge, *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=240)

    started = judge_run("start", "toy-add", "--minutes", "20", cwd=tmp_path)
    assert started.returncode == 0, started.stderr
    ws = tmp_path / "toy-add"
    shutil.copyfile(TOY / "reference.py", ws / "toy_add.py")  # the candidate "solves" it
    submitted = judge_run("submit", "--json", cwd=ws)
    assert submitted.returncode == 0, submitted.stderr
    result = json.loads(submitted.stdout)
    assert result["verdict"] == "Accepted" and result["passed"] == result["total"] > 0
    stats = json.loads(judge_run("stats", "--json", cwd=ws).stdout)
    [toy] = [p for p in stats["problems"] if p["slug"] == "toy-add"]
    assert toy["attempts"] == 1 and toy["best_verdict"] == "Accepted" and toy["solved"]
    assert 0 <= toy["time_to_first_accepted_s"] < 20 * 60
    assert {"tag": "fixture", "solved": 1, "attempted": 1, "problems": 1} in stats["tags"]
    status = json.loads(judge_run("status", "--json", cwd=ws).stdout)
    assert status["attempts"] == 1 and status["best_verdict"] == "Accepted" and not status["late"]


def _help_examples(args: list[str]) -> list[list[str]]:
    """The example command lines a command's --help shows, as argument lists after `judge`."""
    text = CliRunner().invoke(cli, [*args, "--help"]).output
    return [line.split()[1:] for line in text.splitlines() if line.strip().startswith(f"judge {args[0]}")]


@pytest.mark.parametrize("command", [["practice"], ["list"]])
def test_help_examples_filter_to_real_problems(monkeypatch: pytest.MonkeyPatch, command: list[str]) -> None:
    """Each example's --difficulty/--tag matches a problem of the shipped catalog, and --difficulty
    offers only the difficulties some problem has: new problems keep the help true."""
    monkeypatch.delenv("JUDGE_PROBLEMS_PATH", raising=False)
    from judge.catalog import load_catalog

    problems = list(load_catalog().problems.values())
    examples = _help_examples(command)
    assert any("--difficulty" in e or "--tag" in e for e in examples)
    for example in examples:
        wanted = dict(zip(example[1::2], example[2::2], strict=False))
        matches = [
            p
            for p in problems
            if p.difficulty == wanted.get("--difficulty", p.difficulty) and wanted.get("--tag", "") in ("", *p.tags)
        ]
        assert matches, f"`judge {' '.join(example)}` matches no problem"
    help_text = CliRunner().invoke(cli, [*command, "--help"]).output
    offered = help_text.split("--difficulty [", 1)[1].split("]", 1)[0].split("|")
    assert sorted(offered) == sorted({p.difficulty for p in problems})


def test_practice_names_the_tags_when_one_is_unknown(env: Path) -> None:
    result = CliRunner().invoke(cli, ["practice", "--tag", "no-such-tag"])
    assert result.exit_code == 2 and "expected one of:" in result.output and "fixture" in result.output


def test_submit_while_paused_is_refused_and_not_recorded(env: Path, fake_judge: list) -> None:
    run("start", "toy-add")
    os.chdir(env / "toy-add")
    assert run("pause").exit_code == 0
    refused = run("submit", "--json")
    assert refused.exit_code == 2 and "paused" in json.loads(refused.stdout)["error"]["message"]
    assert "judge resume" in refused.stderr
    assert fake_judge == [] and history.entries() == []  # nothing judged, nothing recorded
    explicit = run("submit", "toy-add", str(env / "toy-add" / "toy_add.py"))  # the workspace's file, named
    assert explicit.exit_code == 2 and "paused" in explicit.output
    assert run("test").exit_code == 0  # the public tests are not timed: allowed, with a note
    assert run("resume").exit_code == 0
    assert run("submit").exit_code == 0


def test_the_clock_stops_at_accepted(env: Path, fake_judge: list, monkeypatch: pytest.MonkeyPatch) -> None:
    run("start", "toy-add")
    os.chdir(env / "toy-add")
    fake_judge.append({"next_verdict": Verdict.WRONG_ANSWER})
    assert run("submit").exit_code == 1
    assert as_json(run("status", "--json"))["finished"] is False
    fake_judge[0]["next_verdict"] = Verdict.ACCEPTED
    accepted = run("submit")
    assert accepted.exit_code == 0 and "the clock stopped" in accepted.stderr
    stopped = as_json(run("status", "--json"))
    assert stopped["finished"] is True
    later = time.time() + 3600
    monkeypatch.setattr(time, "time", lambda: later)
    after_an_hour = as_json(run("status", "--json"))
    assert after_an_hour["elapsed_s"] == stopped["elapsed_s"] and not after_an_hour["late"]
    assert "stopped at your first Accepted" in run("pause").output
    assert "Accepted after" in run("status").output


def pytest_here(folder: Path) -> subprocess.CompletedProcess[str]:
    """`python -m pytest test_public.py`, typed in `folder`."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_public.py"]
    return subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_pytest_runs_the_public_tests_inside_a_workspace(env: Path) -> None:
    """`python -m pytest test_public.py` works in a workspace (the conftest `judge start` writes)."""
    run("start", "toy-add")
    folder = env / "toy-add"
    stub = pytest_here(folder)
    assert "fixture 'candidate' not found" not in stub.stdout
    assert stub.returncode == 1, stub.stdout + stub.stderr  # the stub fails its tests, as tests
    shutil.copyfile(TOY / "reference.py", folder / "toy_add.py")
    solved = pytest_here(folder)
    assert solved.returncode == 0, solved.stdout + solved.stderr
    assert "passed" in solved.stdout
