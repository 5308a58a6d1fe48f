"""`judge sandbox ...`: build the sandbox image and check the machine. The work is in judge.backends.docker.image
and judge.backends.docker.doctor; this module parses and presents."""

from __future__ import annotations

import json
import os
import sys

import click

from judge.backends.docker import GPU_ENV
from judge.backends.docker.image import SandboxError


def add_gpus_option(*commands: click.Command) -> None:
    """Give commands that judge a `--gpus all|N|ID,ID` option for the docker backend's containers.

    `select` builds the backend without arguments, so the option is handed over through the
    JUDGE_GPUS variable that DockerBackend.connect reads (setting JUDGE_GPUS works the same).
    """

    def remember(context: click.Context, parameter: click.Parameter, value: str | None) -> str | None:
        if value:
            os.environ[GPU_ENV] = value
        return value

    for command in commands:
        command.params.append(
            click.Option(
                ["--gpus"],
                metavar="all|N|IDS",
                expose_value=False,
                callback=remember,
                help="Give the sandbox GPUs (docker backend; needs the NVIDIA Container Toolkit).",
            )
        )


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
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (progress still goes to stderr).")
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
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(
            json.dumps(
                {
                    "tag": report.tag,
                    "base": report.base,
                    "size_bytes": report.size_bytes,
                    "seconds": round(report.seconds, 1),
                }
            )
        )
    else:
        click.echo(
            f"built {report.tag} from {report.base}: {report.size_bytes / 2**20:.0f} MiB in {report.seconds:.0f} s"
        )


@sandbox.command()
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
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
        click.echo(json.dumps({"ok": not failed, "findings": [f.as_json() for f in findings]}, indent=2))
    else:
        for finding in findings:
            mark = (
                click.style("ok", fg="green")
                if finding.ok
                else click.style("FAIL" if finding.required else "--", fg="red" if finding.required else "yellow")
            )
            click.echo(f"{mark:>4}  {finding.name}" + (f": {finding.detail}" if finding.detail else ""))
        click.echo("\nthe sandbox is ready" if not failed else f"\n{len(failed)} check(s) failed")
    sys.exit(1 if failed else 0)
