"""The rooms of the code and what each may import (docs/architecture.md draws the same map).

Read with ast, so a lazy import inside a function counts as much as one at the top. Click has
its own rule, in tests/test_cli.py: only judge/cli/ imports it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# room -> the first-party modules (prefixes) it may import; judge.cli and the harness's test
# helpers are nobody's dependency.
ALLOWED = {
    "judge_harness": ("judge_harness",),  # runs in the box, where judge/ does not exist
    "judge.backends": ("judge.backends", "judge.catalog", "judge.paths", "judge.staging", "judge_harness.schema"),
    "judge.practice": ("judge.practice", "judge.catalog", "judge.paths", "judge.units", "judge_harness.schema"),
    "judge.takehome": (
        "judge.takehome",
        "judge.runner",
        "judge.backends",
        "judge.catalog",
        "judge.staging",
        "judge.units",
        "judge.paths",  # the harness folder, copied into bundles
        "judge.wrong",  # grading compares submissions with the known-wrong solutions
        "judge.__version__",
        "judge_harness.schema",
    ),
}


def room_of(path: Path) -> str:
    relative = path.relative_to(REPO)
    if relative.parts[0] == "sandbox":
        return "judge_harness"
    parts = relative.with_suffix("").parts
    return ".".join(parts[:2]) if len(parts) > 2 else "judge"


def first_party_imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "judge":  # `from judge import __version__, runner`: each name is a module or value
                found += [(node.lineno, f"judge.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, node.module))
    return [(line, name) for line, name in found if name.split(".")[0] in ("judge", "judge_harness")]


SOURCES = sorted([*(REPO / "judge").rglob("*.py"), *(REPO / "sandbox").rglob("*.py")])


@pytest.mark.parametrize("room", sorted(ALLOWED))
def test_each_room_imports_only_what_it_may(room: str) -> None:
    allowed = ALLOWED[room]
    offenders = [
        f"{path.relative_to(REPO)}:{line} imports {name}"
        for path in SOURCES
        if room_of(path) == room
        for line, name in first_party_imports(path)
        if not any(name == prefix or name.startswith(prefix + ".") for prefix in allowed)
    ]
    assert not offenders, offenders


def test_only_the_entry_point_imports_the_cli() -> None:
    offenders = [
        f"{path.relative_to(REPO)}:{line}"
        for path in SOURCES
        if room_of(path) != "judge.cli" and path != REPO / "judge" / "__main__.py"
        for line, name in first_party_imports(path)
        if name == "judge.cli" or name.startswith("judge.cli.")
    ]
    assert not offenders, offenders
