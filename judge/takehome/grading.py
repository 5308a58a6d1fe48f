"""Grading returned take-home folders: hidden tests, reference in the same run, static scans.

Each folder is first checked against the manifest (judge/takehome/bundle.py); every solution file of a
folder that is not blocked then runs on the hidden tests, side by side with each problem's
reference, so time and memory read relative to a run on the same machine under the same load.
A folder's errors stay in its own row; one candidate's failure never stops the others.
"""

from __future__ import annotations

import concurrent.futures
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from judge import __version__, runner
from judge.backends.base import Backend, abort_all
from judge.catalog import Catalog, Problem
from judge.staging import SubmissionError
from judge.takehome import cohort, scan, timing
from judge.takehome.bundle import BLOCKING, Bundle, BundleProblem, Candidate, TakehomeError, inspect
from judge.takehome.schema import CandidateRow, Cell, Pair, ProblemRow, ReferenceRun, Report, Similarity
from judge.units import from_iso, to_iso
from judge.wrong import WrongSolutionError
from judge_harness.schema import RunResult, Verdict

REFERENCE = -1  # results are keyed (candidate index, slug); the reference runs under this index
Results = dict[tuple[int, str], RunResult | str]


def _judge(problem: Problem, path: Path, backend: Backend) -> RunResult | str:
    """A RunResult, or the reason the file could not be judged at all."""
    try:
        return runner.run(problem, path, "hidden", backend)
    except SubmissionError as exc:
        return str(exc)
    except Exception as exc:  # one failed run must not stop the other candidates
        return f"the judge failed on this file: {type(exc).__name__}: {exc}"


