"""Wrong solutions as patches (judge/wrong.py) and their authoring commands (`judge wrong show/new`).

The header is parsed strictly, a patch applies exactly (a hunk may move, never fuzz), a drifted
patch names itself and its hunk, make_patch round-trips, and `judge verify` fails a patch that
no longer applies. The verify case runs on the small cpu-clock fixture (no torch: seconds).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from judge import wrong
from judge.cli import cli
from judge_harness.schema import Verdict

from .conftest import FIXTURE_PROBLEMS, TOY_WRONG

REFERENCE = """def first():
    return 1


def second(x):
    total = 0
    for i in range(x):
        total += i
    return total


def third():
    return 3
"""
BUGGY = REFERENCE.replace("    for i in range(x):", "    for i in range(x + 1):")


def patch_file(tmp_path: Path, text: str, name: str = "bug.patch") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def reference_file(tmp_path: Path, text: str = REFERENCE) -> Path:
    path = tmp_path / "reference.py"
    path.write_text(text)
    return path


def made(tmp_path: Path) -> str:
    return wrong.make_patch(
        reference_file(tmp_path),
        BUGGY,
        verdict=Verdict.WRONG_ANSWER,
        bug="sums one term too many",
        repo_relative="r.py",
    )


# -- header -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("# bug: x\n", "missing `# verdict: <verdict>` line"),
        ("# verdict: Wrong\n# bug: x\n", "unknown verdict 'Wrong'"),
        ("# verdict: Accepted\n# bug: x\n", "cannot expect Accepted"),
        ("# verdict: Wrong Answer\n", "missing `# bug:"),
    ],
)
def test_header_errors_name_the_file(tmp_path: Path, header: str, message: str) -> None:
    path = patch_file(tmp_path, header + "--- a/r.py\n+++ b/r.py\n")
    with pytest.raises(wrong.WrongSolutionError, match=message) as caught:
        wrong.load(path)
    assert str(caught.value).startswith(str(path))


def test_a_whole_file_needs_a_reason(tmp_path: Path) -> None:
    path = patch_file(tmp_path, "# verdict: Wrong Answer\n# bug: x\ndef f(): pass\n", "other.py")
    with pytest.raises(wrong.WrongSolutionError, match="why-a-file"):
        wrong.load(path)
    path.write_text("# verdict: Wrong Answer\n# bug: x\n# why-a-file: a different algorithm\ndef f(): pass\n")
    assert wrong.load(path).source(tmp_path / "unused.py").endswith("def f(): pass\n")


def test_header_fields_are_read(tmp_path: Path) -> None:
    text = made(tmp_path).replace("# bug:", "# measured: 3x the limit\n# bug:")
    solution = wrong.load(patch_file(tmp_path, text))
    assert solution.verdict is Verdict.WRONG_ANSWER and solution.bug == "sums one term too many"
    assert solution.header["measured"] == "3x the limit" and solution.is_patch


# -- applying -------------------------------------------------------------------------------


def test_make_patch_round_trips(tmp_path: Path) -> None:
    text = made(tmp_path)
    assert text.startswith("# verdict: Wrong Answer\n# bug: sums one term too many\n--- a/r.py\n+++ b/r.py\n@@ ")
    assert wrong.load(patch_file(tmp_path, text)).source(tmp_path / "reference.py") == BUGGY


def test_make_patch_refuses_what_is_no_bug(tmp_path: Path) -> None:
    reference = reference_file(tmp_path)
    with pytest.raises(wrong.WrongSolutionError, match="identical"):
        wrong.make_patch(reference, REFERENCE, verdict=Verdict.WRONG_ANSWER, bug="x", repo_relative="r.py")
    with pytest.raises(wrong.WrongSolutionError, match="sentence on one line"):
        wrong.make_patch(reference, BUGGY, verdict=Verdict.WRONG_ANSWER, bug="a\nb", repo_relative="r.py")


def test_a_file_without_a_final_newline_round_trips(tmp_path: Path) -> None:
    reference = reference_file(tmp_path, REFERENCE.rstrip("\n"))
    edited = BUGGY.rstrip("\n").replace("return 3", "return 4")
    text = wrong.make_patch(reference, edited, verdict=Verdict.WRONG_ANSWER, bug="x", repo_relative="r.py")
    assert "\\ No newline at end of file" in text
    assert wrong.apply_patch_text(reference.read_text(), text) == edited


def test_a_moved_hunk_still_applies(tmp_path: Path) -> None:
    text = made(tmp_path)
    grown = "import math\n\n\n" + REFERENCE  # the reference grew above the hunk: same context, 3 lines lower
    assert wrong.apply_patch_text(grown, text) == "import math\n\n\n" + BUGGY


def test_a_drifted_patch_fails_naming_patch_and_hunk(tmp_path: Path) -> None:
    text = made(tmp_path)
    drifted = REFERENCE.replace("        total += i", "        total = total + i")  # the context changed
    with pytest.raises(wrong.WrongSolutionError) as caught:
        wrong.apply_patch_text(drifted, text, label="bug.patch")
    hunk = next(line for line in text.splitlines() if line.startswith("@@"))
    assert str(caught.value).startswith(f"bug.patch: hunk {hunk} does not apply"), str(caught.value)


def test_a_truncated_hunk_is_an_error(tmp_path: Path) -> None:
    text = "\n".join(made(tmp_path).splitlines()[:-2]) + "\n"
    with pytest.raises(wrong.WrongSolutionError, match="truncated"):
        wrong.apply_patch_text(REFERENCE, text, label="bug.patch")


# -- the commands ---------------------------------------------------------------------------


@pytest.fixture
def authoring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of toy-add to author in, on JUDGE_PROBLEMS_PATH; returns its folder."""
    root = tmp_path / "problems"
    shutil.copytree(FIXTURE_PROBLEMS / "toy-add", root / "toy-add")
    monkeypatch.setenv("JUDGE_PROBLEMS_PATH", str(root))
    monkeypatch.setenv("JUDGE_HOME", str(tmp_path / "home"))
    return root / "toy-add"


