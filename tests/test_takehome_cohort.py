"""Cohorts, seals and zips (judge/takehome/cohort.py), and one cohort graded end to end on docker.

The end-to-end case is the interviewer's: bundles for seven candidates under one cohort, each
returned a different way (the reference verbatim, a renamed copy of another candidate, their own
code, late by the seal, the untouched stub, an edited public test, a zip), graded in one report
on the docker backend and read back in headless Chromium.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from judge.catalog import load_catalog
from judge.cli import cli
from judge.takehome import cohort
from judge.takehome.bundle import TakehomeError, create_bundle
from judge.units import from_iso

from .sandbox_support import docker_backend_or_skip
from .takehome_support import ALICE, FIXTURES, Elements, dump_dom


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("JUDGE_PROBLEMS_PATH", str(FIXTURES))
    monkeypatch.setenv("JUDGE_HOME", str(tmp_path / "home"))
    return tmp_path


def test_candidates_parse_with_their_own_deadlines() -> None:
    assert cohort.parse_candidates("alice, bob:72,carol", 48) == [
        cohort.Invitation("alice", 48),
        cohort.Invitation("bob", 72),
        cohort.Invitation("carol", 48),
    ]
    for bad, needle in (("", "at least one"), ("a,a", "twice"), ("x:soon", "NAME:HOURS"), ("../x", "plain name")):
        with pytest.raises(TakehomeError, match=needle):
            cohort.parse_candidates(bad, 48)


def test_a_seal_dates_the_files_and_shows_a_later_edit(tmp_path: Path) -> None:
    toy = load_catalog([FIXTURES]).get("toy-add")
    document = cohort.create_cohort([toy], [cohort.Invitation("ann", 1)], tmp_path / "c", now=1_000_000)
    [bundle] = cohort.load_manifests([tmp_path / "c"])[1]
    folder = tmp_path / "c" / "ann"
    assert bundle.candidate == "ann" and bundle.bundle_id == document["bundles"][0]["bundle_id"]
    assert cohort.check_seal(bundle, folder).status == "no seal"
    (folder / "toy-add" / "toy_add.py").write_text(ALICE)
    cohort.seal(folder, now=1_000_000 + 3600 + 3 * 3600 + 12 * 60)
    check = cohort.check_seal(bundle, folder)
    assert check.status == "sealed" and cohort.lateness(bundle.deadline, check.sealed_at, True) == "late by 3 h 12 min"
    assert cohort.lateness(bundle.deadline, bundle.deadline - 1, False) == (
        "on time (no seal: time from mtime, unverified)"
    )
    (folder / "toy-add" / "toy_add.py").write_text(ALICE + "\n# later\n")
    changed = cohort.check_seal(bundle, folder)
    assert changed.status == "invalid" and "changed after the seal" in changed.message
    seal = json.loads((folder / "seal.json").read_text())
    seal["sealed_at"] = "2000-01-01T00:00:00Z"  # backdated by hand: the mac no longer matches
    (folder / "seal.json").write_text(json.dumps(seal))
    assert "not made with this bundle's key" in cohort.check_seal(bundle, folder).message


def test_a_zip_may_not_write_outside_its_folder(tmp_path: Path) -> None:
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("../escaped.txt", "x")
    (tmp_path / "into").mkdir()
    with pytest.raises(TakehomeError, match="outside the folder"):
        cohort.unpack(archive, tmp_path / "into")
    assert not (tmp_path / "escaped.txt").exists()


def zip_folder(folder: Path, archive: Path) -> None:
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zipped.write(path, Path(folder.name) / path.relative_to(folder))


def test_a_cohort_graded_on_docker_flags_every_case(env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docker_backend_or_skip()
    problems = tmp_path / "problems"  # the fixtures, toy-add with a timing workload (its time ratio is measured)
    shutil.copytree(FIXTURES, problems)
    shutil.copyfile(FIXTURES.parent / "toy_add_timing.py", problems / "toy-add" / "test_timing.py")
    monkeypatch.setenv("JUDGE_PROBLEMS_PATH", str(problems))
    runner = CliRunner()
    names = ["ref", "copy", "own", "late", "stub", "edited", "zipped"]
    out = env / "cohort"
    created = runner.invoke(
        cli, ["takehome", "create", "--problems", "toy-add", "--candidates", ",".join(names), "--out", str(out)]
    )
    assert created.exit_code == 0, created.output
    assert sorted(p.name for p in out.iterdir()) == sorted([*names, "cohort.json"])
    toy = load_catalog([FIXTURES]).get("toy-add")
    returned = env / "returned"
    for name in names:
        shutil.copytree(out / name, returned / name)
    solution = lambda name: returned / name / "toy-add" / "toy_add.py"  # noqa: E731
    solution("ref").write_text(toy.reference.read_text())
    solution("own").write_text(ALICE)
    solution("copy").write_text(ALICE.replace("total", "result").replace("    ", "  "))  # renamed, reindented
    solution("late").write_text(ALICE.replace("a + b", "b + a"))
    solution("edited").write_text(ALICE)
    (returned / "edited" / "toy-add" / "test_public.py").write_text("def test_nothing():\n    pass\n")
    solution("zipped").write_text(ALICE.replace("return total", "return total  # done"))
    deadline = json.loads((out / "late" / "takehome.json").read_text())["deadline"]
    cohort.seal(returned / "late", now=from_iso(deadline) + 3 * 3600 + 12 * 60)
    for name in ("ref", "own", "copy", "edited"):
        assert runner.invoke(cli, ["takehome", "seal", str(returned / name)]).exit_code == 0
    zip_folder(returned / "zipped", returned / "zipped.zip")
    shutil.rmtree(returned / "zipped")
    folders = [str(returned / name) for name in names[:-1]] + [str(returned / "zipped.zip")]

    graded = runner.invoke(
        cli,
        ["takehome", "grade", str(out / "cohort.json"), *folders, "--backend", "docker", "--jobs", "2"]
        + ["--report", str(env / "report"), "--json"],
    )
    assert graded.exit_code == 1, graded.output  # "edited" is not fully graded: the exit says so
    report = json.loads(graded.stdout)
    rows = {row["name"]: row for row in report["candidates"]}
    cells = {name: row["results"][0] for name, row in rows.items()}
    assert set(rows) == {*names[:-1], "zipped.zip"}
    assert len({row["bundle_id"] for row in rows.values()}) == 7  # one bundle each, one report
    assert cells["ref"]["verdict"] == "Accepted" and cells["ref"]["flags"] == ["matches the reference 1.00"]
    assert ("copy", "own") in {(p["a"], p["b"]) for p in report["similarity"]["pairs"]}  # across bundles
    assert rows["late"]["seal"] == "sealed" and rows["late"]["lateness"] == "late by 3 h 12 min"
    assert cells["late"]["late"] and not cells["own"]["late"]
    assert rows["own"]["lateness"] == "on time"
    assert cells["stub"]["flags"] == ["unchanged from the stub"] and cells["stub"]["verdict"] != "Accepted"
    assert cells["stub"]["time_ratio"] is None  # a failed run shows no ratio
    assert cells["edited"]["verdict"] is None and "--force" in cells["edited"]["message"]
    assert rows["edited"]["status"] == "errors"
    assert cells["zipped.zip"]["verdict"] == "Accepted" and rows["zipped.zip"]["seal"] == "no seal"
    assert rows["zipped.zip"]["lateness"] == "on time (no seal: time from mtime, unverified)"
    for name in ("ref", "own", "copy", "late", "zipped.zip"):
        assert cells[name]["verdict"] == "Accepted", (name, cells[name])
    # the reference verbatim is timed against the reference: identical code reads as identical
    assert cells["ref"]["timing"].startswith("workload CPU"), cells["ref"]
    assert 0.85 <= cells["ref"]["time_ratio"] <= 1.15, cells["ref"]

    forced = runner.invoke(
        cli,
        ["takehome", "grade", str(out / "edited" / "takehome.json"), str(returned / "edited"), "--force"]
        + ["--backend", "docker", "--report", str(env / "report-forced"), "--json"],
    )
    assert forced.exit_code == 1, forced.output  # still an error on the row, but judged
    [cell] = json.loads(forced.stdout)["candidates"][0]["results"]
    assert cell["verdict"] == "Accepted" and any("--force" in flag for flag in cell["flags"])

    dom = Elements(dump_dom(env / "report" / "report.html", tmp_path / "chromium-profile"))
    seen = {row["data-candidate"]: row for row in dom.with_class("candidate")}
    assert set(seen) == set(rows)
    assert seen["late"]["data-lateness"] == "late by 3 h 12 min" and seen["ref"]["data-seal"] == "sealed"
    flags = {row["data-candidate"]: row["data-flags"] for row in dom.with_class("result")}
    assert flags["ref"] == "matches the reference 1.00" and flags["stub"] == "unchanged from the stub"


def test_the_bundles_kit_runs_the_public_tests_and_seals_without_the_judge(tmp_path: Path) -> None:
    toy = load_catalog([FIXTURES]).get("toy-add")
    out = tmp_path / "bundle"
    bundle = create_bundle([toy], out, hours=1)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # no checkout on the path: only the bundle
    kit = [sys.executable, "takehome_kit.py"]
    stub = subprocess.run([*kit, "test"], cwd=out, env=env, capture_output=True, text=True, timeout=300)
    assert stub.returncode != 0 and "NotImplementedError" in stub.stdout, stub.stdout + stub.stderr
    (out / "toy-add" / "toy_add.py").write_text(ALICE)
    solved = subprocess.run([*kit, "test", "toy-add"], cwd=out, env=env, capture_output=True, text=True, timeout=300)
    assert solved.returncode == 0 and "overall: Accepted" in solved.stdout, solved.stdout + solved.stderr
    sealed = subprocess.run([*kit, "seal"], cwd=out, env=env, capture_output=True, text=True, timeout=60)
    assert sealed.returncode == 0, sealed.stderr
    assert cohort.check_seal(bundle, out).status == "sealed"
