"""`judge takehome create` and `judge takehome grade`: the interviewer's side (judge/takehome/ does the work)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from judge.backends import BackendError
from judge.cli import common as core
from judge.cli import options
from judge.cli.present import table
from judge.takehome import bundle as library
from judge.takehome import cohort, grading, report, scan, timing
from judge_harness.schema import Verdict


@click.group()
def takehome() -> None:
    """Take-home bundles for candidates, and grading the folders they send back.

    \b
    Examples:
      judge takehome create --problems sliding-window-attention,react-agent --hours 48 --out bundle/
      judge takehome grade bundle/takehome.json returned/alice returned/bob --jobs 2 --report report/
    """


@takehome.command()
@click.option("--problems", "slugs", required=True, help="Comma-separated problem slugs.")
@click.option(
    "--hours",
    type=click.FloatRange(min=0, min_open=True),
    default=library.DEFAULT_HOURS,
    show_default=True,
    help="Time until the deadline.",
)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="New (or empty) folder for the bundle.")
@click.option(
    "--candidates",
    help="Comma-separated names, NAME:HOURS for a deadline of its own: one bundle each under --out, and cohort.json.",
)
@options.json_option
def create(slugs: str, hours: float, out: Path, candidates: str | None, as_json: bool) -> None:
    """Write a bundle for one candidate (or one per candidate: a cohort) with statements, stubs, public tests, README and manifest.

    Hidden tests, references and known-wrong solutions never go in. Keep a copy of the
    bundle's takehome.json (of a cohort's cohort.json): grading compares what comes back with it.
    Each bundle has its own seal key; `judge takehome seal` in a finished folder dates it.

    \b
    Examples:
      judge takehome create --problems sliding-window-attention,react-agent --hours 72 --out bundle-alice/
      judge takehome create --problems dpo-loss,grpo-loss --candidates alice,bob,carol:96 --hours 72 --out cohort/
    """
    problems = [core.get_problem(slug.strip()) for slug in slugs.split(",") if slug.strip()]
    if candidates is not None:
        try:
            document = cohort.create_cohort(problems, cohort.parse_candidates(candidates, hours), out)
        except (library.TakehomeError, OSError) as exc:
            raise core.UserError(str(exc)) from None
        if as_json:
            core.emit_json({**document, "path": str(out)})
            return
        for bundle in document["bundles"]:
            click.echo(
                f"{bundle['candidate']}: bundle {bundle['bundle_id']} in {out / bundle['candidate']}; deadline {bundle['deadline']}"
            )
        click.echo(
            f"cohort {document['cohort_id']}: keep {out / cohort.COHORT_NAME} for grading; send each candidate their folder"
        )
        return
    try:
        bundle = library.create_bundle(problems, out, hours)
    except (library.TakehomeError, OSError) as exc:
        raise core.UserError(str(exc)) from None
    if as_json:
        core.emit_json({**bundle.as_json(), "path": str(out)})
        return
    click.echo(
        f"bundle {bundle.bundle_id} in {out}: {', '.join(p.slug for p in bundle.problems)}; deadline {bundle.as_json()['deadline']}"
    )
    click.echo(f"keep a copy of {out / library.MANIFEST_NAME} for grading; send the candidate the folder")


@takehome.command()
@click.argument("manifest", type=click.Path(exists=True, path_type=Path))
@click.argument("submissions", nargs=-1, required=True, type=click.Path(path_type=Path))
@options.jobs_option()
@click.option(
    "--report",
    "report_dir",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder for report.json/.md/.html.",
)
@click.option(
    "--threshold",
    type=click.FloatRange(0, 1),
    default=scan.DEFAULT_THRESHOLD,
    show_default=True,
    help="Similarity that flags a pair.",
)
@click.option(
    "--manifest",
    "more_manifests",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Another takehome.json or cohort.json to grade in the same report (repeatable).",
)
@click.option("--force", is_flag=True, help="Judge a problem even when its statement or public tests were edited.")
@click.option(
    "--timing-runs",
    type=click.IntRange(0, 50),
    default=timing.DEFAULT_RUNS,
    show_default=True,
    help="Runs of each problem's timing workload per Accepted solution, each beside a reference run (0: none).",
)
@options.json_option
@options.backend_option
@options.queue_option
def grade(
    manifest: Path,
    submissions: tuple[Path, ...],
    jobs: int,
    report_dir: Path,
    threshold: float,
    more_manifests: tuple[Path, ...],
    force: bool,
    timing_runs: int,
    as_json: bool,
    backend: str,
    queue: str | None,
) -> None:
    """Grade candidates' returned folders on the hidden tests and write the report.

    MANIFEST is the interviewer's takehome.json, a cohort's cohort.json, or the folder holding
    one; --manifest adds more, and every returned folder (or .zip of one) is matched to its own
    bundle, so one report covers them all and compares every candidate with every other. A folder
    with missing, extra or edited files is an error in that candidate's row; the others are still
    graded. An edited statement or public test skips only that problem (--force judges it, flagged).
    Lateness comes from the folder's seal (`judge takehome seal`) or, unverified, from mtimes.
    Exits 1, after writing the report, when any candidate could not be fully graded.

    \b
    Examples:
      judge takehome grade bundle/takehome.json returned/alice returned/bob returned/carol --jobs 2 --report report/
      judge takehome grade cohort/cohort.json returned/*.zip returned/dave --report report/
      judge takehome grade bundle/takehome.json returned/* --queue redis://:secret@queue-host:6379/0 --report report/
    """
    try:
        label, bundles = cohort.load_manifests([manifest, *more_manifests])
    except library.TakehomeError as exc:
        raise core.UserError(str(exc)) from None
    chosen = core.get_backend(backend, queue=queue, priority="takehome")
    jobs = core.queue_jobs(jobs, queue)
    bar: Any = None
    phase: list[int] = []  # the bars shown so far

    def progress(done: int, total: int, label: str) -> None:
        nonlocal bar
        if not sys.stderr.isatty():  # a log, not a bar: one line per finished run
            if done:
                click.echo(f"graded {done}/{total}: {label}", err=True)
            return
        if done == 0 and bar is not None:  # the next phase (the timing runs): a bar of its own
            bar.__exit__(None, None, None)
            bar = None
        if bar is None:
            bar = click.progressbar(
                length=total,
                label="timing" if label.startswith("timing") or phase else "grading",
                file=sys.stderr,
                show_pos=True,
                item_show_func=lambda item: item,
            )
            bar.__enter__()
            phase.append(total)
        else:
            bar.update(1, current_item=label)

    try:
        graded = grading.grade(
            bundles,
            list(submissions),
            core.get_catalog(),
            chosen,
            jobs=jobs,
            threshold=threshold,
            progress=progress,
            force=force,
            label=label,
            timing_runs=timing_runs,
        )
    except library.TakehomeError as exc:
        raise core.UserError(str(exc)) from None
    except BackendError as exc:
        raise core.JudgeError(str(exc)) from None
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    for problem in graded.problems:
        if problem.reference.verdict != Verdict.ACCEPTED.value:
            click.echo(f"warning: the reference is not Accepted on {problem.slug}; ratios to it mean little", err=True)
        if problem.changed_since_bundle:
            click.echo(
                f"warning: {problem.slug} changed since the bundle was made; graded on the current version", err=True
            )
    paths = report.write(graded, report_dir)
    ungraded = [c.name for c in graded.candidates if c.status != "graded"]
    if as_json:
        core.emit_json({"files": {kind: str(path) for kind, path in paths.items()}, **graded.as_json()})
        sys.exit(core.EXIT_REJECTED if ungraded else core.EXIT_OK)
    rows = []
    for candidate in graded.candidates:
        for cell in candidate.results:
            verdict = core.colour(Verdict(cell.verdict)) if cell.verdict else "not run"
            passed = "" if cell.passed is None else f"{cell.passed}/{cell.total}"
            flags = ", ".join(
                [*(["late"] if cell.late else []), *(["forbidden API"] if cell.forbidden else []), *cell.flags]
            )
            rows.append([candidate.name, cell.problem, verdict, passed, flags])
    click.echo(table(rows, ["candidate", "problem", "verdict", "tests", "flags"]))
    for candidate in graded.candidates:
        if candidate.lateness:
            click.echo(f"{candidate.name}: {candidate.lateness}")
        for error in candidate.errors:
            click.echo(f"{candidate.name}: {error['kind']}: {error['message']}")
    for pair in graded.similarity.pairs:
        click.echo(f"similar: {pair.a} and {pair.b} on {pair.problem} ({pair.score:.2f})")
    click.echo(f"\nreport: {paths['html']} (also report.json, report.md)")
    if ungraded:
        click.echo(
            f"error: {len(ungraded)} candidate(s) not fully graded: {', '.join(ungraded)} (see the report)", err=True
        )
        sys.exit(core.EXIT_REJECTED)


@takehome.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path), default=".")
@options.json_option
def seal(folder: Path, as_json: bool) -> None:
    """Seal a finished take-home folder: record the time and a keyed digest of the solution files.

    Run it when you are done (or let whatever receives the folder run it). The report then dates
    the work by the seal, not by file times that copying resets; a solution file changed after
    the seal is reported. Sealing again replaces the seal.

    \b
    Example:
      judge takehome seal .
    """
    try:
        document = cohort.seal(folder)
    except library.TakehomeError as exc:
        raise core.UserError(str(exc)) from None
    if as_json:
        core.emit_json(document)
        return
    click.echo(
        f"sealed {len(document['files'])} solution file(s) of {document['bundle_id']} at {document['sealed_at']}"
    )
