"""Take-homes: bundles (and what must never be in one), checking returned folders, grading, the CLI.

Grading is tested with a fake judge (tests/takehome_support.fake_run) except in
test_create_grade_three_candidates_end_to_end, which runs the real judge on the local backend.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from judge.catalog import Problem, load_catalog
from judge.cli import cli
from judge.takehome import bundle as takehome
from judge.takehome import grading, report, scan
from judge.takehome.schema import SCHEMA_VERSION, Report
from judge_harness import schema
from judge_harness.schema import Verdict

from .conftest import toy_wrong_source
from .takehome_support import (
    ALICE,
    CAROL,
    DAVE,
    FIXTURES,
    TOY,
    Elements,
    dump_dom,
    fake_run,
    returned_folder,
    tamper_deadline,
)


@pytest.fixture(scope="module")
def toy() -> Problem:
    return load_catalog([FIXTURES]).get("toy-add")


@pytest.fixture
def bundle(toy: Problem, tmp_path: Path) -> tuple[takehome.Bundle, Path]:
    out = tmp_path / "bundle"
    return takehome.create_bundle([toy], out, hours=24, now=time.time()), out


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("JUDGE_PROBLEMS_PATH", str(FIXTURES))
    monkeypatch.setenv("JUDGE_HOME", str(tmp_path / "home"))
    return tmp_path


# --- the bundle ---------------------------------------------------------------------------------


def test_bundle_layout_manifest_and_readme(toy: Problem, bundle: tuple[takehome.Bundle, Path]) -> None:
    manifest, out = bundle
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    harness = sorted(f"_harness/judge_harness/{p.name}" for p in takehome.HARNESS.glob("*.py"))
    assert files == [
        "README.md",
        *harness,  # the public test harness, so the candidate needs no judge install
        "takehome.json",
        "takehome_kit.py",
        "toy-add/problem.toml",
        "toy-add/statement.md",
        "toy-add/test_public.py",
        "toy-add/toy_add.py",
    ]
    data = json.loads((out / "takehome.json").read_text())
    assert data["bundle_id"] == manifest.bundle_id and data["bundle_id"].startswith("th-")
    assert data["problems"] == [
        {"slug": "toy-add", "title": toy.title, "module": "toy_add", "problem_hash": toy.content_hash()}
    ]
    assert takehome.load_bundle(out / "takehome.json") == manifest
    assert manifest.deadline - manifest.created_at == 24 * 3600
    assert "toy-add/toy_add.py" not in data["files"]  # the one file the candidate edits
    readme = (out / "README.md").read_text()
    assert data["deadline"] in readme and "python takehome_kit.py test" in readme and "takehome_kit.py seal" in readme
    assert "`torch.add`" in readme  # forbidden names are told up front
    public = tomllib.loads((out / "toy-add" / "problem.toml").read_text())
    assert public["tolerances"]["float32"] == {"atol": 1e-6, "rtol": 1e-5} and public["dataclasses"] == ["Pair"]
    assert "wrong_solutions" not in public


def _sensitive_lines(problem: Problem) -> dict[str, set[str]]:
    """Distinctive lines of every file a candidate must never see, minus any text the public files also hold."""
    public_files = [
        problem.path / n for n in ("statement.md", "stub.py", "test_public.py", "driver.py", "problem.toml")
    ]
    public = "\n".join(f.read_text() for f in public_files if f.exists())
    public += "\n".join(f.read_text() for f in sorted(takehome.HARNESS.glob("*.py")))  # shipped on purpose
    secret = [problem.test_file("hidden"), problem.reference]
    secret += [f for f in sorted(problem.path.glob("*.py")) if f.name not in ("stub.py", "test_public.py", "driver.py")]
    texts = {str(file): file.read_text() for file in dict.fromkeys(secret) if file.exists()}
    for name in sorted(problem.wrong_solutions):  # patches and whole files, as the code verify judges
        texts[f"wrong/{name}"] = problem.wrong_solution(name).source(problem.reference)
    found = {}
    for label, text in texts.items():
        lines = {line.strip() for line in text.splitlines()}
        found[label] = {line for line in lines if len(line) >= 30 and line not in public}
    return found


def test_bundle_never_contains_hidden_tests_references_or_wrong_solutions(tmp_path: Path) -> None:
    """Scan real bundles: every loadable problem (the repository's and the fixture), one bundle each."""
    catalog = load_catalog([FIXTURES, *[p for p in [Path(__file__).resolve().parents[1] / "problems"] if p.is_dir()]])
    assert "toy-add" in catalog.problems
    for slug, problem in catalog.problems.items():
        out = tmp_path / slug
        takehome.create_bundle([problem], out)
        names = {p.relative_to(out).as_posix() for p in out.rglob("*")}
        assert not any(
            name.endswith("test_hidden.py") or "/wrong" in name or name.startswith("wrong") for name in names
        ), names
        assert not any(Path(name).name in ("reference.py", f"{problem.module_name}_ref.py") for name in names)
        bundle_text = "\n".join(p.read_text(errors="replace") for p in out.rglob("*") if p.is_file())
        for file, lines in _sensitive_lines(problem).items():
            leaked = [line for line in lines if line in bundle_text]
            assert not leaked, f"{slug}: lines of {file} are in the bundle: {leaked[:3]}"
        for name in problem.wrong_solutions:
            assert name not in bundle_text, f"{slug}: the bundle names the known-wrong solution {name}"


def test_create_refuses_to_overwrite_and_bad_input(toy: Problem, tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(takehome.TakehomeError, match="not an empty folder"):
        takehome.create_bundle([toy], tmp_path / "full")
    with pytest.raises(takehome.TakehomeError, match="twice"):
        takehome.create_bundle([toy, toy], tmp_path / "twice")
    with pytest.raises(takehome.TakehomeError, match="positive"):
        takehome.create_bundle([toy], tmp_path / "zero", hours=0)


# --- returned folders ---------------------------------------------------------------------------


def kinds(candidate: takehome.Candidate) -> list[str]:
    return [e["kind"] for e in candidate.errors]


def test_an_untouched_folder_with_caches_has_no_errors(bundle: tuple[takehome.Bundle, Path], tmp_path: Path) -> None:
    manifest, out = bundle
    folder = returned_folder(out, tmp_path, "alice", ALICE)
    (folder / "toy-add" / "__pycache__").mkdir()
    (folder / "toy-add" / "__pycache__" / "toy_add.cpython-311.pyc").write_bytes(b"\0")
    (folder / ".DS_Store").write_bytes(b"\0")
    candidate = takehome.inspect(manifest, folder)
    assert candidate.errors == [] and not candidate.blocked
    assert candidate.solutions == {"toy-add": folder / "toy-add" / "toy_add.py"}


@pytest.mark.parametrize(
    ("damage", "expected", "blocked"),
    [
        (lambda f: (f / "notes.txt").write_text("my notes"), ["extra file"], False),
        (lambda f: (f / "toy-add" / "toy_add.py").unlink(), ["missing file"], False),
        (lambda f: (f / "toy-add" / "statement.md").unlink(), ["missing file"], False),
        (
            lambda f: (f / "toy-add" / "test_public.py").write_text("def test_nothing(): pass\n"),
            ["edited problem file"],
            False,  # only that problem is skipped (--force judges it); test_an_edited_public_test_skips_one_problem
        ),
        (lambda f: (f / "README.md").write_text("mine"), ["tampered"], True),
        (tamper_deadline, ["tampered"], True),
        (lambda f: (f / "takehome.json").write_text("{"), ["tampered"], True),
        (lambda f: (f / "takehome.json").unlink(), ["missing manifest"], True),
        (lambda f: shutil.rmtree(f), ["not a folder"], True),
    ],
    ids=[
        "extra",
        "missing-solution",
        "missing-statement",
        "edited-public-tests",
        "edited-readme",
        "edited-deadline",
        "broken-manifest",
        "no-manifest",
        "no-folder",
    ],
)
def test_returned_folder_problems_are_reported(
    bundle, tmp_path: Path, damage, expected: list[str], blocked: bool
) -> None:
    manifest, out = bundle
    folder = returned_folder(out, tmp_path, "someone", ALICE)
    damage(folder)
    candidate = takehome.inspect(manifest, folder)
    assert kinds(candidate) == expected, candidate.errors
    assert candidate.blocked is blocked


def test_a_folder_from_another_bundle_is_the_wrong_problem_set(toy: Problem, bundle, tmp_path: Path) -> None:
    manifest, _ = bundle
    other = tmp_path / "other-bundle"
    takehome.create_bundle([toy], other)
    candidate = takehome.inspect(manifest, other)
    assert kinds(candidate) == ["wrong problem set"] and candidate.blocked
    assert manifest.bundle_id in candidate.errors[0]["message"]


# --- grading (fake judge) -----------------------------------------------------------------------


@pytest.fixture
def graded(toy: Problem, bundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    manifest, out = bundle
    monkeypatch.setattr(grading.runner, "run", fake_run)
    root = tmp_path / "returned"
    folders = [
        returned_folder(out, root, "alice", ALICE),
        returned_folder(out, root, "bob", toy_wrong_source()),
        returned_folder(out, root, "carol", CAROL),
        returned_folder(out, root, "dave", DAVE),
        returned_folder(out, root, "erin", None),
        root / "frank",  # never arrived
    ]
    tamper_deadline(folders[3])
    late = manifest.deadline + 3600
    os.utime(folders[2] / "toy-add" / "toy_add.py", (late, late))
    (folders[1] / "helpers.py").write_text("x = 1\n")
    calls: list[tuple[int, int, str]] = []
    graded = grading.grade(
        manifest, folders, load_catalog([FIXTURES]), backend=None, jobs=2, progress=lambda *a: calls.append(a)
    )
    assert Report.from_json(json.loads(json.dumps(graded.as_json()))) == graded  # the document round-trips
    report = graded.as_json()
    report["_progress"] = calls
    return report


def by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in report["candidates"]}


def test_grade_verdicts_ratios_and_late(graded: dict[str, Any]) -> None:
    candidates = by_name(graded)
    [alice], [bob], [carol] = (
        candidates["alice"]["results"],
        candidates["bob"]["results"],
        candidates["carol"]["results"],
    )
    assert (alice["verdict"], alice["passed"], alice["total"]) == ("Accepted", 2, 2)
    assert (bob["verdict"], bob["passed"]) == ("Wrong Answer", 1)
    assert bob["message"].startswith("test_add_random: sum: max abs error")
    assert bob["failing"] == ["test_add_random"] and alice["failing"] == []
    assert alice["time_ratio"] == 2.0 and alice["memory_ratio"] == 1.5  # against the reference run alongside
    assert bob["time_ratio"] is None and bob["memory_ratio"] is None  # a failed run's time means nothing
    assert bob["time_s"] is not None  # ... though it is still shown
    assert carol["late"] and candidates["carol"]["late"] and not alice["late"]
    [problem] = graded["problems"]
    assert problem["reference"]["verdict"] == "Accepted" and problem["reference"]["time_s"] == 0.6
    assert problem["changed_since_bundle"] is False


def test_grade_reports_errors_and_still_grades_the_others(graded: dict[str, Any]) -> None:
    candidates = by_name(graded)
    assert candidates["alice"]["status"] == "graded" and candidates["alice"]["errors"] == []
    assert candidates["bob"]["status"] == "errors" and [e["kind"] for e in candidates["bob"]["errors"]] == [
        "extra file"
    ]
    assert candidates["bob"]["results"][0]["verdict"] == "Wrong Answer"  # an extra file is reported, not fatal
    assert candidates["dave"]["status"] == "not graded" and candidates["dave"]["results"][0]["verdict"] is None
    assert "deadline" in candidates["dave"]["errors"][0]["message"]
    assert candidates["erin"]["results"][0]["message"] == "no solution file"
    assert candidates["frank"]["status"] == "not graded"
    # reference + alice + bob + carol ran; dave (tampered), erin (no file) and frank (no folder) did not
    assert [total for _, total, _ in graded["_progress"]] == [4] * 5


def test_grade_flags_forbidden_api_and_copies(graded: dict[str, Any]) -> None:
    candidates = by_name(graded)
    assert candidates["dave"]["results"][0]["forbidden"] == [{"name": "torch.add", "line": 15, "text": "T.add"}]
    assert candidates["alice"]["results"][0]["forbidden"] == []
    pairs = [(p["a"], p["b"]) for p in graded["similarity"]["pairs"]]
    assert ("alice", "carol") in pairs and ("alice", "dave") in pairs  # dave's is alice's with one line changed
    assert not any("bob" in pair for pair in pairs)
    assert candidates["bob"]["results"][0]["flags"] == ["matches known-wrong off_by_one 1.00"]
    assert candidates["alice"]["results"][0]["flags"] == []  # her own code, not the reference's


def test_origin_flags_against_the_stub_reference_and_known_wrong_solutions() -> None:
    problem = load_catalog().get("dpo-loss")
    stub, reference = problem.stub.read_text(), problem.reference.read_text()
    known = grading.known_sources(problem)
    assert set(known) >= {"the reference", "known-wrong margin_sign_reversed"}
    assert scan.origin_flags(stub, stub, known) == ["unchanged from the stub"]
    assert scan.origin_flags("# my notes\n" + stub.replace("    ", "\t"), stub, known) == ["unchanged from the stub"]
    renamed = reference.replace("policy_chosen_logps", "pc").replace("beta", "b")  # a renamed copy
    assert scan.origin_flags(renamed, stub, known)[0] in ("matches the reference 1.00", "matches the reference 0.99")
    wrong = known["known-wrong margin_sign_reversed"]
    assert scan.origin_flags(wrong, stub, known)[0] == "matches known-wrong margin_sign_reversed 1.00"
    toy = load_catalog([FIXTURES]).get("toy-add")
    assert scan.origin_flags(ALICE, toy.stub.read_text(), grading.known_sources(toy)) == []


def test_the_report_document_is_versioned(graded: dict[str, Any]) -> None:
    document = {k: v for k, v in graded.items() if k != "_progress"}
    assert document["schema_version"] == SCHEMA_VERSION
    assert Report.from_json(document).as_json() == document
    with pytest.raises(ValueError, match="schema_version"):
        Report.from_json({**document, "schema_version": SCHEMA_VERSION + 1})
    bad = json.loads(json.dumps(document))
    bad["candidates"][0]["status"] = "passed"
    with pytest.raises(ValueError, match="candidate status"):
        Report.from_json(bad)


def test_grade_names_duplicate_folders_apart(tmp_path: Path) -> None:
    assert grading.candidate_names([tmp_path / "a" / "x", tmp_path / "b" / "x", tmp_path / "y"]) == ["x", "x#2", "y"]


# --- the static scans ---------------------------------------------------------------------------


def test_forbidden_uses_follow_imports_and_aliases() -> None:
    source = (
        "import torch\nimport torch as t\nfrom torch import add as plus\nimport torch.nn.functional as F\n"
        "x = torch.add(1, 2)\ny = t.add\nz = plus(1, 2)\nw = getattr(torch, 'add')\nv = __import__('torch').add\n"
        "fine = torch.addmm\nalso_fine = x.add_(1)\nq = F.scaled_dot_product_attention(1, 2, 3)\n"
    )
    uses = scan.forbidden_uses(source, ["torch.add", "torch.nn.functional.scaled_dot_product_attention"])
    assert [(u.name.split(".")[-1], u.line) for u in uses] == [
        ("add", 3),
        ("add", 5),
        ("add", 6),
        ("add", 7),
        ("add", 8),
        ("add", 9),
        ("scaled_dot_product_attention", 12),
    ]
    assert scan.forbidden_uses("def f(:", ["torch.add"]) == []  # unparsable: nothing to report here


def test_similarity_survives_renaming_and_ignores_the_stub() -> None:
    stub = (TOY / "stub.py").read_text()
    alice, carol = scan.own_fingerprints(ALICE, stub), scan.own_fingerprints(CAROL, stub)
    bob = scan.own_fingerprints(toy_wrong_source(), stub)
    assert scan.similarity(alice, carol) == 1.0
    assert scan.similarity(alice, bob) < 0.2
    assert scan.similarity(scan.own_fingerprints(stub, stub), alice) is None  # an untouched stub is not "similar"
    assert scan.normalise("x = 1  # comment\n") == scan.normalise('"""doc"""\n\ny   =   1\n')


# --- the commands -------------------------------------------------------------------------------


def test_create_and_grade_commands(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    created = runner.invoke(
        cli, ["takehome", "create", "--problems", "toy-add", "--hours", "2", "--out", str(env / "b"), "--json"]
    )
    assert created.exit_code == 0, created.output
    assert json.loads(created.stdout)["problems"][0]["slug"] == "toy-add"
    again = runner.invoke(cli, ["takehome", "create", "--problems", "toy-add", "--out", str(env / "b")])
    assert again.exit_code == 2 and "not an empty folder" in again.output
    unknown = runner.invoke(cli, ["takehome", "create", "--problems", "toy-add,nope", "--out", str(env / "c")])
    assert unknown.exit_code == 2 and "no problem 'nope'" in unknown.output

    monkeypatch.setattr(grading.runner, "run", fake_run)
    alice = returned_folder(env / "b", env / "in", "alice", ALICE)
    bob = returned_folder(env / "b", env / "in", "bob", toy_wrong_source())
    args = ["takehome", "grade", str(env / "b"), str(alice), str(bob), "--report", str(env / "r"), "--backend", "local"]
    graded = runner.invoke(cli, [*args, "--json"])
    assert graded.exit_code == 0, graded.output
    data = json.loads(graded.stdout)
    assert [c["results"][0]["verdict"] for c in data["candidates"]] == ["Accepted", "Wrong Answer"]
    assert {Path(p).name for p in data["files"].values()} == {"report.json", "report.md", "report.html"}
    assert json.loads((env / "r" / "report.json").read_text())["bundle_id"] == data["bundle_id"]
    assert "| alice | toy-add | Accepted | 2/2 |" in (env / "r" / "report.md").read_text()
    table = runner.invoke(cli, args)
    assert table.exit_code == 0 and "report.html" in table.stdout
    # no terminal (CliRunner's stderr is not a tty): a line per finished run instead of a bar
    assert "graded 3/3: " in table.stderr and len(table.stderr.splitlines()) == 3

    (env / "bad.json").write_text("{}")
    bad = runner.invoke(cli, ["takehome", "grade", str(env / "bad.json"), str(alice), "--report", str(env / "r2")])
    assert bad.exit_code == 2 and "not a take-home manifest" in bad.output


@pytest.mark.slow
def test_create_grade_three_candidates_end_to_end(env: Path, tmp_path: Path) -> None:
    """The interviewer's path with the real judge: bundle, three candidates (+ two broken folders), HTML report in Chromium."""
    runner = CliRunner()
    created = runner.invoke(
        cli, ["takehome", "create", "--problems", "toy-add", "--hours", "48", "--out", str(env / "bundle")]
    )
    assert created.exit_code == 0, created.output
    returned = env / "returned"
    folders = [
        returned_folder(env / "bundle", returned, "alice", ALICE),  # correct
        returned_folder(env / "bundle", returned, "bob", toy_wrong_source()),  # wrong
        returned_folder(env / "bundle", returned, "carol", CAROL),  # copied from alice
        returned_folder(env / "bundle", returned, "dave", DAVE),  # edited the deadline: not run
    ]
    tamper_deadline(folders[3])
    manifest = env / "bundle" / "takehome.json"
    args = [
        "takehome",
        "grade",
        str(manifest),
        *map(str, folders),
        "--jobs",
        "2",
        "--backend",
        "local",
        "--report",
        str(env / "report"),
    ]
    graded = runner.invoke(cli, [*args, "--json"])
    assert graded.exit_code == 1, graded.output  # dave could not be graded: the report is written, the exit says so
    report = json.loads(graded.stdout)
    verdicts = {c["name"]: c["results"][0]["verdict"] for c in report["candidates"]}
    assert verdicts == {"alice": "Accepted", "bob": "Wrong Answer", "carol": "Accepted", "dave": None}
    assert report["problems"][0]["reference"]["verdict"] == "Accepted"
    alice = report["candidates"][0]["results"][0]
    assert alice["passed"] == alice["total"] > 0 and alice["memory_ratio"] is not None
    # toy-add has no timing workload and its hidden suite spends milliseconds: no time ratio, and it says why
    assert alice["time_ratio"] is None and "too little CPU for a ratio" in alice["timing"], alice
    assert ("alice", "carol") in [(p["a"], p["b"]) for p in report["similarity"]["pairs"]]

    dom = Elements(dump_dom(env / "report" / "report.html", tmp_path / "chromium-profile"))
    rows = {(r["data-candidate"], r["data-verdict"]) for r in dom.with_class("result")}
    assert rows == {("alice", "Accepted"), ("bob", "Wrong Answer"), ("carol", "Accepted"), ("dave", "not run")}
    assert ("alice", "carol") in {(p["data-a"], p["data-b"]) for p in dom.with_class("pair")}
    assert {(e["data-candidate"], e["data-kind"]) for e in dom.with_class("error")} == {("dave", "tampered")}
    assert [r["data-forbidden"] for r in dom.with_class("result") if r["data-candidate"] == "dave"] == ["1"]


def test_long_notes_end_with_an_ellipsis_and_long_forbidden_lists_are_summarised(graded: dict[str, Any]) -> None:
    document = {k: v for k, v in graded.items() if k != "_progress"}
    bob = by_name(document)["bob"]["results"][0]
    bob["message"] = "x" * 500
    document["problems"][0]["forbidden"] = [f"torch.fake_quantize_{i}" for i in range(38)]
    text = report.markdown(document)
    [row] = [line for line in text.splitlines() if line.startswith("| bob | toy-add |")]
    assert row.endswith("x… |") and "x" * 160 not in row
    assert "38 names, e.g. torch.fake_quantize_0, torch.fake_quantize_1" in text
    html_text = report.to_html(document)
    assert "<details><summary>38 names, e.g." in html_text and "torch.fake_quantize_37" in html_text


def test_without_a_workload_a_suite_too_cheap_to_time_gives_no_ratio() -> None:
    from judge.takehome import timing

    def run(cpu: float) -> schema.RunResult:
        test = schema.TestResult("t::a", Verdict.ACCEPTED, cpu, cpu_s=cpu)
        return schema.RunResult(Verdict.ACCEPTED, "p", "hidden", [test], peak_bytes=2**20)

    cheap = timing.from_suite(run(0.03), run(0.02))
    assert cheap.time_ratio is None and "too little CPU" in cheap.method and cheap.memory_ratio == 1.0
    costly = timing.from_suite(run(1.5), run(1.0))
    assert costly.time_ratio == 1.5 and costly.method == "hidden suite CPU, 1 run"
