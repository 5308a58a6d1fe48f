"""Mutation testing: the operators, stable ids, mutants.toml, the runner's exact kill rate, the verify sample."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from judge import mutants
from judge.catalog import load_problem
from judge.mutants import Equivalent, Record, generate, match_recorded, read_record, sample, sample_check, write_record

ROOT = Path(__file__).resolve().parent.parent

OPERATOR_SOURCE = '''"""Module docstring: never mutated."""

LIMIT = 3


def f(xs: list[int], name: str = "a", *, scale: float = 2.0) -> int:
    """Docstring: never mutated."""
    if not xs or len(xs) < LIMIT:
        raise ValueError(f"xs must have {LIMIT} items, got {len(xs)}")
    total = xs[0] * scale
    head = xs[1:n]
    total += sum(head, start=0)
    assert total >= 0, "a message: never mutated"
    return total if name == "a" else -total
'''
DEF = 'def f(xs: list[int], name: str = "a", *, scale: float = 2.0) -> int:'


def test_each_operator_produces_the_expected_mutants() -> None:
    found = {m.id.rsplit(":", 1)[0]: m for m in generate(OPERATOR_SOURCE)}
    changed = {key: _changed(m.diff) for key, m in found.items()}
    expected = {
        "<module>:number:1": ("LIMIT = 3", "LIMIT = 4"),
        "<module>:number:2": ("LIMIT = 3", "LIMIT = 2"),
        "<module>:number:3": ("LIMIT = 3", "LIMIT = 0"),
        "f:default:1": (DEF, DEF.replace('name: str = "a"', 'name: str = ""')),
        "f:default:2": (DEF, DEF.replace("scale: float = 2.0", "scale: float = 0.0")),
        "f:default:3": (DEF, DEF.replace("scale: float = 2.0", "scale: float = 3.0")),
        "f:logic:1": ("if not xs or len(xs) < LIMIT:", "if not xs and len(xs) < LIMIT:"),
        "f:logic:2": ("if not xs or len(xs) < LIMIT:", "if xs or len(xs) < LIMIT:"),
        "f:compare:1": ("if not xs or len(xs) < LIMIT:", "if not xs or len(xs) >= LIMIT:"),
        "f:boundary:1": ("if not xs or len(xs) < LIMIT:", "if not xs or len(xs) <= LIMIT:"),
        "f:remove:1": ('raise ValueError(f"xs must have {LIMIT} items, got {len(xs)}")', "pass"),
        "f:remove:2": ("total = xs[0] * scale", "pass"),
        "f:arith:1": ("total = xs[0] * scale", "total = xs[0] / scale"),
        "f:number:1": ("total = xs[0] * scale", "total = xs[1] * scale"),
        "f:remove:3": ("head = xs[1:n]", "pass"),
        "f:slice:1": ("head = xs[1:n]", "head = xs[1:n + 1]"),
        "f:slice:2": ("head = xs[1:n]", "head = xs[1:n - 1]"),
        "f:number:2": ("head = xs[1:n]", "head = xs[2:n]"),
        "f:number:3": ("head = xs[1:n]", "head = xs[0:n]"),
        "f:remove:4": ("total += sum(head, start=0)", "pass"),
        "f:kwarg:1": ("total += sum(head, start=0)", "total += sum(head)"),
        "f:arith:2": ("total += sum(head, start=0)", "total -= sum(head, start=0)"),
        "f:number:4": ("total += sum(head, start=0)", "total += sum(head, start=1)"),
        "f:remove:5": ('assert total >= 0, "a message: never mutated"', "pass"),
        "f:compare:2": (
            'assert total >= 0, "a message: never mutated"',
            'assert total < 0, "a message: never mutated"',
        ),
        "f:boundary:2": (
            'assert total >= 0, "a message: never mutated"',
            'assert total > 0, "a message: never mutated"',
        ),
        "f:number:5": (
            'assert total >= 0, "a message: never mutated"',
            'assert total >= 1, "a message: never mutated"',
        ),
        "f:return:1": ('return total if name == "a" else -total', "return None"),
        "f:compare:3": ('return total if name == "a" else -total', 'return total if name != "a" else -total'),
        "f:string:1": ('return total if name == "a" else -total', 'return total if name == "" else -total'),
        "f:logic:3": ('return total if name == "a" else -total', 'return total if name == "a" else total'),
    }
    assert changed == expected
    assert {m.operator for m in found.values()} >= set(mutants.OPERATORS) - {"bool"}
    assert all("Docstring" not in c for pair in changed.values() for c in pair)


def _changed(diff: str) -> tuple[str, str]:
    minus = [line[1:].strip() for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")]
    plus = [line[1:].strip() for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    return minus[0], plus[0]


def test_removed_statements_and_booleans() -> None:
    source = "def g(x):\n    y = x\n    y.flag = True\n    return y\n"
    ops = {(m.operator, _changed(m.diff)) for m in generate(source)}
    assert ("remove", ("y = x", "pass")) in ops
    assert ("remove", ("y.flag = True", "pass")) in ops
    assert ("bool", ("y.flag = True", "y.flag = False")) in ops


def test_ids_are_stable_across_unrelated_edits() -> None:
    before = {m.id for m in generate(OPERATOR_SOURCE) if m.function == "f"}
    edited = OPERATOR_SOURCE.replace("LIMIT = 3\n", "LIMIT = 3\n\n\ndef helper(a):\n    return a * 2 + 1\n")
    after = {m.id for m in generate(edited) if m.function == "f"}
    assert before == after
    # a change inside the function shifts the counter `n`; the line hash still finds the mutant
    inside = OPERATOR_SOURCE.replace(
        "    total = xs[0] * scale\n", "    xs = list(xs) + [7]\n    total = xs[0] * scale\n"
    )
    moved = generate(inside)
    old_id = next(m.id for m in generate(OPERATOR_SOURCE) if m.id.startswith("f:number:1:"))
    assert old_id not in {m.id for m in moved}
    matched, stale = match_recorded(moved, Record(equivalent=[Equivalent(old_id, "r")]))
    assert not stale and len(matched) == 1
    (new_id,) = matched
    assert new_id.startswith("f:number:") and new_id.endswith(old_id.rsplit(":", 1)[1])


def test_mutants_toml_round_trip_and_validation(tmp_path: Path) -> None:
    record = Record(0.9512, 140, [Equivalent("f:number:1:abcdef", 'reason with "quotes"')])
    write_record(tmp_path, record)
    assert read_record(tmp_path) == record
    (tmp_path / "mutants.toml").write_text('[[equivalent]]\nid = "f:number:1:abcdef"\nreason = ""\n')
    with pytest.raises(mutants.MutantsFileError, match="reason"):
        read_record(tmp_path)
    (tmp_path / "mutants.toml").write_text('[[equivalent]]\nid = "line 12"\nreason = "r"\n')
    with pytest.raises(mutants.MutantsFileError, match="id"):
        read_record(tmp_path)


def test_sample_is_seeded_and_the_rule_is_binomial() -> None:
    population = generate(OPERATOR_SOURCE)
    assert [m.id for m in sample(population, 8)] == [m.id for m in sample(population, 8)]
    assert len(sample(population, 8)) == 8 and sample(population, 0) == []
    # recorded 0.95: 0-2 survivors of 8 pass, 3 fail
    assert sample_check(2, 8, 0.95)[0] and not sample_check(3, 8, 0.95)[0]
    assert sample_check(2, 8, 1.0)[0] and not sample_check(3, 8, 1.0)[0]
    assert not sample_check(0, 8, None)[0]


# -- the runner, on a tiny problem whose suite kills some mutants and misses others --------------

REFERENCE = '''"""Mini."""


def add(a: int, b: int) -> int:
    """Sum."""
    return a + b


def is_big(x: int) -> bool:
    if x < 0:
        raise ValueError(f"x must be >= 0, got {x}")
    return x > 100


def spin(n: int) -> int:
    i = 0
    while i < n:
        i += 1
    return i
'''

HIDDEN = """
def test_add(candidate):
    assert candidate.add(2, 3) == 5


