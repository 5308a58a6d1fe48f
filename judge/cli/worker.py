"""`judge worker`: pull runs from a Redis queue and judge them on this machine's sandbox."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import time
from typing import Any

import click

from judge import __version__
from judge.cli.common import JudgeError

PR_SET_PDEATHSIG = 1


def _slot(url: str, backend_name: str, name: str, burst: bool) -> None:
    """One slot's process: its own backend and its own RQ worker."""
    from judge import distributed as queue
    from judge.backends import BackendError, select

    # Only the parent's signals reach a slot: its own session keeps a terminal's Ctrl-C and a
    # group-wide SIGTERM away (the parent turns either into one SIGTERM: a warm stop, RQ's
    # first), and the slot is told to stop if the parent dies without a word (SIGKILL).
    os.setsid()
    from judge_harness import confine

    confine.libc().prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    try:
        backend = select(backend_name)
        queue.serve(url, backend, name=name, burst=burst)
    except BackendError as exc:
        print(f"judge worker {name}: {exc}", file=sys.stderr)
        sys.exit(3)


@click.command("worker")
@click.option(
    "--queue",
    "url",
    envvar="JUDGE_QUEUE",
    required=True,
    help="The Redis queue: redis://[:password@]host:6379/0 (rediss:// for TLS); default $JUDGE_QUEUE.",
)
@click.option(
    "--slots", type=click.IntRange(1, 64), default=None, help="Runs at a time [default: cores / 2, at least 1]."
)
@click.option(
    "--backend",
    "backend_name",
    type=click.Choice(["docker", "local"]),
    default="docker",
    show_default=True,
    help="Where this worker's runs execute: the Docker sandbox, or local subprocesses (not a security boundary).",
)
@click.option("--burst", is_flag=True, help="Stop when the queues are empty (for scripts and tests).")
def worker(url: str, slots: int | None, backend_name: str, burst: bool) -> None:
    """Judge runs from a Redis queue, --slots at a time, until Ctrl-C or SIGTERM.

    Runs come from `judge verify --queue URL`, `judge takehome grade --queue URL` (or
    JUDGE_QUEUE), interactive ones first, then take-home grading, then verify. A worker only
    takes runs packed by its own judge version and harness. Ctrl-C or SIGTERM lets the running
    runs finish (a second one stops them) and leaves no container. Workers see every run's
    signing key: run them only on machines you trust, with the queue off the public network
    (docs/distributed.md).

    \b
    Examples:
      judge worker --queue redis://:secret@10.0.0.5:6379/0
      judge worker --queue redis://:secret@localhost:6379/0 --slots 2 --backend local
    """
    from judge import distributed as queue
    from judge.backends import BackendError, select

    slots = slots or queue.default_slots()
    try:
        queue.connect(url)
        probe = select(backend_name)  # fail here, once, when the backend cannot run at all
    except BackendError as exc:
        raise JudgeError(str(exc)) from None
    tag = queue.harness_tag()
    click.echo(
        f"judge worker: judge {__version__}, harness {tag}, backend {probe.name}, {slots} slot(s), "
        f"queue {queue.redact(url)} ({', '.join(queue.PRIORITIES)})",
        err=True,
    )
    context = multiprocessing.get_context("spawn")
    children = [
        context.Process(target=_slot, args=(url, backend_name, queue.worker_name(slot), burst), daemon=False)
        for slot in range(slots)
    ]
    for child in children:
        child.start()
    stops = {"count": 0}

    def stop(signum: int, _frame: Any) -> None:
        stops["count"] += 1
        if stops["count"] == 1:
            click.echo("judge worker: stopping: the running runs finish first (again to stop them now)", err=True)
        for child in children:
            if child.is_alive() and child.pid:
                try:
                    # RQ: the first SIGTERM is a warm stop, the second a cold one (the run is stopped,
                    # its box removed on the way out).
                    os.kill(child.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while any(child.is_alive() for child in children):
        time.sleep(0.2)
    codes = [child.exitcode for child in children]
    if any(code not in (0, None, -signal.SIGTERM) for code in codes):
        sys.exit(3)
