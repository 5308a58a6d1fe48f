"""judge/practice/workspace.py: laying out a workspace, finding it, and its clock."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from judge.catalog import Problem, load_catalog
from judge.practice import workspace

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "problems"


@pytest.fixture(scope="module")
def toy() -> Problem:
    return load_catalog([FIXTURES]).get("toy-add")


def test_create_lays_out_statement_stub_public_tests_and_manifest(toy: Problem, tmp_path: Path) -> None:
    ws = workspace.create(toy, tmp_path / "ws", now=1_000_000.0)
    assert sorted(p.name for p in ws.root.iterdir()) == [
        ".judge.json",
        "conftest.py",
        "statement.md",
        "test_public.py",
        "toy_add.py",
    ]
    assert (ws.root / "toy_add.py").read_text() == toy.stub.read_text()
    assert (ws.root / "test_public.py").read_text() == toy.test_file("public").read_text()
    assert "test_hidden" not in {p.stem for p in ws.root.iterdir()}
    manifest = json.loads((ws.root / ".judge.json").read_text())
    assert manifest["slug"] == "toy-add"
    assert manifest["problem_hash"] == toy.content_hash()
    assert manifest["minutes"] == toy.estimated_minutes  # the default clock
    assert manifest["started_at"] == "1970-01-12T13:46:40Z"
    assert manifest["paused"] == []
    assert workspace.load(ws.manifest) == ws


def test_create_never_overwrites(toy: Problem, tmp_path: Path) -> None:
    workspace.create(toy, tmp_path / "ws")
    with pytest.raises(workspace.WorkspaceError, match="already a workspace"):
        workspace.create(toy, tmp_path / "ws")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "toy_add.py").write_text("my work")
    with pytest.raises(workspace.WorkspaceError, match="toy_add.py"):
        workspace.create(toy, tmp_path / "other")
    assert (tmp_path / "other" / "toy_add.py").read_text() == "my work"


def test_clock_subtracts_paused_intervals_and_marks_late(toy: Problem, tmp_path: Path) -> None:
    ws = workspace.create(toy, tmp_path / "ws", minutes=5, now=1000.0)
    assert ws.elapsed_s(1060.0) == 60.0
    ws.pause(1100.0)
    assert ws.is_paused and ws.elapsed_s(1250.0) == 100.0  # the clock stands still while paused
    with pytest.raises(workspace.WorkspaceError, match="already paused"):
        ws.pause(1200.0)
    ws.resume(1300.0)
    with pytest.raises(workspace.WorkspaceError, match="not paused"):
        ws.resume(1310.0)
    ws.save()
    reloaded = workspace.load(ws.manifest)
    assert reloaded.elapsed_s(1400.0) == 200.0
    assert reloaded.remaining_s(1400.0) == 100.0 and not reloaded.is_late(1400.0)
    assert reloaded.is_late(1501.0)


def test_find_walks_up_and_owning_matches_only_the_solution_file(toy: Problem, tmp_path: Path) -> None:
    ws = workspace.create(toy, tmp_path / "ws")
    (ws.root / "scratch").mkdir()
    assert workspace.find(ws.root / "scratch").workspace_id == ws.workspace_id
    assert workspace.find(tmp_path) is None
    assert workspace.owning(ws.root / "toy_add.py", "toy-add").workspace_id == ws.workspace_id
    assert workspace.owning(ws.root / "scratch" / "toy_add.py", "toy-add") is None
    assert workspace.owning(ws.root / "toy_add.py", "another-problem") is None


def test_corrupt_manifest_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / ".judge.json").write_text("{not json")
    with pytest.raises(workspace.WorkspaceError, match="judge start"):
        workspace.find(tmp_path)


def test_save_is_atomic_replace(toy: Problem, tmp_path: Path) -> None:
    ws = workspace.create(toy, tmp_path / "ws")
    ws.pause()
    ws.save()
    assert [p.name for p in ws.root.glob(".judge.*")] == [".judge.json"]  # no temp file left behind


@pytest.mark.parametrize(("seconds", "text"), [(0, "0:00"), (65.9, "1:05"), (3723, "1:02:03"), (-90, "-1:30")])
def test_clock_format(seconds: float, text: str) -> None:
    assert workspace.clock(seconds) == text


def test_changes_yields_on_save_and_sleeps_between_polls(tmp_path: Path) -> None:
    target = tmp_path / "solution.py"
    target.write_text("v1")
    sleeps: list[float] = []
    edits = iter(["v2 (sizes differ: mtime alone may not tick within a coarse clock)", None, "v3", None])

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        edit = next(edits, None)
        if edit is not None:
            target.write_text(edit)

    seen = 0
    for _ in workspace.changes(target, interval_s=0.25, sleep=sleep):
        seen += 1
        if seen == 2:
            break
    assert seen == 2
    assert sleeps == [0.25, 0.25, 0.25]  # one sleep per poll: no busy loop


def test_changes_ignores_a_file_that_vanishes_for_a_moment(tmp_path: Path) -> None:
    target = tmp_path / "solution.py"
    target.write_text("v1")
    steps = iter([lambda: target.unlink(), lambda: target.write_text("v2!")])

    def sleep(seconds: float) -> None:
        next(steps)()

    assert next(workspace.changes(target, sleep=sleep)) is None
    assert target.read_text() == "v2!"


def test_a_pause_neither_adds_nor_takes_a_second(toy: Problem, tmp_path: Path) -> None:
    ws = workspace.create(toy, tmp_path / "ws", minutes=5, now=1000.0)
    ws.pause(1010.1)
    ws.resume(1020.9)  # paused 10.8 s; stored to the second, it became 10 s (pause 1010, resume 1020)
    ws.pause(1030.9)
    ws.resume(1031.0)
    ws.save()
    reloaded = workspace.load(ws.manifest)
    assert reloaded.elapsed_s(1040.0) == pytest.approx(40.0 - 10.8 - 0.1, abs=1e-6)
    assert reloaded.elapsed_s(1040.0) == pytest.approx(ws.elapsed_s(1040.0), abs=1e-6)


def test_the_clock_stops_at_the_first_accepted(toy: Problem, tmp_path: Path) -> None:
    ws = workspace.create(toy, tmp_path / "ws", minutes=5, now=1000.0)
    ws.finish(1100.5)
    ws.finish(1200.0)  # a later Accepted keeps the first one's time
    ws.save()
    reloaded = workspace.load(ws.manifest)
    assert reloaded.is_finished and reloaded.elapsed_s(9999.0) == pytest.approx(100.5)
    assert not reloaded.is_late(9999.0)
    with pytest.raises(workspace.WorkspaceError, match="stopped at your first Accepted"):
        reloaded.pause(1300.0)
