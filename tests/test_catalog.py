"""The catalog: every shipped problem loads; a broken one is named with file and field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from judge.catalog import PROBLEMS_DIR, load_catalog, load_problem
from judge_harness.schema import Verdict

from .conftest import FIXTURE_PROBLEMS


def test_shipped_problems_load_without_errors() -> None:
    catalog = load_catalog([PROBLEMS_DIR])
    assert catalog.errors == []
    for problem in catalog.problems.values():
        assert problem.reference.exists(), problem.slug
        assert problem.module_name == problem.slug.replace("-", "_")
        assert len(problem.wrong_solutions) >= 6, problem.slug
        assert problem.tolerances or problem.preload == (), problem.slug


def test_fixture_problem_fields(toy_problem) -> None:
    assert toy_problem.entry_points == ("add", "Accumulator")
    assert toy_problem.limits.memory_mb == 1024
    assert toy_problem.tolerances["float32"] == (1e-6, 1e-5)
    assert toy_problem.wrong_solutions == {"off_by_one.patch": Verdict.WRONG_ANSWER}
    assert toy_problem.content_hash().startswith("sha256:")


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    target = tmp_path / "toy-add"
    shutil.copytree(FIXTURE_PROBLEMS / "toy-add", target)
    return target


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ('difficulty = "easy"', 'difficulty = "trivial"', "difficulty"),
        ("memory_mb = 1024", "memory_mb = -1", "limits.memory_mb"),
        ("memory_mb = 1024", 'memory_mb = "lots"', "memory_mb"),
        ("float32 = { atol = 1e-6, rtol = 1e-5 }", "float32 = { atol = 1e-6 }", "tolerances.float32"),
        ("float32 = { atol = 1e-6, rtol = 1e-5 }", "float8 = { atol = 1e-6, rtol = 1e-5 }", "tolerances.float8"),
        (
            "float64 = { atol = 1e-12, rtol = 1e-10 }",
            '[wrong_solutions]\n"missing.py" = "Wrong Answer"',
            "wrong_solutions.missing.py",
        ),
        ('title = "Toy: add two tensors"\n', "", "title"),
        ("estimated_minutes = 5", "estimated_minutes = 0", "estimated_minutes"),
        ('entry_points = ["add", "Accumulator"]', "entry_points = []", "entry_points"),
        ('tags = ["fixture"]', "tags = [1]", "tags"),
        ("suite_cpu_s = 60", "suite_wall_s = 60", "limits.suite_wall_s"),  # the old name says it was renamed
    ],
)
def test_broken_metadata_names_file_and_field(broken: Path, old: str, new: str, field: str) -> None:
    toml = broken / "problem.toml"
    text = toml.read_text()
    assert old in text
    toml.write_text(text.replace(old, new))
    catalog = load_catalog([broken.parent])
    assert catalog.problems == {}
    [error] = catalog.errors
    assert str(error).startswith(f"{toml}: {field}:"), str(error)


def test_a_broken_wrong_solution_header_names_the_patch(broken: Path) -> None:
    patch = broken / "wrong" / "off_by_one.patch"
    patch.write_text(patch.read_text().replace("# verdict: Wrong Answer", "# verdict: Wrong"))
    catalog = load_catalog([broken.parent])
    assert catalog.problems == {}
    [error] = catalog.errors
    assert str(error).startswith(f"{patch}: header:") and "unknown verdict 'Wrong'" in str(error), str(error)


def test_invalid_toml_and_missing_files(broken: Path) -> None:
    (broken / "test_hidden.py").unlink()
    with pytest.raises(ValueError, match="test_hidden.py: test_hidden.py: missing"):
        load_problem(broken)
    (broken / "problem.toml").write_text("title = [")
    with pytest.raises(ValueError, match="not valid TOML"):
        load_problem(broken)


def test_slug_must_be_kebab_case(tmp_path: Path) -> None:
    shutil.copytree(FIXTURE_PROBLEMS / "toy-add", tmp_path / "Toy_Add")
    [error] = load_catalog([tmp_path]).errors
    assert "kebab-case" in str(error)


def test_extra_problem_paths_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("JUDGE_PROBLEMS_PATH", f"{FIXTURE_PROBLEMS}{':'}{tmp_path / 'nowhere'}")
    catalog = load_catalog()
    assert "toy-add" in catalog.problems
    assert any("not a directory" in str(e) for e in catalog.errors)


def test_unknown_slug_suggests_the_closest() -> None:
    catalog = load_catalog([FIXTURE_PROBLEMS])
    with pytest.raises(LookupError, match="did you mean 'toy-add'"):
        catalog.get("toy-ad")
