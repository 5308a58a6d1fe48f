"""`judge sandbox ...`: build the sandbox image and check the machine. The work is in judge.backends.docker.image
and judge.backends.docker.doctor; this module parses and presents.

A build that fails is a sandbox error (exit 3); `doctor` exits 1 when a required check fails.
"""

from __future__ import annotations

import sys

import click

from judge.backends.docker.image import SandboxError
from judge.cli import common as core
from judge.cli import options


@click.group()
def sandbox() -> None:
    """Build and check the Docker sandbox that judges submissions.

    \b
    Examples:
      judge sandbox build
      judge sandbox build --no-registry
      judge sandbox doctor
    """


@sandbox.command()
@click.option(
    "--no-registry",
    is_flag=True,
    help="Build from a debootstrapped Debian (needs root and debootstrap) instead of pulling python:3.11-slim.",
)
@options.json_option
def build(no_registry: bool, as_json: bool) -> None:
    """Build the sandbox image for this checkout, tagged by a hash of its inputs.

    Wheels come from the host's pip (sandbox/requirements.txt); the debootstrapped base and the
    wheels are cached under ~/.cache/judge/sandbox, so a rebuild after a harness change is quick.

    \b
    Examples:
      judge sandbox build
      sudo judge sandbox build --no-registry
    """
    from judge.backends.docker.image import build as build_image

    try:
        report = build_image(registry=not no_registry, log=lambda line: click.echo(line, err=True))
    except SandboxError as exc:
        raise core.JudgeError(str(exc)) from None
    if as_json:
        core.emit_json(
            {
                "tag": report.tag,
                "base": report.base,
                "size_bytes": report.size_bytes,
                "seconds": round(report.seconds, 1),
            }
        )
    else:
        click.echo(
            f"built {report.tag} from {report.base}: {report.size_bytes / 2**20:.0f} MiB in {report.seconds:.0f} s"
        )


@sandbox.command()
@options.json_option
def doctor(as_json: bool) -> None:
    """Check the engine, the image and the sandbox's isolation with a probe container.

    Exits 1 when a required check fails (GPUs are reported, never required).

    \b
    Example:
      judge sandbox doctor
    """
    from judge.backends.docker.doctor import diagnose

    findings = diagnose()
    failed = [f for f in findings if f.required and not f.ok]
    if as_json:
        core.emit_json({"ok": not failed, "findings": [f.as_json() for f in findings]})
    else:
        for finding in findings:
            mark = (
                click.style("ok", fg="green")
                if finding.ok
                else click.style("FAIL" if finding.required else "--", fg="red" if finding.required else "yellow")
            )
            click.echo(f"{mark:>4}  {finding.name}" + (f": {finding.detail}" if finding.detail else ""))
        click.echo("\nthe sandbox is ready" if not failed else f"\n{len(failed)} check(s) failed")
    sys.exit(core.EXIT_REJECTED if failed else core.EXIT_OK)


@sandbox.command("warm")
@click.option("--on/--off", "on", default=None, help="Turn warm boxes on or off (off also removes the waiting ones).")
@options.json_option
def warm_command(on: bool | None, as_json: bool) -> None:
    """Show or set warm boxes: a started sandbox left waiting for the next run.

    After a run on the docker backend the judge leaves one box of the same configuration waiting,
    torch already imported and nothing of any run in it; the next run claims it instead of
    starting a cold one. A box serves one run, is never shared across users, and removes itself
    after 300 s idle (JUDGE_WARM_IDLE_S). On by default; JUDGE_SANDBOX_WARM=0|1 overrides
    the setting for one command.

    \b
    Examples:
      judge sandbox warm          # the setting and the boxes waiting now
      judge sandbox warm --off
      judge sandbox warm --on
    """
    from judge.backends.docker import warm
    from judge.backends.docker.image import SandboxError as EngineError
    from judge.backends.docker.image import engine

    if on is not None:
        warm.set_enabled(on)
    removed: list[str] = []
    waiting: list[str] = []
    try:
        client = engine()
        if on is False:
            removed = warm.remove_all(client)
        waiting = [(c.attrs.get("Names") or ["?"])[0].lstrip("/") for c in warm.waiting(client)]
    except EngineError:
        pass  # no engine: the setting is still saved
    enabled = warm.enabled()
    if as_json:
        core.emit_json({"warm": enabled, "idle_s": warm.idle_s(), "waiting": waiting, "removed": removed})
        return
    click.echo(f"warm boxes: {'on' if enabled else 'off'} (idle expiry {warm.idle_s():g} s)")
    if removed:
        click.echo(f"removed {len(removed)} waiting box(es)")
    click.echo(f"waiting now: {len(waiting)}" + "".join(f"\n  {name}" for name in waiting))
