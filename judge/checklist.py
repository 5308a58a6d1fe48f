"""The problem checklist's mechanical part: problem.toml's [checklist] names the hidden tests that
cover each item, and every error case the statement's marked list states has a test that expects it.

docs/problem-format.md ("The checklist") says what each item means. Used by tests/test_checklist.py
over the catalog; `problems(problem)` returns what is wrong, one line each, empty when sound.
"""

from __future__ import annotations

import ast
import re
import tomllib
from typing import Any

ITEMS = {
    "state_across_calls": "state that outlives one call: many calls on one object, and a later write invalidating a cache",
    "state_across_instances": "two objects side by side, interleaved, share nothing",
    "autograd_graph": "two uses in one autograd graph (parameters on ctx, not on the class)",
    "caller_data": "caller-owned data unchanged and results not aliasing inputs unless the statement allows it",
    "input_variants": "every input variant the statement allows: cases, whitespace, empties, unusual but legal shapes",
    "falsy_values": "explicit falsy values (0, 0.0, '', [], False) versus defaults (None, omitted)",
    "extremes": "extreme magnitudes and half precision",
}
NOT_APPLICABLE = "n/a: "
RAISES_MARKER = "<!-- raises -->"
_BULLET = re.compile(r"^\s{0,3}[-*]\s+")
_EXCEPTION = re.compile(r"\b([A-Z][A-Za-z]*Error)\b")


def marked_cases(statement: str) -> list[str]:
    """The bullets of the list that follows `<!-- raises -->` in statement.md (continuation lines joined)."""
    lines = statement.splitlines()
    if RAISES_MARKER not in (line.strip() for line in lines):
        return []
    start = [line.strip() for line in lines].index(RAISES_MARKER) + 1
    bullets: list[str] = []
    for line in lines[start:]:
        if _BULLET.match(line):
            bullets.append(_BULLET.sub("", line).strip())
        elif bullets and line.startswith((" ", "\t")) and line.strip():
            bullets[-1] += " " + line.strip()
        elif not line.strip() and not bullets:
            continue
        else:
            break
    return bullets


def _test_functions(source: str) -> dict[str, ast.FunctionDef]:
    tree = ast.parse(source)
    return {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}


def _expects(function: ast.FunctionDef, functions: dict[str, ast.FunctionDef], exception: str) -> bool:
    """`function` calls expect_raises("<exception>"), itself or through a module-level helper it calls."""

    def direct(node: ast.AST) -> bool:
        for call in ast.walk(node):
            if (
                isinstance(call, ast.Call)
                and getattr(call.func, "id", getattr(call.func, "attr", "")) == "expect_raises"
            ):
                if any(isinstance(a, ast.Constant) and a.value == exception for a in call.args):
                    return True
        return False

    if direct(function):
        return True
    called = {c.func.id for c in ast.walk(function) if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)}
    return any(direct(functions[name]) for name in called if name in functions)


def problems(problem: Any) -> list[str]:
    """What is missing or wrong in `problem`'s checklist, one line each."""
    where = f"{problem.path / 'problem.toml'}: checklist"
    table = tomllib.loads((problem.path / "problem.toml").read_text()).get("checklist")
    if not isinstance(table, dict):
        return [f"{where}: missing; expected a [checklist] table (docs/problem-format.md, 'The checklist')"]
    functions = _test_functions(problem.test_file("hidden").read_text())
    found: list[str] = []

    def check_tests(field: str, tests: Any) -> None:
        if not isinstance(tests, list) or not tests or not all(isinstance(t, str) and t for t in tests):
            found.append(f"{where}.{field}: expected a non-empty list of hidden test names, got {tests!r}")
            return
        for test in tests:
            if test.split("[", 1)[0] not in functions:
                found.append(f"{where}.{field}: no test {test!r} in test_hidden.py")

    for item in ITEMS:
        value = table.get(item)
        if value is None:
            found.append(f'{where}.{item}: missing ({ITEMS[item]}); list its tests or write "n/a: <why>"')
        elif isinstance(value, str):
            if not value.startswith(NOT_APPLICABLE) or not value[len(NOT_APPLICABLE) :].strip():
                found.append(f'{where}.{item}: a string must read "n/a: <why it does not apply>", got {value!r}')
        else:
            check_tests(item, value)
    unknown = sorted(set(table) - set(ITEMS) - {"raises"})
    if unknown:
        found.append(f"{where}: unknown item {unknown[0]!r}; expected one of {', '.join([*ITEMS, 'raises'])}")
    found += _raises_problems(problem, table.get("raises", []), functions, where, check_tests)
    return found


def _raises_problems(problem: Any, entries: Any, functions: dict, where: str, check_tests: Any) -> list[str]:
    found: list[str] = []
    cases = marked_cases(problem.statement)
    if not cases:
        return [f"{problem.path / 'statement.md'}: no `{RAISES_MARKER}` list of the error cases (one bullet per case)"]
    if not isinstance(entries, list) or not all(isinstance(e, dict) and set(e) == {"case", "tests"} for e in entries):
        return [f'{where}.raises: expected [[checklist.raises]] tables of case = "...", tests = [...]']
    matched = [0] * len(cases)
    for entry in entries:
        case = entry["case"]
        hits = [i for i, bullet in enumerate(cases) if isinstance(case, str) and case and case in bullet]
        if len(hits) != 1:
            found.append(f"{where}.raises: case {case!r} is in {len(hits)} bullets of the statement's list; expected 1")
            continue
        matched[hits[0]] += 1
        check_tests(f"raises[{case}]", entry["tests"])
        names = _EXCEPTION.findall(cases[hits[0]])
        exception = names[0] if names else "ValueError"
        for test in entry["tests"] if isinstance(entry["tests"], list) else []:
            function = functions.get(str(test).split("[", 1)[0])
            if function is not None and not _expects(function, functions, exception):
                found.append(f"{where}.raises[{case}]: {test} does not call expect_raises({exception!r})")
    for bullet, count in zip(cases, matched, strict=True):
        if not count:
            found.append(f"{where}.raises: no entry for the statement's error case {bullet[:80]!r}")
    return found