def test_is_big(candidate):
    assert candidate.is_big(500) is True
    assert candidate.is_big(5) is False


def test_spin(candidate):
    assert candidate.spin(3) == 3
"""

# killed by the suite above, by reading it: everything else survives
KILLED = {"add:return:1", "add:arith:1", "is_big:compare:1", "is_big:return:1", "is_big:compare:2", "is_big:number:4"}
KILLED |= {"spin:remove:1", "spin:compare:1", "spin:boundary:1", "spin:number:2", "spin:return:1"}
SPIN_LOOPS = {"spin:arith:1", "spin:number:3", "spin:remove:2"}  # i -= 1, i += 0, `i += 1` removed


def make_problem(root: Path) -> Path:
    folder = root / "mini-math"
    folder.mkdir(parents=True)
    (folder / "problem.toml").write_text(
        textwrap.dedent(
            """
            title = "Mini math"
            difficulty = "easy"
            tags = ["fixture"]
            entry_points = ["add", "is_big", "spin"]
            estimated_minutes = 5
            preload = []
            [limits]
            test_timeout_s = 5
            suite_cpu_s = 60
            memory_mb = 512
            [tolerances]
            float64 = { atol = 1e-9, rtol = 1e-7 }
            """
        )
    )
    (folder / "reference.py").write_text(REFERENCE)
    (folder / "stub.py").write_text("def add(a, b):\n    raise NotImplementedError\n")
    (folder / "statement.md").write_text("# Mini math\n")
    (folder / "test_public.py").write_text("def test_nothing(candidate):\n    pass\n")
    (folder / "test_hidden.py").write_text(HIDDEN)
    return folder


def judge_mutants(root: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "JUDGE_PROBLEMS_PATH": str(root),
        "JUDGE_HOME": str(home),
        "JUDGE_MUTANT_FLOOR_S": "1",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "sandbox")]),
    }
    command = [sys.executable, "-m", "judge", "mutants", "mini-math", "--json", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.slow
def test_runner_kill_rate_is_exactly_known(tmp_path: Path) -> None:
    folder = make_problem(tmp_path / "problems")
    write_record(
        folder,
        Record(
            equivalent=[
                Equivalent(next(m.id for m in generate(REFERENCE) if m.id.startswith("is_big:number:1:")), "fixture"),
                Equivalent("is_big:number:9:abcdef", "no such mutant: stale"),
            ]
        ),
    )
    done = judge_mutants(tmp_path / "problems", tmp_path / "home", "--jobs", "2")
    assert done.returncode == 1, done.stderr[-3000:]
    report = json.loads(done.stdout)
    by_key = {r["id"].rsplit(":", 1)[0]: r for r in report["results"]}
    killed = {key for key, r in by_key.items() if r["killed"]}
    assert killed == KILLED | SPIN_LOOPS
    assert all(by_key[key]["verdict"] == "Time Limit Exceeded" for key in SPIN_LOOPS)
    assert all(by_key[key]["test"] == "test_hidden.py::test_spin" for key in SPIN_LOOPS)  # the test it was in
    total = len(generate(REFERENCE))
    assert report["mutants"] == total and report["equivalent"] == 1
    assert report["survived"] == total - len(killed) - 1
    assert report["kill_rate"] == round(len(killed) / (total - 1), 4)
    assert [e["id"] for e in report["stale_equivalents"]] == ["is_big:number:9:abcdef"]
    assert all(s["diff"].startswith("--- a/reference.py") for s in report["survivors"])
    assert "[" in done.stderr and "ETA" in done.stderr  # progress on stderr

    again = judge_mutants(tmp_path / "problems", tmp_path / "home", "--record")
    second = json.loads(again.stdout)
    assert all(r["cached"] for r in second["results"])
    assert {r["id"] for r in second["results"] if r["killed"]} == {r["id"] for r in report["results"] if r["killed"]}
    recorded = read_record(folder)
    assert recorded.score == pytest.approx(report["kill_rate"]) and recorded.mutants == total
    assert len(recorded.equivalent) == 2  # kept, the stale one too: a person removes it


@pytest.mark.slow
def test_verify_sample_fails_when_the_recorded_score_is_inflated(tmp_path: Path, monkeypatch) -> None:
    from judge.mutants import check_sample

    folder = make_problem(tmp_path / "problems")
    monkeypatch.setenv("JUDGE_PROBLEMS_PATH", str(tmp_path / "problems"))
    monkeypatch.setenv("JUDGE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("JUDGE_MUTANT_FLOOR_S", "1")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), str(ROOT / "sandbox")]))
    population = generate(REFERENCE)
    chosen = sample(population, 16)
    survivors = [m.id for m in chosen if m.id.rsplit(":", 1)[0] not in KILLED | SPIN_LOOPS]
    assert len(survivors) >= 3  # the fixture's true kill rate is 2/3: a sample of 16 shows it

    write_record(folder, Record(score=1.0, mutants=len(population)))
    check = check_sample(load_problem(folder), 16)
    assert not check.ok, check.detail
    assert "well below" in check.detail and sorted(check.survivors) == sorted(survivors)

    honest = len([m for m in population if m.id.rsplit(":", 1)[0] in KILLED | SPIN_LOOPS]) / len(population)
    write_record(folder, Record(score=honest, mutants=len(population)))
    assert check_sample(load_problem(folder), 16).ok

    write_record(folder, Record())
    unrecorded = check_sample(load_problem(folder), 16)
    assert not unrecorded.ok and "no recorded score" in unrecorded.detail


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid and stat.rsplit(")", 1)[1].split()[0] != "Z":
                found.add(int(entry.name))
    return found


@pytest.mark.slow
def test_ctrl_c_leaves_no_child_behind(tmp_path: Path) -> None:
    import signal
    import time

    make_problem(tmp_path / "problems")
    env = {
        **os.environ,
        "JUDGE_PROBLEMS_PATH": str(tmp_path / "problems"),
        "JUDGE_HOME": str(tmp_path / "home"),
        "JUDGE_MUTANT_FLOOR_S": "60",  # the looping mutants would run for a minute
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "sandbox")]),
    }
    ids = [m.id for m in generate(REFERENCE) if m.id.rsplit(":", 1)[0] in SPIN_LOOPS]
    command = [sys.executable, "-m", "judge", "mutants", "mini-math", "--jobs", "2"]
    for mutant_id in ids:
        command += ["--id", mutant_id]
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # a shell's background job ignores it
    )
    deadline = time.monotonic() + 120
    children: set[int] = set()
    while len(children) < 2 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
        children = _children(process.pid)
    assert len(children) == 2, "the runner never had two mutants in flight"
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr[-2000:]
    assert "every child was stopped" in stderr
    for pid in children:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1][:3]
