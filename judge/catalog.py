"""Finds, loads and validates problems, once, in one place.

Problems live in `problems/` of this repository and in every folder named on
`JUDGE_PROBLEMS_PATH` (os.pathsep-separated). A broken problem is reported as
`<file>: <field>: <what is wrong>`; the others still load.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import os
import re
import tomllib
from pathlib import Path
from typing import Any

from judge import wrong as wrong_module
from judge.paths import PROBLEMS_DIR, SOLUTIONS_DIR
from judge_harness.schema import Verdict, wall_backstop_s

SLUG_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
DIFFICULTIES = ("easy", "medium", "hard")
REQUIRED_FILES = ("statement.md", "stub.py", "test_public.py", "test_hidden.py")
KNOWN_DTYPES = ("float64", "float32", "float16", "bfloat16")
MUTABLE_RE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$")
AUTHORING = ("wrong", "mutants.toml")  # in a problem folder, left out of its content hash


class ProblemError(ValueError):
    """A problem folder that does not follow the format: names the file and field at fault."""

    def __init__(self, path: Path, field: str, message: str) -> None:
        super().__init__(f"{path}: {field}: {message}")
        self.path = path
        self.field = field


@dataclasses.dataclass(frozen=True)
class Limits:
    test_timeout_s: float  # CPU seconds of the worker per test
    suite_cpu_s: float  # CPU seconds of the whole run: the checker's and the worker's
    memory_mb: int

    @property
    def suite_backstop_s(self) -> float:
        """Wall seconds after which a run is ended whatever it is doing (a submission that sleeps)."""
        return wall_backstop_s(self.suite_cpu_s)


@dataclasses.dataclass(frozen=True)
class Problem:
    slug: str
    path: Path
    title: str
    difficulty: str
    tags: tuple[str, ...]
    entry_points: tuple[str, ...]
    dataclasses: tuple[str, ...]
    estimated_minutes: int
    forbidden: tuple[str, ...]
    preload: tuple[str, ...]
    threads: int
    limits: Limits
    tolerances: dict[str, tuple[float, float]]
    wrong_solutions: dict[str, Verdict]
    mutable_inputs: tuple[str, ...] = ()  # "<callable>:<parameter>" a submission may write into
    max_workers: int = 0  # boxes one `judge test`/`submit` may spread its tests over (0: no cap of its own)

    @property
    def module_name(self) -> str:
        return self.slug.replace("-", "_")

    @property
    def statement(self) -> str:
        return (self.path / "statement.md").read_text()

    @property
    def stub(self) -> Path:
        return self.path / "stub.py"

    @property
    def driver(self) -> Path | None:
        path = self.path / "driver.py"
        return path if path.exists() else None

    @property
    def reference(self) -> Path:
        """`reference.py` in the problem folder (private problems) or solutions_ref/<module>.py."""
        local = self.path / "reference.py"
        return local if local.exists() else SOLUTIONS_DIR / f"{self.module_name}.py"

    def wrong_solution(self, name: str) -> wrong_module.WrongSolution:
        """One known-wrong solution by file name; `.source(self.reference)` gives its code."""
        path = self.path / "wrong" / name
        if name not in self.wrong_solutions:
            raise LookupError(
                f"{self.slug} has no wrong solution {name!r}; known: {', '.join(sorted(self.wrong_solutions))}"
            )
        if path.suffix == ".py" and "verdict" not in wrong_module.parse_header(path):
            return wrong_module.WrongSolution(name, path, self.wrong_solutions[name], "(legacy file)", {})
        return wrong_module.load(path)

    def test_file(self, suite: str) -> Path:
        return self.path / f"test_{suite}.py"

    def content_hash(self) -> str:
        digest = hashlib.sha256()
        for file in sorted(self.path.rglob("*")):
            relative = file.relative_to(self.path)
            # wrong/ and mutants.toml are authoring material: they do not change what candidates get
            if file.is_file() and "__pycache__" not in file.parts and relative.parts[0] not in AUTHORING:
                digest.update(file.relative_to(self.path).as_posix().encode() + b"\0")
                digest.update(file.read_bytes() + b"\0")
        return "sha256:" + digest.hexdigest()


def _require(data: dict[str, Any], key: str, kind: type | tuple[type, ...], path: Path, what: str) -> Any:
    if key not in data:
        raise ProblemError(path, key, f"missing; expected {what}")
    value = data[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise ProblemError(path, key, f"expected {what}, got {value!r}")
    return value


def _string_list(data: dict[str, Any], key: str, path: Path, *, required: bool = True) -> tuple[str, ...]:
    if key not in data and not required:
        return ()
    value = _require(data, key, list, path, "a list of strings")
    if not all(isinstance(v, str) and v for v in value):
        raise ProblemError(path, key, f"expected a list of non-empty strings, got {value!r}")
    return tuple(value)


def _positive_int(data: dict[str, Any], key: str, path: Path, default: int) -> int:
    """An optional positive integer: `threads` (intra-op threads of the worker and the checker,
    default 1: runs side by side, steady timings) or `workers` (at most this many boxes share one
    run's tests; 0 when absent: no cap of the problem's own)."""
    if key not in data:
        return default
    value = _require(data, key, int, path, "a positive integer")
    if value <= 0:
        raise ProblemError(path, key, f"expected a positive integer, got {value}")
    return value


def _wrong_solutions(folder: Path, data: dict[str, Any], toml_path: Path) -> dict[str, Verdict]:
    """wrong/*.patch and wrong/*.py -> the verdict each must get, read from the file's own header.

    Legacy: a `.py` without a header may still take its verdict from problem.toml's
    [wrong_solutions] table while the bank is converted to patches.
    """
    legacy = data.get("wrong_solutions", {})
    found: dict[str, Verdict] = {}
    for name in legacy:
        if not (folder / "wrong" / name).is_file():
            raise ProblemError(toml_path, f"wrong_solutions.{name}", f"no file wrong/{name}")
    directory = folder / "wrong"
    for path in sorted(directory.iterdir()) if directory.is_dir() else []:
        if path.suffix not in wrong_module.SUFFIXES or not path.is_file():
            continue
        if path.suffix == ".py" and path.name in legacy and "verdict" not in wrong_module.parse_header(path):
            field = f"wrong_solutions.{path.name}"
            try:
                found[path.name] = Verdict(legacy[path.name])
            except ValueError:
                raise ProblemError(
                    toml_path,
                    field,
                    f"unknown verdict {legacy[path.name]!r}; expected one of {[v.value for v in Verdict]}",
                ) from None
            if found[path.name] is Verdict.ACCEPTED:
                raise ProblemError(toml_path, field, "a wrong solution cannot expect Accepted")
            continue
        try:
            found[path.name] = wrong_module.load(path).verdict
        except wrong_module.WrongSolutionError as exc:
            raise ProblemError(path, "header", str(exc).split(": ", 2)[-1]) from None
    return found


def load_problem(folder: Path) -> Problem:
    slug = folder.name
    toml_path = folder / "problem.toml"
    if not SLUG_RE.match(slug):
        raise ProblemError(folder, "slug", f"folder name {slug!r} is not kebab-case (e.g. sliding-window-attention)")
    if not toml_path.is_file():
        raise ProblemError(toml_path, "problem.toml", "missing")
    try:
        data = tomllib.loads(toml_path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProblemError(toml_path, "problem.toml", f"not valid TOML: {exc}") from None
    for name in REQUIRED_FILES:
        if not (folder / name).is_file():
            raise ProblemError(folder / name, name, "missing")

    title = _require(data, "title", str, toml_path, "a string")
    difficulty = _require(data, "difficulty", str, toml_path, f"one of {', '.join(DIFFICULTIES)}")
    if difficulty not in DIFFICULTIES:
        raise ProblemError(toml_path, "difficulty", f"expected one of {', '.join(DIFFICULTIES)}, got {difficulty!r}")
    estimated = _require(data, "estimated_minutes", int, toml_path, "a positive integer")
    if estimated <= 0:
        raise ProblemError(toml_path, "estimated_minutes", f"expected a positive integer, got {estimated}")
    entry_points = _string_list(data, "entry_points", toml_path)
    if not entry_points:
        raise ProblemError(toml_path, "entry_points", "expected at least one name")

    limits_data = _require(data, "limits", dict, toml_path, "a [limits] table")
    limits_path = toml_path
    values = {}
    if "suite_cpu_s" not in limits_data and "suite_wall_s" in limits_data:
        raise ProblemError(
            limits_path,
            "limits.suite_wall_s",
            "renamed to suite_cpu_s: the suite's limit is CPU time (the checker's and the submission's), "
            "its wall-clock backstop is 4x that + 2 s; expected suite_cpu_s (about 5x the reference's, e.g. 60)",
        )
    for key, kind in (("test_timeout_s", (int, float)), ("suite_cpu_s", (int, float)), ("memory_mb", int)):
        value = _require(limits_data, key, kind, limits_path, "a positive number")
        if value <= 0:
            raise ProblemError(limits_path, f"limits.{key}", f"expected a positive number, got {value}")
        values[key] = value
    limits = Limits(float(values["test_timeout_s"]), float(values["suite_cpu_s"]), int(values["memory_mb"]))

    tolerances = {}
    for dtype, tol in _require(data, "tolerances", dict, toml_path, "a [tolerances] table").items():
        field = f"tolerances.{dtype}"
        if dtype not in KNOWN_DTYPES:
            raise ProblemError(toml_path, field, f"unknown dtype; expected one of {', '.join(KNOWN_DTYPES)}")
        if not isinstance(tol, dict) or set(tol) != {"atol", "rtol"}:
            raise ProblemError(toml_path, field, f"expected {{ atol = ..., rtol = ... }}, got {tol!r}")
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in tol.values()):
            raise ProblemError(toml_path, field, f"expected non-negative numbers, got {tol!r}")
        tolerances[dtype] = (float(tol["atol"]), float(tol["rtol"]))

    wrong = _wrong_solutions(folder, data, toml_path)
    mutable = _string_list(data, "mutable_inputs", toml_path, required=False)
    for entry in mutable:
        if not MUTABLE_RE.match(entry):
            raise ProblemError(
                toml_path,
                "mutable_inputs",
                f"expected <callable>:<parameter> (e.g. SlidingWindowKVCache.step:q), got {entry!r}",
            )

    return Problem(
        slug=slug,
        path=folder,
        title=title,
        difficulty=difficulty,
        tags=_string_list(data, "tags", toml_path),
        entry_points=entry_points,
        dataclasses=_string_list(data, "dataclasses", toml_path, required=False),
        estimated_minutes=estimated,
        forbidden=_string_list(data, "forbidden", toml_path, required=False),
        preload=_string_list(data, "preload", toml_path, required=False) if "preload" in data else ("torch",),
        threads=_positive_int(data, "threads", toml_path, 1),
        limits=limits,
        tolerances=tolerances,
        wrong_solutions=wrong,
        mutable_inputs=mutable,
        max_workers=_positive_int(data, "workers", toml_path, 0),
    )


@dataclasses.dataclass
class Catalog:
    problems: dict[str, Problem]
    errors: list[ProblemError]

    def get(self, slug: str) -> Problem:
        if slug in self.problems:
            return self.problems[slug]
        broken = [e for e in self.errors if e.path.parts and slug in e.path.parts]
        if broken:
            raise LookupError(f"problem {slug!r} is broken: {broken[0]}")
        close = difflib.get_close_matches(slug, list(self.problems), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; known problems: {', '.join(sorted(self.problems))}"
        raise LookupError(f"no problem {slug!r}{hint} (see `judge list`)")


def problem_roots() -> list[Path]:
    roots = [PROBLEMS_DIR]
    for entry in os.environ.get("JUDGE_PROBLEMS_PATH", "").split(os.pathsep):
        if entry:
            roots.append(Path(entry).expanduser())
    return roots


def load_catalog(roots: list[Path] | None = None) -> Catalog:
    problems: dict[str, Problem] = {}
    errors: list[ProblemError] = []
    for root in roots if roots is not None else problem_roots():
        root = root.absolute()
        if not root.is_dir():
            errors.append(ProblemError(root, "JUDGE_PROBLEMS_PATH", "not a directory"))
            continue
        for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
            try:
                problem = load_problem(folder)
            except ProblemError as exc:
                errors.append(exc)
                continue
            if problem.slug in problems:
                errors.append(ProblemError(folder, "slug", f"duplicate of {problems[problem.slug].path}"))
                continue
            problems[problem.slug] = problem
    return Catalog(problems, errors)