def test_wrong_show_prints_the_patched_reference(authoring: Path) -> None:
    result = CliRunner().invoke(cli, ["wrong", "show", "toy-add", "off_by_one"])
    assert result.exit_code == 0, result.output
    assert result.output == wrong.load(TOY_WRONG).source(authoring / "reference.py")
    assert "return a + b + 1" in result.output
    document = json.loads(CliRunner().invoke(cli, ["wrong", "show", "toy-add", "off_by_one.patch", "--json"]).output)
    assert document["verdict"] == "Wrong Answer" and document["source"] == result.output


def test_wrong_show_errors_are_one_line(authoring: Path) -> None:
    unknown = CliRunner().invoke(cli, ["wrong", "show", "toy-add", "nope"])
    assert unknown.exit_code == 2 and "no wrong solution 'nope'" in unknown.output
    assert len(unknown.output.strip().splitlines()) == 1


def test_wrong_new_writes_a_patch_that_verify_reads(authoring: Path, tmp_path: Path) -> None:
    edited = tmp_path / "edited.py"
    edited.write_text(
        (authoring / "reference.py").read_text().replace("return Pair(pair.right, pair.left)", "return pair")
    )
    arguments = [
        "wrong",
        "new",
        "toy-add",
        "no_swap",
        str(edited),
        "--verdict",
        "WA",
        "--bug",
        "returns the pair as it is",
    ]
    result = CliRunner().invoke(cli, arguments)
    assert result.exit_code == 0, result.output
    written = wrong.load(authoring / "wrong" / "no_swap.patch")
    assert written.verdict is Verdict.WRONG_ANSWER and written.bug == "returns the pair as it is"
    assert written.source(authoring / "reference.py") == edited.read_text()
    again = CliRunner().invoke(cli, arguments)
    assert again.exit_code == 2 and "exists; pass --force" in again.output
    forced = CliRunner().invoke(cli, [*arguments[:-1], "a different sentence", "--force"])
    assert forced.exit_code == 0 and wrong.load(authoring / "wrong" / "no_swap.patch").bug == "a different sentence"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--verdict", "Accepted", "--bug", "x"], "cannot expect Accepted"),
        (["--verdict", "Wrongish", "--bug", "x"], "--verdict: expected one of"),
        (["--verdict", "WA", "--bug", ""], "one non-empty sentence"),
    ],
)
def test_wrong_new_errors_are_one_line(authoring: Path, extra: list[str], message: str) -> None:
    edited = authoring / "wrong" / "edited.txt"
    edited.write_text((authoring / "reference.py").read_text() + "\nBUG = 1\n")
    result = CliRunner().invoke(cli, ["wrong", "new", "toy-add", "x", str(edited), *extra])
    assert result.exit_code == 2 and message in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (authoring / "wrong" / "x.patch").exists()


def test_verify_fails_a_patch_that_no_longer_applies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "problems"
    problem = root / "cpu-clock"
    shutil.copytree(FIXTURE_PROBLEMS / "cpu-clock", problem)
    (problem / "wrong").mkdir()
    edited = (problem / "reference.py").read_text().replace("range(n)", "range(n + 1)")
    text = wrong.make_patch(
        problem / "reference.py", edited, verdict=Verdict.WRONG_ANSWER, bug="one term too many", repo_relative="r.py"
    )
    hunk = next(line for line in text.splitlines() if line.startswith("@@"))
    (problem / "wrong" / "one_more.patch").write_text(text.replace(" def sum_of_squares", " def sum_of_cubes"))
    monkeypatch.setenv("JUDGE_PROBLEMS_PATH", str(root))
    monkeypatch.setenv("JUDGE_HOME", str(tmp_path / "home"))
    result = CliRunner().invoke(cli, ["verify", "cpu-clock", "--backend", "local", "--mutants", "0", "--json"])
    assert result.exit_code == 1, result.output
    [check] = [c for c in json.loads(result.stdout)["checks"] if c["label"] == "wrong/one_more.patch"]
    assert not check["ok"] and check["actual"] == "patch does not apply"
    assert check["detail"].startswith(f"one_more.patch: hunk {hunk} does not apply"), check["detail"]