def grade(
    bundles: Bundle | list[Bundle],
    folders: list[Path],
    catalog: Catalog,
    backend: Backend,
    *,
    jobs: int = 1,
    threshold: float = scan.DEFAULT_THRESHOLD,
    progress: Callable[[int, int, str], None] | None = None,
    now: float | None = None,
    force: bool = False,
    label: str | None = None,
    timing_runs: int = timing.DEFAULT_RUNS,
) -> Report:
    """Grade every folder (or .zip) against its bundle; returns one report (judge/takehome/schema.py).

    `bundles` is one bundle or a cohort's (or several manifests'); each folder is matched to its
    own bundle. With `force`, a problem whose statement or public tests were edited is judged
    anyway (and flagged); without, it is not run and the candidate's other problems are.
    """
    bundles = [bundles] if isinstance(bundles, Bundle) else list(bundles)
    if not bundles:
        raise TakehomeError("expected at least one take-home manifest")
    entries: dict[str, BundleProblem] = {}
    for bundle in bundles:
        for entry in bundle.problems:
            entries.setdefault(entry.slug, entry)
    problems: dict[str, Problem] = {}
    for slug in entries:
        try:
            problems[slug] = catalog.get(slug)
        except LookupError as exc:
            raise TakehomeError(f"cannot grade {slug}: {exc}") from None
    with tempfile.TemporaryDirectory(prefix="judge-takehome-zip-") as scratch:
        opened, names = [], candidate_names(folders)
        for index, folder in enumerate(folders):
            if folder.suffix == ".zip" and folder.is_file():
                opened.append(cohort.unpack(folder, Path(scratch) / str(index)))
            else:
                opened.append(folder)
        owners = [cohort.match_bundle(folder, bundles) for folder in opened]
        candidates = [inspect(owner, folder, name) for owner, folder, name in zip(owners, opened, names, strict=True)]
        for candidate, folder in zip(candidates, folders, strict=True):
            candidate.folder = folder  # the report names what the grader gave, not the scratch copy
        work: list[tuple[int, str, Path]] = [(REFERENCE, slug, problem.reference) for slug, problem in problems.items()]
        for index, candidate in enumerate(candidates):
            if not candidate.blocked:
                work += [
                    (index, slug, path)
                    for slug, path in candidate.solutions.items()
                    if force or slug not in candidate.edited
                ]
        results: Results = {}
        if progress:
            progress(0, len(work), "")
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = {pool.submit(_judge, problems[slug], path, backend): (who, slug) for who, slug, path in work}
            try:
                for future in concurrent.futures.as_completed(futures):
                    who, slug = futures[future]
                    results[who, slug] = future.result()
                    if progress:
                        progress(
                            len(results),
                            len(work),
                            f"{'reference' if who == REFERENCE else candidates[who].name} {slug}",
                        )
            except KeyboardInterrupt:
                for future in futures:
                    future.cancel()
                abort_all(backend)  # the docker and queue backends end their runs in flight now
                raise
        accepted = {
            (who, slug): path
            for who, slug, path in work
            if who != REFERENCE
            and isinstance(results.get((who, slug)), RunResult)
            and results[who, slug].verdict is Verdict.ACCEPTED
        }
        figures: dict[tuple[int, str], timing.Figures] = {}
        if timing_runs > 0:
            figures = timing.measure(
                problems,
                accepted,
                backend,
                jobs=jobs,
                runs=timing_runs,
                progress=progress,
                names=lambda i: candidates[i].name,
            )
        for (who, slug), result in results.items():
            if (who, slug) not in figures and isinstance(result, RunResult):
                reference = results.get((REFERENCE, slug))
                figures[who, slug] = timing.from_suite(result, reference if isinstance(reference, RunResult) else None)

        report_problems = []
        for slug, entry in entries.items():
            problem, reference = problems[slug], results[(REFERENCE, slug)]
            if isinstance(reference, RunResult):
                measured = figures[REFERENCE, slug]
                ran = ReferenceRun(
                    reference.verdict.value,
                    reference.passed,
                    len(reference.tests),
                    measured.cpu_s,
                    measured.peak_bytes,
                    timing=measured.method,
                )
            else:
                ran = ReferenceRun(None, message=reference)
            hashes = {e.problem_hash for b in bundles for e in b.problems if e.slug == slug}
            changed = any(problem.content_hash() != digest for digest in hashes)
            report_problems.append(ProblemRow(slug, entry.title, list(problem.forbidden), changed, ran))

        sources: dict[str, dict[str, str]] = {slug: {} for slug in entries}
        known = {slug: known_sources(problem) for slug, problem in problems.items()}
        report_candidates = []
        for index, (candidate, owner, folder) in enumerate(zip(candidates, owners, opened, strict=True)):
            cells = [
                _cell(index, candidate, entry, problems[entry.slug], results, owner.deadline, sources)
                for entry in owner.problems
            ]
            sealed = cohort.check_seal(owner, folder) if folder.is_dir() else cohort.SealCheck("no seal")
            for cell in cells:
                measured = figures.get((index, cell.problem))
                if measured is not None and cell.verdict is not None:
                    cell.time_s, cell.peak_bytes, cell.timing = measured.cpu_s, measured.peak_bytes, measured.method
                    cell.time_ratio, cell.memory_ratio = measured.time_ratio, measured.memory_ratio
                    cell.time_range = list(measured.time_range) if measured.time_range else None
                    if measured.message:
                        cell.flags.append(measured.message)
                source = sources[cell.problem].get(candidate.name)
                if source is not None:
                    stub = problems[cell.problem].stub.read_text(encoding="utf-8")
                    cell.flags = scan.origin_flags(source, stub, known[cell.problem], threshold) + cell.flags
                if cell.problem in candidate.edited:
                    if force and cell.verdict is not None:
                        cell.flags.append("graded with --force: a statement or public test was edited")
                    elif cell.verdict is None and not candidate.blocked:
                        cell.message = "not run: its statement or public tests were edited (--force judges it anyway)"
                if sealed.status == "sealed":
                    cell.late = sealed.sealed_at > owner.deadline
            if sealed.status == "invalid":
                candidate.error("seal", sealed.message)
            mtimes = [c.modified_at for c in cells if c.modified_at]
            if sealed.status == "sealed":
                when, verified = sealed.sealed_at, True
            else:
                when, verified = (max(from_iso(m) for m in mtimes) if mtimes else None), False
            report_candidates.append(
                CandidateRow(
                    name=candidate.name,
                    folder=str(candidate.folder),
                    status="not graded" if candidate.blocked else ("errors" if candidate.errors else "graded"),
                    errors=candidate.errors,
                    modified_at=max(mtimes) if mtimes else None,
                    late=any(c.late for c in cells),
                    results=cells,
                    bundle_id=owner.bundle_id,
                    deadline=to_iso(owner.deadline),
                    seal=sealed.status,
                    lateness=cohort.lateness(owner.deadline, when, verified) if not candidate.blocked else "",
                )
            )
        pairs = []
        for slug in entries:
            base = problems[slug].stub.read_text(encoding="utf-8")
            for first, second, score in scan.similar_pairs(sources[slug], base, threshold):
                pairs.append(Pair(slug, first, second, score))
        deadlines = {bundle.deadline for bundle in bundles}
        return Report(
            bundle_id=label or ", ".join(bundle.bundle_id for bundle in bundles),
            created_at=to_iso(min(bundle.created_at for bundle in bundles)),
            deadline=to_iso(deadlines.pop()) if len(deadlines) == 1 else "per candidate",
            graded_at=to_iso(time.time() if now is None else now),
            judge_version=__version__,
            backend=getattr(backend, "name", str(backend)),  # tests grade with a fake run and no backend
            problems=report_problems,
            candidates=report_candidates,
            similarity=Similarity(threshold, scan.SIMILARITY_METHOD, pairs),
        )


