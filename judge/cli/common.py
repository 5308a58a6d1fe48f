"""What every `judge` command shares: errors and exit codes, JSON output, lookups, judging.

Command modules (judging, practice, history, sandbox, takehome) import this one; it imports
none of them. The shared options are in options.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from judge import paths, runner
from judge.backends import Backend, BackendError, select
from judge.catalog import Catalog, Problem, load_catalog
from judge.cli.present import LiveTests, colour, render_result
from judge.staging import SubmissionError
from judge_harness.schema import RunResult, Verdict

__all__ = ["colour"]  # re-exported for the command modules

EXIT_OK, EXIT_REJECTED, EXIT_USAGE, EXIT_JUDGE_ERROR = 0, 1, 2, 3


class UserError(click.ClickException):
    """A mistake in what the user asked for: one line, exit 2."""

    exit_code = EXIT_USAGE


class JudgeError(click.ClickException):
    """The judge or its sandbox failed: exit 3."""

    exit_code = EXIT_JUDGE_ERROR


def emit_json(document: Any) -> None:
    click.echo(json.dumps(document, indent=2))


def error_document(exc: click.ClickException) -> dict[str, Any]:
    """What `--json` prints on stdout for an error, so a script reads a document whatever happened."""
    kind = "usage" if exc.exit_code == EXIT_USAGE else "judge" if exc.exit_code == EXIT_JUDGE_ERROR else "error"
    return {"error": {"kind": kind, "message": exc.format_message(), "exit_code": exc.exit_code}}


class JudgeGroup(click.Group):
    """The `judge` group. With `--json` among the arguments an error also prints `error_document` on
    stdout (the one-line message still goes to stderr, the exit code is unchanged)."""

    def main(
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        if not standalone_mode or "--json" not in argv[: argv.index("--") if "--" in argv else None]:
            return super().main(argv, prog_name, complete_var, standalone_mode, **extra)
        try:
            outcome = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        except click.ClickException as exc:
            emit_json(error_document(exc))
            exc.show()
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(outcome if isinstance(outcome, int) else EXIT_OK)


def get_catalog() -> Catalog:
    problem = paths.missing_checkout()
    if problem:
        raise UserError(problem)
    return load_catalog()


def get_problem(slug: str) -> Problem:
    try:
        return get_catalog().get(slug)
    except LookupError as exc:
        raise UserError(str(exc)) from None


QUEUE_JOBS = 32  # runs in flight at once through a queue when --jobs is not given: the workers do the work


def get_backend(name: str, gpus: str | None = None, *, queue: str | None = None, priority: str = "verify") -> Backend:
    """The backend a command judges on: a queue of `judge worker`s when --queue is given, else `name`."""
    try:
        if queue:
            from judge.distributed import QueueBackend

            return QueueBackend(queue, priority=priority)
        return select(name, gpus=gpus, warn=lambda message: click.echo(message, err=True))
    except BackendError as exc:
        raise JudgeError(str(exc)) from None


def queue_jobs(jobs: int, queue: str | None) -> int:
    """--jobs as given, or QUEUE_JOBS with a queue when --jobs was left at its default."""
    context = click.get_current_context()
    if queue and context.get_parameter_source("jobs") is click.core.ParameterSource.DEFAULT:
        return QUEUE_JOBS
    return jobs


def exit_code_for(verdict: Verdict) -> int:
    if verdict is Verdict.ACCEPTED:
        return EXIT_OK
    if verdict is Verdict.INTERNAL_ERROR:
        return EXIT_JUDGE_ERROR
    return EXIT_REJECTED


def judge_and_report(
    slug: str, file: Path, suite: str, as_json: bool, backend_name: str, verbose: bool, gpus: str | None = None
) -> RunResult:
    problem = get_problem(slug)
    backend = get_backend(backend_name, gpus)
    # On a terminal each test is shown as it finishes; piped output and --json are as before.
    live = (
        LiveTests(f"{problem.slug}: {suite} tests on {backend.name}") if not as_json and sys.stdout.isatty() else None
    )
    try:
        with runner.stop_on_termination(), live or contextlib.nullcontext():
            result = runner.run(problem, file, suite, backend, verbose=verbose, progress=live.on_test if live else None)
    except SubmissionError as exc:
        raise UserError(str(exc)) from None
    except BackendError as exc:
        raise JudgeError(str(exc)) from None
    if as_json:
        emit_json(result.as_json())
    else:
        shown = live is not None and live.done == len(result.tests) > 0
        click.echo(render_result(result, verbose=verbose, memory_limit_mb=problem.limits.memory_mb, tests_shown=shown))
    return result


WORKERS_ENV = "JUDGE_WORKERS"
MAX_SPREAD = 4  # boxes one run may use: each holds a checker, a worker and torch


def spread_workers(problem: Problem, backend: Backend) -> int:
    """How many boxes one `judge test`/`submit` spreads its tests over: $JUDGE_WORKERS, else the
    machine's cores (the Docker engine's, or this machine's for local: a box's checker and worker
    take turns, so one core each), at most MAX_SPREAD and the problem's `workers`; 1 on a backend
    that cannot spread (the queue)."""
    if backend.name not in ("local", "docker"):
        return 1
    configured = os.environ.get(WORKERS_ENV, "").strip()
    if configured:
        try:
            wanted = int(configured)
        except ValueError:
            raise UserError(f"{WORKERS_ENV} must be a positive integer, got {configured!r}") from None
        if wanted < 1:
            raise UserError(f"{WORKERS_ENV} must be a positive integer, got {configured!r}")
    else:
        cores = float(getattr(backend, "engine_cpus", 0) or os.cpu_count() or 1)
        wanted = min(MAX_SPREAD, max(1, int(cores)))
    return min(wanted, problem.max_workers) if problem.max_workers else wanted


def resolve_target(slug: str | None, file: Path | None) -> tuple[str, Path]:
    """SLUG and FILE as given, or from the workspace (`judge start`) holding the current directory."""
    if slug is not None and file is not None:
        return slug, file
    from judge.practice import workspace

    try:
        here = workspace.find()
    except workspace.WorkspaceError as exc:
        raise UserError(str(exc)) from None
    if here is None:
        raise UserError(
            "expected SLUG and FILE (e.g. `judge test sliding-window-attention solution.py`), "
            "or run inside a workspace made by `judge start SLUG`"
        )
    if slug is not None and slug != here.slug:
        if file is None and slug.endswith(".py"):  # `judge test other.py` inside a workspace
            return here.slug, Path(slug)
        raise UserError(f"this workspace is for {here.slug}, not {slug}; pass SLUG and FILE to judge another problem")
    if get_problem(here.slug).content_hash() != here.problem_hash:
        click.echo(f"warning: {here.slug} changed since `judge start`; judging against the current version", err=True)
    if here.is_paused:
        click.echo("note: the clock is paused; `judge resume` restarts it", err=True)
    return here.slug, file or here.solution
