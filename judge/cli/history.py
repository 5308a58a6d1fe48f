"""`judge history` and `judge stats`: what judge/practice/history.py recorded, as tables or JSON."""

from __future__ import annotations

import click

from judge.cli import common as core
from judge.cli import options
from judge.cli.present import table
from judge.practice import history, workspace
from judge.units import to_iso
from judge_harness.schema import Verdict


@click.command("history")
@click.argument("slug", required=False)
@click.option(
    "--limit", "-n", type=click.IntRange(1), default=20, show_default=True, help="Most recent submits to show."
)
@click.option(
    "--code",
    "code_of",
    type=int,
    metavar="ID",
    help="Print the code of submit ID instead (with --json: its entry and code).",
)
@options.json_option
def history_command(slug: str | None, limit: int, code_of: int | None, as_json: bool) -> None:
    """List your submits, newest first, for every problem or one.

    \b
    Examples:
      judge history sliding-window-attention --json
      judge history --code 12 > attempt12.py
      judge history --code 12 --json
    """
    if code_of is not None:
        match = [e for e in history.entries() if e.id == code_of]
        source = history.code(match[0].code_sha256) if match else None
        if source is None:
            raise core.UserError(f"no submit with id {code_of}; `judge history` lists the ids")
        if as_json:
            core.emit_json({**match[0].as_json(), "code": source})
        else:
            click.echo(source, nl=False)
        return
    found = history.entries(slug, limit=limit)
    if as_json:
        core.emit_json({"database": str(history.db_path()), "submissions": [e.as_json() for e in found]})
        return
    if not found:
        click.echo("no submits yet" + (f" for {slug}" if slug else "") + "; `judge submit` records one")
        return
    rows = [
        [
            str(e.id),
            to_iso(e.submitted_at).replace("T", " ").rstrip("Z"),
            e.slug,
            core.colour(e.verdict),
            f"{e.passed}/{e.total}",
            "" if e.elapsed_s is None else workspace.clock(e.elapsed_s),
            "yes" if e.late else "",
            e.backend or "none",  # a Compilation Error found before any box ran
        ]
        for e in found
    ]
    click.echo(table(rows, ["id", "submitted (UTC)", "problem", "verdict", "tests", "clock", "late", "backend"]))


@click.command()
@options.json_option
def stats(as_json: bool) -> None:
    """Per problem: attempts, best verdict, time to first Accepted; per tag: problems solved.

    \b
    Example:
      judge stats --json
    """
    summary = history.stats(core.get_catalog().problems.values())
    if as_json:
        core.emit_json(summary)
        return
    if not summary["problems"]:
        click.echo("no submits yet; `judge practice` picks a problem")
    else:
        rows = [
            [
                p["slug"],
                str(p["attempts"]),
                core.colour(Verdict(p["best_verdict"])),
                "" if p["time_to_first_accepted_s"] is None else workspace.clock(p["time_to_first_accepted_s"]),
                "" if p["attempts_to_first_accepted"] is None else str(p["attempts_to_first_accepted"]),
            ]
            for p in summary["problems"]
        ]
        click.echo(table(rows, ["problem", "attempts", "best", "time to AC", "tries to AC"]))
    tags = [
        [t["tag"], f"{t['solved']}/{t['problems'] if t['problems'] is not None else t['attempted']}"]
        for t in summary["tags"]
    ]
    if tags:
        click.echo("\n" + table(tags, ["tag", "solved"]))
    totals = summary["totals"]
    click.echo(f"\n{totals['solved']} solved of {totals['attempted']} attempted, {totals['submissions']} submits")