def known_sources(problem: Problem) -> dict[str, str]:
    """The code a candidate could copy or a grader should recognise: the reference and every known-wrong solution."""
    known = {"the reference": problem.reference.read_text(encoding="utf-8")}
    for name in sorted(problem.wrong_solutions):
        try:
            known[f"known-wrong {Path(name).stem}"] = problem.wrong_solution(name).source(problem.reference)
        except (OSError, WrongSolutionError):  # a drifted patch is verify's failure to report, not grading's
            continue
    return known


def failure_note(result: RunResult, shown: int = 3) -> tuple[list[str], str]:
    """The ids of the tests that failed, and a note naming the first few and the first one's message."""
    failing = [t for t in result.tests if t.verdict is not Verdict.ACCEPTED]
    names = [t.id.split("::", 1)[-1] for t in failing]
    if not failing:
        return names, result.message
    first = failing[0].message.splitlines()[0] if failing[0].message else failing[0].verdict.value
    note = f"{names[0]}: {first}"
    if len(names) > 1:
        listed = ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")
        note = f"{len(names)} tests failed ({listed}); {note}"
    return names, f"{result.message}; {note}" if result.message else note


def candidate_names(folders: list[Path]) -> list[str]:
    """Folder names, made unique (`alice`, `alice#2`) when two folders share one."""
    names: list[str] = []
    for folder in folders:
        name, copy = folder.name or str(folder), 1
        while name in names:
            copy += 1
            name = f"{folder.name}#{copy}"
        names.append(name)
    return names


def _cell(
    index: int,
    candidate: Candidate,
    entry: BundleProblem,
    problem: Problem,
    results: Results,
    deadline: float,
    sources: dict[str, dict[str, str]],
) -> Cell:
    cell = Cell(entry.slug)
    path = candidate.solutions.get(entry.slug)
    if path is None:
        cell.message = "no solution file"
        return cell
    if not path.is_symlink():
        modified = path.stat().st_mtime
        cell.modified_at, cell.late = to_iso(modified), modified > deadline
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            source = None
        if source is not None:
            sources[entry.slug][candidate.name] = source
            cell.forbidden = scan.forbidden_uses(source, problem.forbidden)
    result = results.get((index, entry.slug))
    if result is None:
        cell.message = "not run: " + "; ".join(e["message"] for e in candidate.errors if e["kind"] in BLOCKING)
    elif isinstance(result, str):
        cell.message = result
    else:
        cell.verdict, cell.passed, cell.total, cell.message = (
            result.verdict.value,
            result.passed,
            len(result.tests),
            result.message,
        )
        cell.judged_by = result.judged_by  # the queue worker, "" when graded on this machine
        if result.verdict is not Verdict.ACCEPTED:  # time and memory come from judge/takehome/timing.py
            cell.failing, cell.message = failure_note(result)
    return cell
