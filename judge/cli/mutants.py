"""`judge mutants SLUG`: mutation testing of a problem's reference on its hidden suite."""

from __future__ import annotations

import sys
import time
from typing import Any

import click

from judge.cli import options
from judge.cli.common import EXIT_OK, EXIT_REJECTED, JudgeError, UserError, emit_json, get_backend, get_problem
from judge.cli.present import table


def _eta(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


@click.command("mutants")
@click.argument("slug")
@options.jobs_option(2, "Mutants judged side by side.")
@click.option(
    "--backend",
    type=click.Choice(["fork", "local", "docker"]),
    default="fork",
    show_default=True,
    help="fork: in-process children forked from one parent (fast); local/docker: the real judge, whole suite.",
)
@click.option("--record", is_flag=True, help="Rewrite problems/SLUG/mutants.toml's score and count (equivalents kept).")
@click.option("--id", "ids", multiple=True, metavar="ID", help="Judge only these mutants (repeatable).")
@click.option("--operator", "operators", multiple=True, metavar="NAME", help="Judge only mutants of these operators.")
@click.option("--no-cache", is_flag=True, help="Judge every mutant again instead of reusing cached results.")
@click.option("--list", "list_only", is_flag=True, help="List the mutants (id and line) without judging them.")
@options.json_option
def mutants_command(
    slug: str,
    jobs: int,
    backend: str,
    record: bool,
    ids: tuple[str, ...],
    operators: tuple[str, ...],
    no_cache: bool,
    list_only: bool,
    as_json: bool,
) -> None:
    """Mutate the reference and judge every mutant on the hidden suite.

    Prints the mutant count, killed, survived, recorded equivalents and the kill rate of
    non-equivalent mutants, then each survivor as a diff with its id. A survivor either
    deserves a new hidden test or an `[[equivalent]]` entry in problems/SLUG/mutants.toml.
    Exits 1 when a mutant survives unrecorded or a recorded equivalent is stale.

    \b
    Examples:
      judge mutants quantized-autograd
      judge mutants react-agent --jobs 2 --record
      judge mutants rag-pipeline --operator remove --json
      judge mutants sliding-window-attention --id sliding_window_attention:boundary:1:3f2a1c --backend local
    """
    from judge import mutants as library

    problem = get_problem(slug)
    try:
        everything = library.generate(problem.reference.read_text(), problem.reference.name)
    except Exception as exc:  # a reference libcst cannot parse is the author's to fix
        raise JudgeError(f"cannot mutate {problem.reference}: {exc}") from None
    unknown_ops = sorted(set(operators) - set(library.OPERATORS))
    if unknown_ops:
        raise UserError(f"unknown operator {unknown_ops[0]!r}; expected one of {', '.join(library.OPERATORS)}")
    chosen = [m for m in everything if (not ids or m.id in ids) and (not operators or m.operator in operators)]
    missing = sorted(set(ids) - {m.id for m in everything})
    if missing:
        raise UserError(f"no mutant {missing[0]!r} in {slug}; `judge mutants {slug} --list` lists them")
    if record and (ids or operators):
        raise UserError("--record needs a full run: drop --id and --operator")
    if list_only:
        if as_json:
            emit_json([{"id": m.id, "operator": m.operator, "line": m.line, "diff": m.diff} for m in chosen])
        else:
            for m in chosen:
                click.echo(f"{m.id}  line {m.line}")
        return
    backend_object = get_backend(backend) if backend != "fork" else None
    fresh: list[float] = []  # when each freshly judged result came in

    def progress(done: int, total: int, result: Any) -> None:
        if not result.cached:
            fresh.append(time.monotonic())
        # the rate from the results since the first one: the set-up before it (imports, the reference) is paid once
        rate = (fresh[-1] - fresh[0]) / (len(fresh) - 1) if len(fresh) > 1 else 0.0
        eta = f", ETA {_eta(rate * (total - done))}" if rate and done < total else ""
        mark = "killed" if result.killed else ("equivalent" if result.equivalent else "SURVIVED")
        click.echo(
            f"[{done}/{total}] {mark:10} {result.id} ({result.verdict}{', cached' if result.cached else ''}){eta}",
            err=True,
        )

    try:
        report = library.run_mutants(
            problem,
            jobs=jobs,
            backend=backend,
            only=chosen,
            use_cache=not no_cache,
            progress=progress,
            backend_object=backend_object,
        )
    except library.MutantsFileError as exc:
        raise UserError(str(exc)) from None
    except KeyboardInterrupt:
        click.echo("interrupted: every child was stopped; results judged so far are cached", err=True)
        sys.exit(130)
    except RuntimeError as exc:
        raise JudgeError(str(exc)) from None
    if record:
        existing = library.read_record(problem.path)
        existing.score = report.summary["kill_rate"]
        existing.mutants = report.summary["mutants"]
        path = library.write_record(problem.path, existing)
        click.echo(f"recorded score {existing.score:.4f} over {existing.mutants} mutants in {path}", err=True)
    if as_json:
        emit_json(report.as_json())
    else:
        click.echo(render_report(report))
    ok = not report.survivors and not report.stale
    sys.exit(EXIT_OK if ok else EXIT_REJECTED)


def render_report(report: Any) -> str:
    s = report.summary
    lines = []
    for result in report.survivors:
        lines += [f"SURVIVED {result.id}  (line {result.line}: {result.verdict})", report.mutants[result.id].diff]
    rows = [[result.id, result.equivalent] for result in report.results if result.equivalent]
    if rows:
        lines += ["recorded equivalents:", table(rows, ["id", "reason"]), ""]
    for entry in report.stale:
        lines.append(f"STALE equivalent {entry.id}: no such mutant any more (reason was: {entry.reason})")
    for mutant_id in report.killed_equivalents:
        lines.append(f"NOT EQUIVALENT {mutant_id}: recorded as equivalent, but a test kills it; remove the entry")
    cached = sum(1 for r in report.results if r.cached)
    judged = [r for r in report.results if not r.cached]
    if judged and report.backend == "fork":
        killed = [r.cpu_s for r in judged if r.killed]
        lines.append(
            f"cost: {sum(r.cpu_s for r in judged):.0f} s of CPU in {len(judged)} children"
            + (f"; a killed mutant {sorted(killed)[len(killed) // 2]:.2f} s (median)" if killed else "")
        )
    lines.append(
        f"{report.problem}: {s['mutants']} mutants, {s['killed']} killed, {s['survived']} survived, "
        f"{s['equivalent']} equivalent; kill rate {s['kill_rate']:.1%} of non-equivalent "
        f"({report.backend} backend, {report.wall_s:.0f} s, {cached} cached)"
    )
    return "\n".join(lines)
