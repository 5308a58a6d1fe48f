"""judge/practice/history.py and `judge history` / `judge stats`: recording, statistics, two writers at once, crashes."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from judge.cli import cli
from judge.practice import history
from judge_harness import schema
from judge_harness.schema import RunResult, Verdict

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "problems"

# A child process that records submissions; CRASH picks where it kills itself (SIGKILL, no cleanup).
WRITER = textwrap.dedent(
    """
    import os, signal, sys, time
    from contextlib import contextmanager
    from pathlib import Path
    from judge.practice import history
    from judge_harness.schema import RunResult, TestResult, Verdict

    db, who, count, go, crash = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]

    def result(i):
        tests = [TestResult("t::a", Verdict.ACCEPTED), TestResult("t::b", Verdict.ACCEPTED if i % 2 else Verdict.WRONG_ANSWER)]
        verdict = Verdict.ACCEPTED if i % 2 else Verdict.WRONG_ANSWER
        return RunResult(verdict, "toy-add", "hidden", tests, submission_hash=f"sha256:{who}-{i}", backend="local")

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    while time.time() < go:
        time.sleep(0.002)
    print("start", time.time(), flush=True)
    for i in range(count):
        if i == count - 1 and crash == "after-code":  # code row written, submission row not yet
            store = history._store_code
            history._store_code = lambda *a: (store(*a), die())
        if i == count - 1 and crash == "before-commit":  # both rows written, COMMIT never runs
            @contextmanager
            def no_commit(connection):
                connection.execute("BEGIN IMMEDIATE")
                yield connection
                die()
            history.transaction = no_commit
        history.record(result(i), f"# {who} attempt {i}\\n", tags=["fixture"], path=db)
    print("end", time.time(), flush=True)
    """
)


def writer(db: Path, who: str, count: int, go: float, crash: str = "none") -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db), who, str(count), str(go), crash],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def check_consistent(db: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(db)
    assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables in (set(), {"code", "submissions", "sqlite_sequence"}), "the schema was half created"
    if not tables:  # killed before the schema's own transaction committed: empty, and that is consistent
        return connection
    orphans = connection.execute(
        "SELECT count(*) FROM code WHERE sha256 NOT IN (SELECT code_sha256 FROM submissions)"
    ).fetchone()[0]
    assert orphans == 0, "a code row without its submission: a transaction was half applied"
    return connection


def result(verdict: Verdict, code: str = "sha256:x") -> RunResult:
    tests = [schema.TestResult("t::a", Verdict.ACCEPTED), schema.TestResult("t::b", verdict)]
    return RunResult(
        verdict, "toy-add", "hidden", tests, wall_s=2.0, peak_bytes=10, submission_hash=code, backend="local"
    )


def test_data_dir_follows_judge_home_then_xdg_then_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JUDGE_HOME", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert history.db_path() == tmp_path / "home" / ".local" / "share" / "judge" / "history.sqlite3"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert history.data_dir() == tmp_path / "xdg" / "judge"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/ignored")  # the XDG spec says to ignore relative paths
    assert history.data_dir() == tmp_path / "home" / ".local" / "share" / "judge"
    monkeypatch.setenv("JUDGE_HOME", str(tmp_path / "judge-home"))
    assert history.data_dir() == tmp_path / "judge-home"


def test_connection_uses_wal_and_a_busy_timeout(tmp_path: Path) -> None:
    with history.connect(tmp_path / "h.sqlite3") as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute("PRAGMA busy_timeout").fetchone()[0] == history.BUSY_TIMEOUT_MS
        assert connection.execute("PRAGMA user_version").fetchone()[0] == history.SCHEMA_VERSION


def test_record_and_read_back(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    assert history.entries(path=db) == [] and not db.exists()  # reading never creates the database
    first = history.record(
        result(Verdict.WRONG_ANSWER, "sha256:a"), "print('a')\n", tags=["fixture"], now=100.0, path=db
    )
    second = history.record(
        result(Verdict.ACCEPTED, "sha256:b"),
        "print('b')\n",
        elapsed_s=42.0,
        late=True,
        workspace_id="w1",
        now=200.0,
        path=db,
    )
    newest, oldest = history.entries(path=db)
    assert (newest.id, oldest.id) == (second, first)
    assert (
        newest.verdict is Verdict.ACCEPTED and newest.late and newest.elapsed_s == 42.0 and newest.workspace_id == "w1"
    )
    assert (
        oldest.counts["Wrong Answer"] == 1 and oldest.passed == 1 and oldest.total == 2 and oldest.tags == ["fixture"]
    )
    assert history.code("sha256:b", path=db) == "print('b')\n"
    assert [e.id for e in history.entries(workspace_id="w1", path=db)] == [second]
    assert newest.as_json()["submitted_at"] == "1970-01-01T00:03:20Z"


def test_stats_per_problem_and_per_tag(tmp_path: Path) -> None:
    from judge.catalog import load_catalog

    db = tmp_path / "h.sqlite3"
    history.record(result(Verdict.RUNTIME_ERROR), "x", tags=["fixture"], now=1000.0, path=db)
    history.record(result(Verdict.WRONG_ANSWER), "x", tags=["fixture"], now=1100.0, path=db)
    history.record(result(Verdict.ACCEPTED), "x", tags=["fixture"], now=1300.0, path=db)  # no clock: wall since first
    history.record(result(Verdict.WRONG_ANSWER), "x", tags=["fixture"], now=1400.0, path=db)
    problems = [load_catalog([FIXTURES]).get("toy-add")]  # the problem these submits are for
    stats = history.stats(problems, path=db)
    [toy] = stats["problems"]
    assert toy["attempts"] == 4 and toy["best_verdict"] == "Accepted"
    assert toy["attempts_to_first_accepted"] == 3 and toy["time_to_first_accepted_s"] == 300.0
    assert stats["tags"] == [{"tag": "fixture", "solved": 1, "attempted": 1, "problems": 1}]
    assert stats["totals"] == {"submissions": 4, "attempted": 1, "solved": 1}
    history.record(result(Verdict.ACCEPTED), "x", tags=["fixture"], elapsed_s=77.0, now=1500.0, path=db)
    assert history.stats(path=db)["problems"][0]["time_to_first_accepted_s"] == 300.0  # the first AC counts


def test_best_verdict_order() -> None:
    assert history.best([Verdict.RUNTIME_ERROR, Verdict.WRONG_ANSWER]) is Verdict.WRONG_ANSWER
    assert history.best([Verdict.TIME_LIMIT_EXCEEDED, Verdict.ACCEPTED]) is Verdict.ACCEPTED
    assert history.best([]) is None


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    db, count = tmp_path / "h.sqlite3", 40
    go = time.time() + 1.5  # both start at the same instant, after their imports
    writers = [writer(db, name, count, go) for name in ("left", "right")]
    outputs = [w.communicate(timeout=120) for w in writers]
    for w, (_, err) in zip(writers, outputs, strict=True):
        assert w.returncode == 0, err
    spans = [[float(line.split()[1]) for line in out.splitlines()] for out, _ in outputs]
    assert max(s[0] for s in spans) < min(s[1] for s in spans), f"the writers did not overlap: {spans}"
    connection = check_consistent(db)
    rows = connection.execute("SELECT code_sha256 FROM submissions").fetchall()
    assert len(rows) == 2 * count
    assert {r[0] for r in rows} == {f"sha256:{who}-{i}" for who in ("left", "right") for i in range(count)}


@pytest.mark.parametrize("crash", ["after-code", "before-commit"])
def test_a_crash_mid_transaction_leaves_the_last_committed_state(tmp_path: Path, crash: str) -> None:
    db = tmp_path / "h.sqlite3"
    child = writer(db, "victim", 3, 0.0, crash)  # two submits commit, the third dies inside its transaction
    child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL
    connection = check_consistent(db)
    assert connection.execute("SELECT count(*) FROM submissions").fetchone()[0] == 2
    assert connection.execute("SELECT count(*) FROM code").fetchone()[0] == 2
    connection.close()
    history.record(result(Verdict.ACCEPTED, "sha256:after"), "ok", path=db)  # the dead writer's lock is gone
    assert len(history.entries(path=db)) == 3


def test_killing_a_writer_at_a_random_moment_keeps_the_database_consistent(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    for delay in (0.05, 0.2, 0.4):  # seconds into the write loop
        child = writer(db, f"k{delay}", 100_000, 0.0)
        assert child.stdout.readline().startswith("start")  # imports done, writing from now on
        time.sleep(delay)
        os.kill(child.pid, signal.SIGKILL)
        child.communicate(timeout=30)
        check_consistent(db).close()
    assert len(history.entries(path=db)) >= 1


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("JUDGE_PROBLEMS_PATH", str(FIXTURES))
    monkeypatch.setenv("JUDGE_HOME", str(tmp_path / "home"))
    return tmp_path


def test_history_and_stats_commands(env: Path) -> None:
    runner = CliRunner()
    assert "no submits yet" in runner.invoke(cli, ["history"]).output
    history.record(
        result(Verdict.WRONG_ANSWER, "sha256:1"), "def add(a, b):\n    return a - b\n", tags=["fixture"], now=10.0
    )
    history.record(
        result(Verdict.ACCEPTED, "sha256:2"),
        "def add(a, b):\n    return a + b\n",
        tags=["fixture"],
        elapsed_s=90.0,
        now=20.0,
    )
    listed = runner.invoke(cli, ["history", "toy-add", "--json"])
    assert listed.exit_code == 0
    data = json.loads(listed.stdout)
    assert [s["verdict"] for s in data["submissions"]] == ["Accepted", "Wrong Answer"]
    assert data["database"] == str(env / "home" / "history.sqlite3")
    assert json.loads(runner.invoke(cli, ["history", "other", "--json"]).stdout)["submissions"] == []
    first_id = data["submissions"][-1]["id"]
    code = runner.invoke(cli, ["history", "--code", str(first_id)])
    assert code.exit_code == 0 and code.stdout == "def add(a, b):\n    return a - b\n"
    assert runner.invoke(cli, ["history", "--code", "999"]).exit_code == 2
    as_json = runner.invoke(cli, ["history", "--code", str(first_id), "--json"])
    assert as_json.exit_code == 0
    entry = json.loads(as_json.stdout)
    assert entry["id"] == first_id and entry["verdict"] == "Wrong Answer"
    assert entry["code"] == "def add(a, b):\n    return a - b\n"
    missing = runner.invoke(cli, ["history", "--code", "999", "--json"])
    assert missing.exit_code == 2 and json.loads(missing.stdout)["error"]["kind"] == "usage"
    table = runner.invoke(cli, ["history"])
    assert table.exit_code == 0 and "toy-add" in table.output and "1:30" in table.output
    header = table.output.splitlines()[0].split()
    assert header[header.index("clock") + 1] == "late", "every column of the table has a header"
    stats = runner.invoke(cli, ["stats", "--json"])
    assert stats.exit_code == 0
    [toy] = [p for p in json.loads(stats.stdout)["problems"] if p["slug"] == "toy-add"]
    assert toy == {
        "slug": "toy-add",
        "attempts": 2,
        "best_verdict": "Accepted",
        "solved": True,
        "attempts_to_first_accepted": 2,
        "time_to_first_accepted_s": 90.0,
        "last_submitted_at": "1970-01-01T00:00:20Z",
    }
    assert "1 solved of 1 attempted" in runner.invoke(cli, ["stats"]).output


def test_an_unwritable_history_warns_but_keeps_the_verdict(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from judge.cli import common as core

    (env / "home").write_text("a file where the data folder should be")
    solution = env / "mine.py"
    solution.write_text((FIXTURES / "toy-add" / "reference.py").read_text())
    monkeypatch.setattr(core, "judge_and_report", lambda *args: result(Verdict.ACCEPTED))
    submitted = CliRunner().invoke(cli, ["submit", "toy-add", str(solution)])
    assert submitted.exit_code == 0
    assert "judged but not recorded" in submitted.stderr


def test_a_database_from_a_newer_judge_is_refused_not_downgraded(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    with sqlite3.connect(db) as connection:
        connection.execute("PRAGMA user_version = 99")
    with pytest.raises(sqlite3.DatabaseError, match="newer judge"):
        history.record(result(Verdict.ACCEPTED), "x", path=db)
