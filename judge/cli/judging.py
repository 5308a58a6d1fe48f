"""The judging commands: list, show, test, submit, verify."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from judge.backends import BackendError
from judge.cli import common, options, present
from judge.cli.common import (
    EXIT_OK,
    EXIT_REJECTED,
    JudgeError,
    emit_json,
    exit_code_for,
    get_backend,
    get_catalog,
    get_problem,
    resolve_target,
)
from judge.cli.practice import record_submit, refuse_while_paused, watch_tests
from judge.cli.present import colour, table
from judge_harness.schema import Verdict


def judging_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """SLUG FILE (optional inside a workspace), --verbose, --json, --backend and --gpus: test and submit take the same."""
    function = options.json_option(options.backend_option(options.gpus_option(function)))
    function = click.option(
        "-v",
        "--verbose",
        is_flag=True,
        help="Show what the submission printed in failing tests, and assertion diffs in full.",
    )(function)
    function = click.argument("file", type=click.Path(path_type=Path), required=False)(function)
    return click.argument("slug", required=False)(function)


@click.command("list")
@options.filter_options
@options.json_option
def list_command(difficulty: str | None, tag: str | None, as_json: bool) -> None:
    """List the problems.

    \b
    Example:
      judge list --difficulty hard --tag attention
    """
    catalog = get_catalog()
    problems = [
        p
        for p in catalog.problems.values()
        if (difficulty is None or p.difficulty == difficulty) and (tag is None or tag in p.tags)
    ]
    if as_json:
        emit_json(
            {
                "problems": [
                    {
                        "slug": p.slug,
                        "title": p.title,
                        "difficulty": p.difficulty,
                        "tags": list(p.tags),
                        "estimated_minutes": p.estimated_minutes,
                    }
                    for p in problems
                ],
                "errors": [str(e) for e in catalog.errors],
            }
        )
        return
    click.echo(present.problem_table(problems, colour=sys.stdout.isatty()) if problems else "no problems match")
    for error in catalog.errors:
        click.echo(f"broken problem: {error}", err=True)


@click.command()
@click.argument("slug")
@options.json_option
def show(slug: str, as_json: bool) -> None:
    """Show a problem's statement: rendered and paged on a terminal, the Markdown as written when piped.

    \b
    Example:
      judge show react-agent
    """
    problem = get_problem(slug)
    if as_json:
        emit_json(
            {
                "slug": problem.slug,
                "title": problem.title,
                "difficulty": problem.difficulty,
                "tags": list(problem.tags),
                "entry_points": list(problem.entry_points),
                "estimated_minutes": problem.estimated_minutes,
                "limits": {
                    "test_timeout_s": problem.limits.test_timeout_s,
                    "suite_cpu_s": problem.limits.suite_cpu_s,
                    "memory_mb": problem.limits.memory_mb,
                },
                "tolerances": {k: {"atol": a, "rtol": r} for k, (a, r) in problem.tolerances.items()},
                "forbidden": list(problem.forbidden),
                "statement": problem.statement,
            }
        )
        return
    if sys.stdout.isatty():  # rendered to the terminal's width and paged; piped, the Markdown as written
        click.echo_via_pager(present.statement(problem, colour=True))
        return
    header = f"{problem.title}  [{problem.difficulty}, ~{problem.estimated_minutes} min, {', '.join(problem.tags)}]"
    click.echo(f"{header}\n\n{problem.statement}")


@click.command()
@judging_options
@options.watch_option
def test(
    slug: str | None, file: Path | None, as_json: bool, backend: str, gpus: str | None, verbose: bool, watch: bool
) -> None:
    """Run the public tests (LeetCode's "Run").

    \b
    Example:
      judge test sliding-window-attention solution.py

    \b
    Watch mode:
      judge test --watch
    """
    if watch:
        watch_tests(slug, file, as_json, backend, gpus, verbose)
        return
    slug, file = resolve_target(slug, file)
    result = common.judge_and_report(slug, file, "public", as_json, backend, verbose, gpus)
    sys.exit(exit_code_for(result.verdict))


@click.command()
@judging_options
def submit(slug: str | None, file: Path | None, as_json: bool, backend: str, gpus: str | None, verbose: bool) -> None:
    """Judge a submission on the hidden tests (LeetCode's "Submit").

    In a workspace the submit is timed: it is refused while the clock is paused (`judge resume`
    first), and the first Accepted stops the clock.

    \b
    Example:
      judge submit react-agent react_agent.py --json
    """
    slug, file = resolve_target(slug, file)
    refuse_while_paused(slug, file)
    result = common.judge_and_report(slug, file, "hidden", as_json, backend, verbose, gpus)
    record_submit(slug, file, result)
    sys.exit(exit_code_for(result.verdict))


@click.command()
@click.argument("slugs", nargs=-1)
@options.jobs_option()
@click.option(
    "--mutants",
    "mutant_sample",
    default=8,
    show_default=True,
    type=click.IntRange(0, 1000),
    help="Mutants sampled per problem and held to mutants.toml's score (0: off). See `judge mutants`.",
)
@click.option(
    "--wrong-sample",
    type=click.IntRange(0, 1000),
    default=None,
    help="Judge only N of each problem's Wrong Answer solutions (seeded by slug) and every one declared "
    "anything else (time, memory, crashes: what depends on the backend). Every patch is still applied. "
    "Default: all.",
)
@click.option("--no-cache", is_flag=True, help="Judge every check again instead of reusing cached results.")
@options.json_option
@options.backend_option
@options.gpus_option
@options.queue_option
def verify(
    slugs: tuple[str, ...],
    jobs: int,
    mutant_sample: int,
    wrong_sample: int | None,
    no_cache: bool,
    as_json: bool,
    backend: str,
    gpus: str | None,
    queue: str | None,
) -> None:
    """Check every problem: reference Accepted, stub and known-wrong solutions rejected.

    The reference runs every test; the stub and each wrong solution stop at their first failing
    test and are held to its verdict. Results are cached (by problem, submission, judge and
    backend), so verifying an unchanged problem again judges nothing; --no-cache runs it all.
    Exits 1 when any check fails or any problem's metadata is broken. This is what CI runs.

    \b
    Examples:
      judge verify
      judge verify sliding-window-attention --backend local --jobs 2
      judge verify react-agent --mutants 0 --no-cache
      judge verify --backend docker --wrong-sample 2     # CI's docker pass
      judge verify --queue redis://:secret@queue-host:6379/0
    """
    from judge.verify import ResultCache
    from judge.verify import verify as run_verify

    catalog = get_catalog()
    problems = [get_problem(slug) for slug in slugs] if slugs else list(catalog.problems.values())
    broken = [] if slugs else [str(e) for e in catalog.errors]
    chosen = get_backend(backend, gpus, queue=queue, priority="verify")
    jobs = common.queue_jobs(jobs, queue)
    from judge.verify import sample_wrong

    def wrong_count(problem: Any) -> int:
        return len(problem.wrong_solutions if wrong_sample is None else sample_wrong(problem, wrong_sample))

    total = sum(3 + wrong_count(p) + (1 if mutant_sample else 0) for p in problems)
    done = [0]

    def progress(check: Any) -> None:
        done[0] += 1  # on stderr, so --json output stays one document
        mark = click.style("ok", fg="green") if check.ok else click.style("FAIL", fg="red", bold=True)
        took = "cached" if check.cached else f"{check.wall_s:.1f}s"
        click.echo(f"[{done[0]}/{total}] {mark} {check.problem} {check.label}: {check.actual} ({took})", err=True)

    def problem_done(finished: Any) -> None:
        passed = sum(1 for c in finished.checks if c.ok)
        cached = sum(1 for c in finished.checks if c.cached)
        eta = f", ETA {_duration(finished.eta_s)}" if finished.problems_done < finished.problems_total else ""
        click.echo(
            f"[problem {finished.problems_done}/{finished.problems_total}] {finished.problem}: {passed}/{len(finished.checks)} ok"
            f" ({cached} cached), {_duration(finished.elapsed_s)} elapsed{eta}",
            err=True,
        )

    cache = None if no_cache else ResultCache.default(chosen)
    try:
        checks = run_verify(
            problems,
            chosen,
            jobs=jobs,
            progress=progress,
            mutants=mutant_sample,
            cache=cache,
            problem_done=problem_done,
            wrong_sample=wrong_sample,
        )
    except BackendError as exc:
        raise JudgeError(str(exc)) from None
    failed = [c for c in checks if not c.ok]
    if as_json:
        emit_json(
            {
                "ok": not failed and not broken,
                "backend": chosen.name,
                "checks": [c.as_json() for c in checks],
                "broken_problems": broken,
            }
        )
    else:
        rows = [
            [
                c.problem,
                c.label,
                c.expected,
                colour(Verdict.ACCEPTED, c.actual) if c.ok else colour(Verdict.WRONG_ANSWER, c.actual or "?"),
                "ok" if c.ok else "FAIL",
            ]
            for c in checks
        ]
        click.echo(table(rows, ["problem", "check", "expected", "got", ""]))
        for c in failed:
            click.echo(f"\nFAIL {c.problem} {c.label}: expected {c.expected}, got {c.actual}\n  {c.detail}")
        for error in broken:
            click.echo(f"\nbroken problem: {error}")
        summary = f"{len(checks) - len(failed)}/{len(checks)} checks passed on the {chosen.name} backend"
        if wrong_sample is not None:
            judged = sum(wrong_count(p) for p in problems)
            summary += f" (wrong solutions: {judged} of {sum(len(p.wrong_solutions) for p in problems)} judged, --wrong-sample)"
        click.echo(
            "\n" + (click.style(summary, fg="green") if not failed and not broken else click.style(summary, fg="red"))
        )
    sys.exit(EXIT_OK if not failed and not broken else EXIT_REJECTED)


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"
