"""Authoring commands: `judge wrong show` and `judge wrong new`, for a problem's known-wrong solutions.

A wrong solution is a patch against the reference (docs/problem-format.md, "Wrong solutions");
the library side is judge/wrong.py. These commands only parse and present.
"""

from __future__ import annotations

from pathlib import Path

import click

from judge import wrong
from judge.catalog import Problem
from judge.cli import options
from judge.cli.common import UserError, emit_json, get_problem
from judge.paths import REPO_ROOT
from judge_harness.schema import Verdict

SHORT_VERDICTS = {verdict.short: verdict for verdict in Verdict}


def parse_verdict(text: str) -> Verdict:
    """A verdict by name ("Wrong Answer", any case) or short name ("WA"); never Accepted."""
    by_name = {verdict.value.lower(): verdict for verdict in Verdict}
    verdict = by_name.get(text.strip().lower()) or SHORT_VERDICTS.get(text.strip().upper())
    known = ", ".join(f"{v.value} ({v.short})" for v in Verdict if v is not Verdict.ACCEPTED)
    if verdict is None:
        raise UserError(f"--verdict: expected one of {known}, got {text!r}")
    if verdict is Verdict.ACCEPTED:
        raise UserError(f"--verdict: a wrong solution cannot expect Accepted; expected one of {known}")
    return verdict


def find_wrong(problem: Problem, name: str) -> wrong.WrongSolution:
    """The wrong solution `name` (with or without .patch/.py) of `problem`; one-line errors."""
    candidates = [name] if name.endswith(wrong.SUFFIXES) else [f"{name}{suffix}" for suffix in wrong.SUFFIXES]
    for candidate in candidates:
        if (problem.path / "wrong" / candidate).is_file():
            try:
                return problem.wrong_solution(candidate)
            except (LookupError, wrong.WrongSolutionError) as exc:
                raise UserError(str(exc)) from None
    known = ", ".join(sorted(problem.wrong_solutions)) or "none yet"
    raise UserError(f"{problem.slug} has no wrong solution {name!r} (known: {known}); `judge wrong new` makes one")


def label_for(reference: Path) -> str:
    """How the patch's ---/+++ lines name the reference: its path in the repository."""
    resolved = reference.resolve()
    return resolved.relative_to(REPO_ROOT).as_posix() if resolved.is_relative_to(REPO_ROOT) else reference.name


@click.group("wrong")
def wrong_group() -> None:
    """See and make a problem's known-wrong solutions (patches against the reference).

    \b
    Examples:
      judge wrong show sliding-window-attention no_running_max
      cp solutions_ref/sliding_window_attention.py /tmp/edited.py   # then put the bug in
      judge wrong new sliding-window-attention no_running_max /tmp/edited.py \\
          --verdict "Wrong Answer" --bug "the running max is never subtracted, exp overflows at logits ~1e4"
    """


@wrong_group.command("show")
@click.argument("slug")
@click.argument("name")
@options.json_option
def show_command(slug: str, name: str, as_json: bool) -> None:
    """Print a wrong solution as the submission it stands for: the patched reference.

    NAME is the file under wrong/, with or without .patch. Exits 2 when the patch no longer
    applies to today's reference (the message names the hunk).

    \b
    Examples:
      judge wrong show sliding-window-attention no_running_max
      judge wrong show sliding-window-attention no_running_max --json
    """
    problem = get_problem(slug)
    solution = find_wrong(problem, name)
    try:
        source = solution.source(problem.reference)
    except wrong.WrongSolutionError as exc:
        raise UserError(str(exc)) from None
    if as_json:
        emit_json(
            {
                "problem": problem.slug,
                "name": solution.name,
                "verdict": solution.verdict.value,
                "bug": solution.bug,
                "header": solution.header,
                "source": source,
            }
        )
        return
    click.echo(source, nl=False)


@wrong_group.command("new")
@click.argument("slug")
@click.argument("name")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--verdict", "verdict_text", required=True, help='The verdict it must get: "Wrong Answer" or WA, TLE, ...'
)
@click.option("--bug", required=True, help="The mistake a candidate makes, in one sentence.")
@click.option("--measured", default="", help='For TLE/MLE: how far past the limit, e.g. "95 s of CPU against 20 s".')
@click.option("--force", is_flag=True, help="Replace wrong/NAME.patch if it exists.")
@options.json_option
def new_command(
    slug: str, name: str, file: Path, verdict_text: str, bug: str, measured: str, force: bool, as_json: bool
) -> None:
    """Write wrong/NAME.patch from FILE, an edited copy of the problem's reference.

    The patch is a 3-line-context unified diff against today's reference with the header
    (`# verdict:`, `# bug:`) that `judge verify` holds it to. Refuses to overwrite an existing
    patch without --force.

    \b
    Examples:
      cp solutions_ref/sliding_window_attention.py /tmp/edited.py   # then put the bug in
      judge wrong new sliding-window-attention no_running_max /tmp/edited.py \\
          --verdict "Wrong Answer" --bug "the running max is never subtracted, exp overflows at logits ~1e4"
      judge wrong new quantized-autograd elementwise_loop /tmp/slow.py --verdict TLE \\
          --bug "quantizes element by element in Python" --measured "95 s of CPU against the 20 s limit"
    """
    problem = get_problem(slug)
    stem = name.removesuffix(".patch")
    if not stem or "/" in stem or stem.startswith(".") or stem.endswith(".py"):
        raise UserError(f"NAME: expected a file name without folders or .py (e.g. no_running_max), got {name!r}")
    verdict = parse_verdict(verdict_text)
    try:
        edited = file.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"FILE: cannot read {file}: {exc}") from None
    target = problem.path / "wrong" / f"{stem}.patch"
    if target.exists() and not force:
        raise UserError(f"{target} exists; pass --force to replace it, or choose another NAME")
    try:
        text = wrong.make_patch(
            problem.reference,
            edited,
            verdict=verdict,
            bug=bug,
            repo_relative=label_for(problem.reference),
            measured=measured,
        )
        if wrong.apply_patch_text(problem.reference.read_text(), text, label=target.name) != edited:
            raise wrong.WrongSolutionError(f"{target.name}: the patch does not reproduce {file}")  # never expected
    except wrong.WrongSolutionError as exc:
        raise UserError(str(exc)) from None
    target.parent.mkdir(exist_ok=True)
    target.write_text(text)
    changed = sum(1 for line in text.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---")))
    if as_json:
        emit_json({"problem": problem.slug, "path": str(target), "verdict": verdict.value, "changed_lines": changed})
        return
    click.echo(f"wrote {target} ({verdict.value}, {changed} changed lines); `judge verify {problem.slug}` checks it")
