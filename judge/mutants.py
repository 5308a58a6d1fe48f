"""Mutation testing of a problem's reference: which small bugs does the hidden suite miss?

`generate(source)` (judge/mutation_operators.py) makes the mutants; `run_mutants` judges them
on the hidden suite (judge/mutant_runner.py: forked children, first failure, a result cache)
and summarises. `problems/<slug>/mutants.toml` records the last full run's `score` and
`mutants` count and the survivors a reviewer accepted as equivalent (`[[equivalent]]`, `id` +
`reason`). `sample` and `sample_check` are what `judge verify --mutants N` runs.
`judge mutants` is judge/cli/mutants.py.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import random
import re
import time
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from judge.backends.base import Backend, abort_all
from judge.mutation_operators import OPERATORS, Mutant, generate

__all__ = ["OPERATORS", "Mutant", "generate"]


# -- problems/<slug>/mutants.toml --------------------------------------------------------------


class MutantsFileError(ValueError):
    """mutants.toml that does not follow the format: names the file and what is wrong."""


@dataclasses.dataclass
class Equivalent:
    id: str
    reason: str


@dataclasses.dataclass
class Record:
    score: float | None = None  # kill rate of non-equivalent mutants in the last full run
    mutants: int | None = None
    equivalent: list[Equivalent] = dataclasses.field(default_factory=list)


RECORD_NAME = "mutants.toml"
ID_RE = re.compile(r"^[^:\s]+:[a-z]+:\d+:[0-9a-f]{6}$")


def read_record(problem_dir: Path) -> Record:
    path = problem_dir / RECORD_NAME
    if not path.exists():
        return Record()
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise MutantsFileError(f"{path}: not valid TOML: {exc}") from None
    record = Record(score=data.get("score"), mutants=data.get("mutants"))
    if record.score is not None and not (isinstance(record.score, (int, float)) and 0 <= record.score <= 1):
        raise MutantsFileError(f"{path}: score: expected a number in [0, 1], got {record.score!r}")
    if record.mutants is not None and not (isinstance(record.mutants, int) and record.mutants >= 0):
        raise MutantsFileError(f"{path}: mutants: expected a count, got {record.mutants!r}")
    for index, entry in enumerate(data.get("equivalent", [])):
        where = f"{path}: equivalent[{index}]"
        if not isinstance(entry, dict) or set(entry) != {"id", "reason"}:
            raise MutantsFileError(f"{where}: expected {{ id = ..., reason = ... }}, got {entry!r}")
        if not isinstance(entry["id"], str) or not ID_RE.match(entry["id"]):
            raise MutantsFileError(f"{where}: id: expected <function>:<operator>:<n>:<hash>, got {entry['id']!r}")
        reason = entry["reason"]
        if not isinstance(reason, str) or not reason.strip() or "\n" in reason.strip():
            raise MutantsFileError(f"{where}: reason: expected one line a reviewer can check, got {reason!r}")
        record.equivalent.append(Equivalent(entry["id"], reason.strip()))
    return record


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_record(problem_dir: Path, record: Record) -> Path:
    lines = [
        "# Mutation testing of the reference (`judge mutants SLUG`); see docs/problem-format.md.",
        "# score and mutants are rewritten by `judge mutants SLUG --record`; equivalents are kept.",
    ]
    if record.score is not None:
        lines.append(f"score = {record.score:.4f}")
    if record.mutants is not None:
        lines.append(f"mutants = {record.mutants}")
    for entry in sorted(record.equivalent, key=lambda e: e.id):
        lines += ["", "[[equivalent]]", f"id = {_toml_string(entry.id)}", f"reason = {_toml_string(entry.reason)}"]
    path = problem_dir / RECORD_NAME
    path.write_text("\n".join(lines) + "\n")
    return path


def match_recorded(mutants: Sequence[Mutant], record: Record) -> tuple[dict[str, Equivalent], list[Equivalent]]:
    """Recorded equivalents -> the mutant ids they name now, and the stale ones (no such mutant).

    An id matches exactly, or, when the counter `n` moved, by function, operator and line hash
    if exactly one mutant has them.
    """
    by_id = {m.id: m for m in mutants}
    loose: dict[tuple[str, str, str], list[Mutant]] = {}
    for mutant in mutants:
        loose.setdefault((mutant.function, mutant.operator, mutant.line_hash), []).append(mutant)
    matched: dict[str, Equivalent] = {}
    stale: list[Equivalent] = []
    for entry in record.equivalent:
        if entry.id in by_id:
            matched[entry.id] = entry
            continue
        function, operator, _, digest = entry.id.rsplit(":", 3)
        candidates = loose.get((function, operator, digest), [])
        if len(candidates) == 1:
            matched[candidates[0].id] = entry
        else:
            stale.append(entry)
    return matched, stale


# -- the seeded sample `judge verify` checks ---------------------------------------------------

SAMPLE_DEFAULT = 8
SAMPLE_SEED = "judge-verify"


def sample(mutants: Sequence[Mutant], count: int, seed: str = SAMPLE_SEED) -> list[Mutant]:
    """`count` mutants chosen by a seeded draw (the same problem and reference give the same sample)."""
    if count <= 0 or not mutants:
        return []
    rng = random.Random(f"{seed}:{len(mutants)}:{mutants[0].id}")
    return sorted(rng.sample(list(mutants), min(count, len(mutants))), key=lambda m: (m.line, m.id))


def binomial_tail(survivors: int, size: int, survival_rate: float) -> float:
    """P(at least `survivors` of `size` survive) when each survives with `survival_rate`."""
    return sum(
        math.comb(size, k) * survival_rate**k * (1 - survival_rate) ** (size - k) for k in range(survivors, size + 1)
    )


SAMPLE_ALPHA = 0.01  # a sample this unlikely under the recorded score fails verify
SAMPLE_MIN_SURVIVAL = 0.02  # a recorded score of 1.0 is read as 0.98: one unlucky survivor is not a failure


def sample_check(survivors: int, size: int, recorded_score: float | None) -> tuple[bool, str]:
    """The sample's rule: fail when at least `survivors` of `size` sampled mutants surviving would
    have probability below SAMPLE_ALPHA if each survived with 1 - score (at least SAMPLE_MIN_SURVIVAL).

    With 8 mutants: a score of 0.95 passes 0-2 survivors and fails 3 or more (P(>= 3) = 0.0058);
    a score of 1.0 passes up to 2 (P(>= 2) = 0.0103 at 0.02). No recorded score fails.
    """
    if recorded_score is None:
        return False, "no recorded score: run `judge mutants SLUG --record`"
    rate = max(1 - recorded_score, SAMPLE_MIN_SURVIVAL)
    p = binomial_tail(survivors, size, rate) if survivors else 1.0
    ok = p >= SAMPLE_ALPHA
    verdict = "consistent with" if ok else "well below"
    return ok, (
        f"{size - survivors}/{size} sampled mutants killed, {verdict} the recorded score {recorded_score:.3f} "
        f"(P = {p:.3g} of {survivors} or more survivors at a survival rate of {rate:.3f}; fails below {SAMPLE_ALPHA})"
    )


@dataclasses.dataclass
class SampleCheck:
    ok: bool
    detail: str
    sampled: list[str]
    survivors: list[str]


def check_sample(problem: Any, count: int = SAMPLE_DEFAULT, jobs: int = 1) -> SampleCheck:
    """Judge the seeded sample of `count` mutants and hold it to mutants.toml's score (see sample_check).

    The sample runs in a fresh `judge mutants` process: the fork runner imports the suite and
    forks, which must not happen inside a caller that runs threads (`judge verify --jobs`).
    Recorded equivalents in the sample are left out of it.
    """
    import subprocess
    import sys

    record = read_record(problem.path)
    population = generate(problem.reference.read_text(), problem.reference.name)
    equivalents, _ = match_recorded(population, record)
    chosen = sample([m for m in population if m.id not in equivalents], count)
    if not chosen:
        return SampleCheck(True, "no mutants to sample", [], [])
    if record.score is None:
        ok, detail = sample_check(0, len(chosen), None)
        return SampleCheck(ok, detail, [m.id for m in chosen], [])
    command = [sys.executable, "-m", "judge", "mutants", problem.slug, "--json", "--jobs", str(jobs)]
    for mutant in chosen:
        command += ["--id", mutant.id]
    done = subprocess.run(command, capture_output=True, text=True)
    try:
        report = json.loads(done.stdout)
    except ValueError:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or [""]
        return SampleCheck(False, f"the mutant sample could not be judged: {tail[0][:500]}", [m.id for m in chosen], [])
    survivors = [r["id"] for r in report["results"] if not r["killed"]]
    ok, detail = sample_check(len(survivors), len(chosen), record.score)
    if survivors:
        detail += "; survivors: " + ", ".join(survivors)
    return SampleCheck(ok, detail, [m.id for m in chosen], survivors)


def summarise(results: Sequence[Any], equivalents: dict[str, Equivalent]) -> dict[str, Any]:
    """Counts and the kill rate of non-equivalent mutants from runner results (objects with .id, .killed)."""
    killed = sum(1 for r in results if r.killed)
    equivalent = sum(1 for r in results if not r.killed and r.id in equivalents)
    survived = len(results) - killed - equivalent
    judged = killed + survived
    return {
        "mutants": len(results),
        "killed": killed,
        "survived": survived,
        "equivalent": equivalent,
        "kill_rate": round(killed / judged, 4) if judged else 1.0,
    }


# -- judging: the cache and the run -------------------------------------------------------------

BACKENDS = ("fork", "local", "docker")
RUNNER_VERSION = "2"  # bump when a change to how mutants are judged invalidates cached results


@dataclasses.dataclass
class MutantResult:
    id: str
    operator: str
    function: str
    line: int
    killed: bool
    verdict: str  # the first failing test's verdict; "Accepted" for a survivor
    test: str = ""  # the test that killed it
    message: str = ""
    wall_s: float = 0.0
    cpu_s: float = 0.0  # CPU time of the child (fork backend)
    cached: bool = False
    equivalent: str = ""  # the recorded reason, for a survivor recorded as equivalent

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class Report:
    problem: str
    backend: str
    results: list[MutantResult]
    mutants: dict[str, Mutant]
    stale: list[Equivalent]
    killed_equivalents: list[str]  # recorded as equivalent, yet a test kills them: the record is wrong
    summary: dict[str, Any]
    wall_s: float = 0.0
    baseline_wall_s: float = 0.0

    @property
    def survivors(self) -> list[MutantResult]:
        return [r for r in self.results if not r.killed and not r.equivalent]

    def as_json(self) -> dict[str, Any]:
        return {
            "problem": self.problem,
            "backend": self.backend,
            **self.summary,
            "wall_s": round(self.wall_s, 2),
            "survivors": [{**r.as_json(), "diff": self.mutants[r.id].diff} for r in self.survivors],
            "equivalents": [r.as_json() for r in self.results if r.equivalent],
            "stale_equivalents": [dataclasses.asdict(e) for e in self.stale],
            "killed_equivalents": self.killed_equivalents,
            "results": [r.as_json() for r in self.results],
        }


def _harness_fingerprint() -> str:
    """What judging depends on besides the problem and the mutant: the harness and this runner."""
    import judge_harness
    from judge import __version__, mutant_runner

    digest = hashlib.sha256(f"{__version__}:{RUNNER_VERSION}".encode())
    for path in sorted(Path(judge_harness.__file__).parent.glob("*.py")) + [Path(mutant_runner.__file__)]:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


class ResultCache:
    """One JSON file per (problem hash, mutant source, judge and harness version, backend)."""

    def __init__(self, problem: Any, backend: str, root: Path | None = None) -> None:
        from judge.paths import data_dir

        self.folder = (root or data_dir() / "mutants") / problem.slug
        self.prefix = f"{problem.content_hash()}:{_harness_fingerprint()}:{backend}"
        self.killers_path = self.folder / "killers.json"

    def _path(self, mutant: Mutant) -> Path:
        key = hashlib.sha256(f"{self.prefix}:{mutant.source_hash}".encode()).hexdigest()[:32]
        return self.folder / f"{key}.json"

    def get(self, mutant: Mutant) -> dict[str, Any] | None:
        try:
            return json.loads(self._path(mutant).read_text())
        except (OSError, ValueError):
            return None

    def put(self, mutant: Mutant, result: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self._path(mutant)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(result))
        temporary.replace(path)

    def killers(self) -> dict[str, str]:
        """Mutant source hash -> the test that killed it last time, whatever the suite's version then."""
        try:
            return json.loads(self.killers_path.read_text())
        except (OSError, ValueError):
            return {}

    def save_killers(self, killers: dict[str, str]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        temporary = self.killers_path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(killers))
        temporary.replace(self.killers_path)


