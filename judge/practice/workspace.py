"""Practice workspaces: a folder with one problem to solve against a clock.

`judge start SLUG` writes the statement, the stub (as `<module>.py`, the file to edit), the
public tests and a manifest, `.judge.json`, which makes `judge test` and `judge submit` work
with no arguments anywhere inside the folder. The manifest holds the clock: when it started,
how many minutes it runs, the intervals it was paused, and when a submit was first Accepted.
Elapsed practice time is wall time since the start, up to that first Accepted, minus the paused
intervals; a submit past the allotted minutes is late. Pauses and the finish are stored to the
millisecond, so a pause never adds or takes a second.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from judge.catalog import Problem
from judge.units import from_iso, to_iso

MANIFEST_NAME = ".judge.json"
MANIFEST_VERSION = 1
WATCH_INTERVAL_S = 0.5  # how often `judge test --watch` looks at the file's mtime
CONFTEST = '''"""Written by `judge start`: `python -m pytest test_public.py` here runs the public tests against
your solution in this process (no sandbox, no time or memory limits). `judge test` runs them as
the judge does; `judge submit` runs the hidden tests."""

from pathlib import Path

import pytest


def pytest_configure(config):
    try:
        from judge.catalog import load_catalog
        from judge.practice.workspace import find
        from judge_harness.inprocess import plugin_for
    except ImportError as exc:
        raise pytest.UsageError(f"this Python has no judge ({exc}): run `judge test` here instead")
    here = find(Path(__file__).parent)
    try:
        plugin = plugin_for(load_catalog().get(here.slug).path, here.solution)
    except Exception as exc:
        raise pytest.UsageError(f"{here.file} cannot be tested here ({type(exc).__name__}: {exc}); `judge test` can")
    config.pluginmanager.register(plugin, "judge-candidate")
'''


class WorkspaceError(ValueError):
    """A workspace that cannot be created or read; the message says what to do."""


@dataclasses.dataclass
class Workspace:
    root: Path
    workspace_id: str
    slug: str
    problem_hash: str
    file: str  # the solution file, relative to root
    started_at: float  # epoch seconds
    minutes: int
    paused: list[list[float | None]]  # [start, end] pairs; end None while paused
    finished_at: float | None = None  # the first Accepted submit: the clock stops there

    @property
    def solution(self) -> Path:
        return self.root / self.file

    @property
    def manifest(self) -> Path:
        return self.root / MANIFEST_NAME

    @property
    def is_paused(self) -> bool:
        return bool(self.paused) and self.paused[-1][1] is None

    @property
    def is_finished(self) -> bool:
        return self.finished_at is not None

    def elapsed_s(self, now: float | None = None) -> float:
        """Practice time so far: wall time since the start (up to the first Accepted) minus every paused interval."""
        now = time.time() if now is None else now
        if self.finished_at is not None:
            now = min(now, self.finished_at)
        paused = sum((now if end is None else end) - start for start, end in self.paused)
        return max(0.0, now - self.started_at - paused)

    def remaining_s(self, now: float | None = None) -> float:
        """Seconds left on the clock; negative once the deadline has passed."""
        return self.minutes * 60 - self.elapsed_s(now)

    def is_late(self, now: float | None = None) -> bool:
        return self.remaining_s(now) < 0

    def pause(self, now: float | None = None) -> None:
        self._refuse_if_finished()
        if self.is_paused:
            raise WorkspaceError("the clock is already paused; `judge resume` starts it again")
        self.paused.append([_instant(now), None])

    def resume(self, now: float | None = None) -> None:
        self._refuse_if_finished()
        if not self.is_paused:
            raise WorkspaceError("the clock is not paused; `judge pause` stops it")
        self.paused[-1][1] = _instant(now)

    def finish(self, now: float | None = None) -> None:
        """Stop the clock for good: the first Accepted submit. Later submits keep this time."""
        if self.finished_at is None:
            self.finished_at = _instant(now)

    def _refuse_if_finished(self) -> None:
        if self.finished_at is not None:
            raise WorkspaceError(
                f"the clock stopped at your first Accepted, after {clock(self.elapsed_s())}; "
                "there is nothing to pause or resume (`judge start SLUG --dir other` starts a new attempt)"
            )

    def as_json(self) -> dict[str, Any]:
        return {
            "version": MANIFEST_VERSION,
            "workspace_id": self.workspace_id,
            "slug": self.slug,
            "problem_hash": self.problem_hash,
            "file": self.file,
            "started_at": to_iso(self.started_at),
            "minutes": self.minutes,
            "paused": [{"start": _stamp(s), "end": None if e is None else _stamp(e)} for s, e in self.paused],
            "finished_at": None if self.finished_at is None else _stamp(self.finished_at),
        }

    def save(self) -> None:
        """Write the manifest atomically: a crash leaves the old manifest or the new one, never half."""
        fd, tmp = tempfile.mkstemp(prefix=".judge.", suffix=".tmp", dir=self.root)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(self.as_json(), f, indent=2)
            f.write("\n")
        os.replace(tmp, self.manifest)


def load(manifest: Path) -> Workspace:
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        if data.get("version") != MANIFEST_VERSION:
            raise ValueError(f"version {data.get('version')!r}, expected {MANIFEST_VERSION}")
        return Workspace(
            root=manifest.parent,
            workspace_id=str(data["workspace_id"]),
            slug=str(data["slug"]),
            problem_hash=str(data["problem_hash"]),
            file=str(data["file"]),
            started_at=from_iso(data["started_at"]),
            minutes=int(data["minutes"]),
            paused=[[from_iso(p["start"]), None if p["end"] is None else from_iso(p["end"])] for p in data["paused"]],
            finished_at=None if data.get("finished_at") is None else from_iso(data["finished_at"]),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise WorkspaceError(
            f"{manifest} is not a readable workspace manifest ({exc}); run `judge start SLUG` again"
        ) from None


def find(start: Path | None = None) -> Workspace | None:
    """The workspace holding `start` (default: the current directory): it or a parent has .judge.json."""
    here = (start or Path.cwd()).absolute()
    for folder in (here, *here.parents):
        if (folder / MANIFEST_NAME).is_file():
            return load(folder / MANIFEST_NAME)
    return None


def owning(file: Path, slug: str) -> Workspace | None:
    """The workspace whose solution file is `file` for problem `slug`, if any (for the clock on submit)."""
    workspace = find(file.absolute().parent)
    if workspace is None or workspace.slug != slug:
        return None
    return workspace if workspace.solution.resolve() == file.resolve() else None


def create(problem: Problem, directory: Path, minutes: int | None = None, now: float | None = None) -> Workspace:
    """Lay out a workspace for `problem` in `directory` and start its clock."""
    directory = directory.absolute()
    if (directory / MANIFEST_NAME).exists():
        raise WorkspaceError(
            f"{directory} is already a workspace; cd into it and run `judge status`, or pick another --dir"
        )
    solution = f"{problem.module_name}.py"
    clashes = [
        name for name in (solution, "statement.md", "test_public.py", "conftest.py") if (directory / name).exists()
    ]
    if clashes:
        raise WorkspaceError(
            f"{directory} already has {', '.join(clashes)}; pick an empty --dir so nothing is overwritten"
        )
    if minutes is not None and minutes <= 0:
        raise WorkspaceError(f"expected a positive number of minutes, got {minutes}")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "statement.md").write_text(problem.statement, encoding="utf-8")
    shutil.copyfile(problem.stub, directory / solution)
    shutil.copyfile(problem.test_file("public"), directory / "test_public.py")
    (directory / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    workspace = Workspace(
        root=directory,
        workspace_id=secrets.token_hex(8),
        slug=problem.slug,
        problem_hash=problem.content_hash(),
        file=solution,
        started_at=float(int(time.time() if now is None else now)),  # whole seconds, as the manifest stores it
        minutes=minutes or problem.estimated_minutes,
        paused=[],
    )
    workspace.save()
    return workspace


def _instant(now: float | None) -> float:
    """Now (or `now`) to the millisecond: what the manifest stores, so memory and disk agree."""
    return round(time.time() if now is None else now, 3)


def _stamp(timestamp: float) -> str:
    return to_iso(timestamp, timespec="milliseconds")


def clock(seconds: float) -> str:
    """`12:05` for 725 s, `1:02:03` past an hour; negative values get a minus sign."""
    sign, seconds = ("-" if seconds < 0 else ""), int(abs(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{sign}{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{sign}{rest // 60}:{rest % 60:02d}"


def changes(
    path: Path, interval_s: float = WATCH_INTERVAL_S, sleep: Callable[[float], None] | None = None
) -> Iterator[None]:
    """Yield once each time `path` is saved (its mtime or size changes). Polls with sleep; never spins.

    Editors that save by rename make the file vanish for a moment; that is not a change until it is back.
    """

    def signature() -> tuple[int, int] | None:
        try:
            info = path.stat()
        except FileNotFoundError:
            return None
        return info.st_mtime_ns, info.st_size

    pause = sleep or time.sleep
    last = signature()
    while True:
        pause(interval_s)
        current = signature()
        if current is not None and current != last:
            last = current
            yield
