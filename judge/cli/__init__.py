"""The `judge` command line: the group and its commands. Each family lives in its own module
(judging, practice, history, sandbox, takehome); they parse and present, the work happens in
library modules outside this package."""

from __future__ import annotations

import click

from judge import __version__
from judge.cli.authoring import wrong_group
from judge.cli.common import JudgeGroup
from judge.cli.history import history_command, stats
from judge.cli.judging import list_command, show, submit, test, verify
from judge.cli.mutants import mutants_command
from judge.cli.practice import pause, practice, resume, start, status
from judge.cli.sandbox import sandbox
from judge.cli.takehome import takehome
from judge.cli.worker import worker


@click.group(cls=JudgeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="judge")
def cli() -> None:
    """A terminal judge for senior AI-engineering interview questions.

    \b
    Examples:
      judge list
      judge show sliding-window-attention
      judge test sliding-window-attention my_solution.py
      judge submit sliding-window-attention my_solution.py
      judge verify --jobs 2
    """


for command in (
    list_command,
    show,
    test,
    submit,
    verify,
    start,
    status,
    pause,
    resume,
    practice,
    history_command,
    stats,
    takehome,
    sandbox,
    mutants_command,
    worker,
    wrong_group,
):
    cli.add_command(command)