Progress = Callable[[int, int, MutantResult], None]


def _is_kill(verdict: str) -> bool:
    return verdict not in ("Accepted", "Internal Error")


def run_mutants(
    problem: Any,
    *,
    jobs: int = 1,
    backend: str = "fork",
    only: Sequence[Mutant] | None = None,
    use_cache: bool = True,
    cache_root: Path | None = None,
    progress: Progress | None = None,
    backend_object: Backend | None = None,
) -> Report:
    """Generate (or take `only`) the reference's mutants, judge each on the hidden suite, summarise."""
    started = time.monotonic()
    everything = generate(problem.reference.read_text(), problem.reference.name)
    chosen = list(only) if only is not None else everything
    record = read_record(problem.path)
    equivalents, stale = match_recorded(everything, record)
    cache = ResultCache(problem, backend, cache_root)
    killers = cache.killers()
    results: dict[str, MutantResult] = {}
    by_id = {m.id: m for m in chosen}
    todo: list[Mutant] = []

    def finish(mutant: Mutant, raw: dict[str, Any], cached: bool) -> None:
        verdict = raw.get("verdict", "Internal Error")
        result = MutantResult(
            mutant.id,
            mutant.operator,
            mutant.function,
            mutant.line,
            _is_kill(verdict),
            verdict,
            raw.get("test", ""),
            raw.get("message", ""),
            float(raw.get("wall_s", 0.0)),
            float(raw.get("cpu_s", 0.0)),
            cached,
        )
        if not result.killed and mutant.id in equivalents:
            result.equivalent = equivalents[mutant.id].reason
        if result.killed and result.test:
            killers[mutant.source_hash] = result.test
        results[mutant.id] = result
        if progress:
            progress(len(results), len(chosen), result)

    for mutant in chosen:
        hit = cache.get(mutant) if use_cache else None
        if hit is not None:
            finish(mutant, hit, cached=True)
        else:
            todo.append(mutant)
    baseline_wall = 0.0
    try:
        if todo and backend == "fork":
            from judge.mutant_runner import ForkRunner

            fork = ForkRunner(problem, jobs=jobs)

            def on_result(key: str, raw: dict[str, Any]) -> None:
                mutant = by_id[key]
                if raw.get("verdict") != "Internal Error":
                    cache.put(mutant, raw)
                finish(mutant, raw, cached=False)

            baseline_wall = fork.run([(m.id, m.source, killers.get(m.source_hash)) for m in todo], on_result)["wall_s"]
        elif todo:
            _run_with_backend(problem, todo, jobs, backend_object, cache, finish)
    finally:
        cache.save_killers(killers)
    ordered = [results[m.id] for m in chosen if m.id in results]
    killed_equivalents = [r.id for r in ordered if r.killed and r.id in equivalents]
    return Report(
        problem.slug,
        backend,
        ordered,
        by_id,
        stale,
        killed_equivalents,
        summarise(ordered, {k: v for k, v in equivalents.items() if k in by_id}),
        time.monotonic() - started,
        baseline_wall,
    )


def _run_with_backend(
    problem: Any, todo: list[Mutant], jobs: int, backend: Backend, cache: ResultCache, finish: Any
) -> None:
    """The real judge (local subprocesses or the Docker sandbox), whole suite per mutant: for fidelity checks."""
    import concurrent.futures

    from judge import runner
    from judge.staging import submission_from_source

    def judge_one(mutant: Mutant) -> dict[str, Any]:
        result = runner.run(problem, submission_from_source(mutant.source, problem.reference), "hidden", backend)
        failing = next((t for t in result.tests if t.verdict.value != "Accepted"), None)
        return {
            "verdict": result.verdict.value,
            "test": failing.id if failing else "",
            "message": (result.message or (failing.message if failing else "")).split("\n", 1)[0][:300],
            "wall_s": round(result.wall_s, 3),
        }

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(judge_one, m): m for m in todo}
        try:
            for future in concurrent.futures.as_completed(futures):
                raw = future.result()
                if raw["verdict"] != "Internal Error":
                    cache.put(futures[future], raw)
                finish(futures[future], raw, cached=False)
        except KeyboardInterrupt:
            for future in futures:
                future.cancel()
            abort_all(backend)  # the docker and queue backends end their runs in flight now
            raise
