"""Timed practice commands: `judge start`, `status`, `pause`, `resume`, `practice`, and `judge test --watch`'s loop.

The workspace and its clock live in judge/practice/workspace.py; submissions are recorded by
judge/practice/history.py. This module parses and presents.
"""

from __future__ import annotations

import hashlib
import random
import sqlite3
import time
from pathlib import Path
from typing import Any

import click

from judge.catalog import Problem
from judge.cli import common as core
from judge.cli import options
from judge.practice import history, workspace
from judge_harness.schema import RunResult, Verdict


def _workspace_here() -> workspace.Workspace:
    try:
        found = workspace.find()
    except workspace.WorkspaceError as exc:
        raise core.UserError(str(exc)) from None
    if found is None:
        raise core.UserError(
            f"not inside a workspace (no {workspace.MANIFEST_NAME} here or above); `judge start SLUG` makes one"
        )
    return found


def _status(ws: workspace.Workspace, now: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    attempts = history.entries(workspace_id=ws.workspace_id)
    best = history.best(e.verdict for e in attempts)
    return {
        "slug": ws.slug,
        "path": str(ws.root),
        "solution": str(ws.solution),
        "minutes": ws.minutes,
        "elapsed_s": round(ws.elapsed_s(now), 1),
        "remaining_s": round(ws.remaining_s(now), 1),
        "late": ws.is_late(now),
        "paused": ws.is_paused,
        "finished": ws.is_finished,  # the first Accepted stopped the clock
        "attempts": len(attempts),
        "best_verdict": best.value if best else None,
        "last_verdict": attempts[0].verdict.value if attempts else None,
    }


def _show_status(status: dict[str, Any]) -> None:
    remaining = status["remaining_s"]
    clock = f"{workspace.clock(remaining)} left" if remaining >= 0 else f"late by {workspace.clock(-remaining)}"
    state = " (paused: `judge resume` to go on)" if status["paused"] else ""
    if status["finished"]:
        clock, state = f"Accepted after {workspace.clock(status['elapsed_s'])}", " (the clock stopped)"
    click.echo(f"{status['slug']}: {clock} of {status['minutes']} min{state}")
    click.echo(f"  elapsed {workspace.clock(status['elapsed_s'])}, {status['attempts']} submit(s)", nl=False)
    if status["best_verdict"]:
        click.echo(
            f", best {core.colour(Verdict(status['best_verdict']))}, last {core.colour(Verdict(status['last_verdict']))}"
        )
    else:
        click.echo()
    click.echo(f"  file: {status['solution']}")


def begin(problem: Problem, directory: Path | None, minutes: int | None, as_json: bool) -> None:
    """Create the workspace and tell the user what to do next (shared by `start` and `practice`)."""
    target = directory if directory is not None else Path.cwd() / problem.slug
    try:
        ws = workspace.create(problem, target, minutes)
    except (workspace.WorkspaceError, OSError) as exc:
        raise core.UserError(str(exc)) from None
    if as_json:
        core.emit_json({**ws.as_json(), "path": str(ws.root), "solution": str(ws.solution)})
        return
    ends = time.strftime("%H:%M", time.localtime(ws.started_at + ws.minutes * 60))
    click.echo(f"Started {problem.slug} ({problem.title}): {ws.minutes} min on the clock, until {ends}.")
    click.echo(
        f"\n  cd {ws.root}\n"
        f"  $EDITOR {ws.file}        # statement.md has the problem\n"
        "  judge test               # public tests; --watch reruns them on every save\n"
        "  judge submit             # hidden tests; recorded in `judge history`\n"
        "  judge status | judge pause | judge resume"
    )


@click.command()
@click.argument("slug")
@options.clock_options
@options.json_option
def start(slug: str, minutes: int | None, directory: Path | None, as_json: bool) -> None:
    """Start timed practice: a workspace with the statement, the stub to edit and the public tests.

    Inside it, `judge test` and `judge submit` need no arguments.

    \b
    Example:
      judge start sliding-window-attention --minutes 45
    """
    begin(core.get_problem(slug), directory, minutes, as_json)


@click.command()
@options.json_option
def status(as_json: bool) -> None:
    """Show the clock and the submits so far for the workspace you are in.

    \b
    Example:
      judge status --json
    """
    current = _status(_workspace_here())
    core.emit_json(current) if as_json else _show_status(current)


def _toggle(stop: bool, as_json: bool) -> None:
    ws = _workspace_here()
    try:
        ws.pause() if stop else ws.resume()
        ws.save()
    except workspace.WorkspaceError as exc:
        raise core.UserError(str(exc)) from None
    current = _status(ws)
    core.emit_json(current) if as_json else _show_status(current)


@click.command()
@options.json_option
def pause(as_json: bool) -> None:
    """Pause the workspace's clock.

    \b
    Example:
      judge pause
    """
    _toggle(True, as_json)


@click.command()
@options.json_option
def resume(as_json: bool) -> None:
    """Restart the workspace's paused clock.

    \b
    Example:
      judge resume
    """
    _toggle(False, as_json)


@click.command()
@options.filter_options
@options.clock_options
@options.json_option
def practice(
    difficulty: str | None, tag: str | None, minutes: int | None, directory: Path | None, as_json: bool
) -> None:
    """Pick a problem you have not had Accepted yet and start it.

    \b
    Example:
      judge practice --difficulty hard --tag attention
      judge practice --tag agents
    """
    catalog = core.get_catalog()
    tags = sorted({t for p in catalog.problems.values() for t in p.tags})
    if tag is not None and tag not in tags:
        raise core.UserError(f"no problem has the tag {tag!r}; expected one of: {', '.join(tags)}")
    solved = history.accepted_slugs()
    pool = [
        p
        for p in catalog.problems.values()
        if (difficulty is None or p.difficulty == difficulty)
        and (tag is None or tag in p.tags)
        and p.slug not in solved
    ]
    if not pool:
        wanted = " ".join(f"--{k} {v}" for k, v in (("difficulty", difficulty), ("tag", tag)) if v) or "(any)"
        raise core.UserError(
            f"no unsolved problem matches {wanted}; widen the filters or redo one with `judge start SLUG`"
        )
    begin(random.choice(pool), directory, minutes, as_json)


def refuse_while_paused(slug: str, file: Path) -> None:
    """A submit is timed: while its workspace's clock is paused there is no time to give it."""
    ws = workspace.owning(file, slug)
    if ws is not None and ws.is_paused:
        raise core.UserError(
            f"the clock of {ws.root} is paused, and a submit is timed: `judge resume`, then `judge submit`"
        )


def record_submit(slug: str, file: Path, result: RunResult) -> None:
    """Store a judged submit in the history; a failure to store is a warning, never a lost verdict."""
    if result.verdict is Verdict.INTERNAL_ERROR:
        return  # the judge failed, not the attempt: it does not count against the candidate
    problem = core.get_problem(slug)
    ws = workspace.owning(file, slug)
    now = time.time()
    late = ws is not None and ws.is_late(now)
    try:
        data = file.read_bytes()
        judged = "sha256:" + hashlib.sha256(data).hexdigest() == result.submission_hash
        source = (
            data.decode("utf-8") if judged else "# the file changed while it was being judged; this copy was not kept\n"
        )
        history.record(
            result,
            source,
            tags=problem.tags,
            elapsed_s=None if ws is None else ws.elapsed_s(now),
            late=late,
            workspace_id=None if ws is None else ws.workspace_id,
            now=now,
        )
    except (sqlite3.Error, OSError, UnicodeDecodeError) as exc:
        click.echo(f"warning: this submit was judged but not recorded in {history.db_path()}: {exc}", err=True)
        return
    if ws is not None and result.verdict is Verdict.ACCEPTED and not ws.is_finished:
        ws.finish(now)
        try:
            ws.save()
        except OSError as exc:
            click.echo(f"warning: the clock could not be stopped in {ws.manifest}: {exc}", err=True)
        else:
            click.echo(f"Accepted after {workspace.clock(ws.elapsed_s(now))}: the clock stopped", err=True)
    if late:
        click.echo(
            f"late: submitted {workspace.clock(-ws.remaining_s(now))} after the {ws.minutes} min deadline", err=True
        )


def watch_tests(
    slug: str | None, file: Path | None, as_json: bool, backend: str, gpus: str | None, verbose: bool
) -> None:
    """`judge test --watch`: run the public tests, then again each time the file is saved, until Ctrl-C."""
    slug, file = core.resolve_target(slug, file)

    def once() -> None:
        try:
            core.judge_and_report(slug, file, "public", as_json, backend, verbose, gpus)
        except click.ClickException as exc:
            exc.show()  # a half-saved file is not the end of the session: say so and keep watching

    click.echo(f"watching {file}; Ctrl-C to stop", err=True)
    try:
        once()
        for _ in workspace.changes(file):
            click.echo(f"\n{time.strftime('%H:%M:%S')} {file.name} changed: rerunning the public tests", err=True)
            once()
    except KeyboardInterrupt:
        click.echo("\nstopped watching", err=True)
