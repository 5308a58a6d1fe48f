"""The options several commands share, each defined once.

A command takes them as decorators (`@options.json_option`), so the same flag has the same
name, default, environment variable and help wherever it appears.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from judge.backends import BACKENDS
from judge.catalog import DIFFICULTIES, load_catalog

GPUS_ENV = "JUDGE_GPUS"
Command = TypeVar("Command", bound=Callable[..., Any])

json_option = click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print one JSON document on stdout instead of text (progress goes to stderr).",
)

backend_option = click.option(
    "--backend",
    type=click.Choice(BACKENDS),
    default="auto",
    envvar="JUDGE_BACKEND",
    show_default=True,
    help="Where submissions run: docker (sandbox), local (subprocesses), auto (docker if an engine answers).",
)

gpus_option = click.option(
    "--gpus",
    metavar="all|N|IDS",
    envvar=GPUS_ENV,
    show_envvar=True,
    help="Give the sandbox GPUs (docker backend; needs the NVIDIA Container Toolkit).",
)


QUEUE_ENV = "JUDGE_QUEUE"
queue_option = click.option(
    "--queue",
    metavar="URL",
    envvar=QUEUE_ENV,
    show_envvar=True,
    help="Judge on `judge worker`s pulling from this Redis queue (redis://[:password@]host:6379/0) instead of here.",
)


def jobs_option(default: int = 1, help: str = "Runs side by side.") -> Callable[[Command], Command]:
    """--jobs/-j: how many runs at once (1 to 64)."""
    return click.option("--jobs", "-j", default=default, show_default=True, type=click.IntRange(1, 64), help=help)


class DifficultyChoice(click.Choice):
    """The difficulties some problem of the catalog has, in DIFFICULTIES order: help never offers an
    empty filter, and a difficulty no problem has is refused with the ones that exist."""

    def __init__(self) -> None:
        super().__init__(DIFFICULTIES)

    @property
    def choices(self) -> tuple[str, ...]:
        present = {problem.difficulty for problem in load_catalog().problems.values()}
        return tuple(level for level in DIFFICULTIES if level in present) or DIFFICULTIES

    @choices.setter
    def choices(self, value: Any) -> None:  # click.Choice.__init__ assigns; the catalog decides
        pass


difficulty_option = click.option("--difficulty", type=DifficultyChoice(), help="Only problems of this difficulty.")
tag_option = click.option("--tag", help="Only problems with this tag (`judge list` shows each problem's tags).")

minutes_option = click.option(
    "--minutes", type=click.IntRange(1, 24 * 60), help="Minutes on the clock.  [default: the problem's estimate]"
)
directory_option = click.option(
    "--dir", "directory", type=click.Path(path_type=Path, file_okay=False), help="Workspace folder.  [default: ./SLUG]"
)

watch_option = click.option(
    "--watch", "-w", is_flag=True, help="Rerun whenever the file is saved (polls its mtime); Ctrl-C stops."
)


def filter_options(function: Command) -> Command:
    """--difficulty and --tag: which problems of the catalog a command considers."""
    return difficulty_option(tag_option(function))


def clock_options(function: Command) -> Command:
    """--minutes and --dir: the clock and folder of a new practice workspace."""
    return minutes_option(directory_option(function))
