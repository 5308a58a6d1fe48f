"""Submission history: every `judge submit`, kept in SQLite in the user's data directory.

The database lives at `$JUDGE_HOME/history.sqlite3`, else `$XDG_DATA_HOME/judge/`, else
`~/.local/share/judge/`. Two terminals may submit at once and a judge may be killed at any
moment, so:

- WAL journal: readers never block the writer and a crash leaves the last committed state;
- a busy timeout: a second writer waits for the first instead of failing with "locked";
- each submit is one `BEGIN IMMEDIATE` transaction (the write lock is taken up front, so two
  writers never deadlock upgrading a read lock), holding the submission row and its code.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from judge.catalog import Problem
from judge.paths import data_dir
from judge.units import to_iso
from judge_harness.schema import PRIORITY, RunResult, Verdict

DB_NAME = "history.sqlite3"
BUSY_TIMEOUT_MS = 30_000  # a writer waits this long for another judge's transaction to finish
SCHEMA_VERSION = 1

SCHEMA = [
    """
CREATE TABLE IF NOT EXISTS code (
    sha256 TEXT PRIMARY KEY,           -- "sha256:<hex>" of the submitted bytes
    source TEXT NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    slug TEXT NOT NULL,
    submitted_at REAL NOT NULL,        -- epoch seconds
    verdict TEXT NOT NULL,
    passed INTEGER NOT NULL,
    total INTEGER NOT NULL,
    counts TEXT NOT NULL,              -- JSON: verdict name -> number of tests
    elapsed_s REAL,                    -- practice clock at submit; NULL outside a workspace
    late INTEGER NOT NULL DEFAULT 0,
    workspace_id TEXT,
    backend TEXT NOT NULL,
    wall_s REAL NOT NULL,
    peak_bytes INTEGER NOT NULL,
    problem_hash TEXT NOT NULL,
    code_sha256 TEXT NOT NULL REFERENCES code(sha256),
    tags TEXT NOT NULL                 -- JSON list, as the problem had them at submit time
)""",
    "CREATE INDEX IF NOT EXISTS submissions_slug ON submissions(slug, submitted_at)",
    "CREATE INDEX IF NOT EXISTS submissions_workspace ON submissions(workspace_id)",
]


def db_path() -> Path:
    return data_dir() / DB_NAME


def enable_wal(connection: sqlite3.Connection) -> None:
    """Switch a new database to WAL. The switch needs an exclusive lock and SQLite may refuse it
    at once, without its busy handler, while another process creates the same file: retry."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if connection.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                connection.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if ("locked" not in str(exc) and "busy" not in str(exc)) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


@contextmanager
def connect(path: Path | None = None) -> Iterator[sqlite3.Connection]:
    """An autocommit connection with WAL, a busy timeout and the schema in place; closed on exit."""
    path = path or db_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    try:
        connection.row_factory = sqlite3.Row
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        enable_wal(connection)
        connection.execute("PRAGMA synchronous = FULL")
        connection.execute("PRAGMA foreign_keys = ON")
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(f"{path} was written by a newer judge (schema {version}); upgrade the judge")
        if version < SCHEMA_VERSION:
            with transaction(connection):  # not executescript: it would COMMIT behind our back
                for statement in SCHEMA:
                    connection.execute(statement)
                connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        yield connection
    finally:
        connection.close()


@contextmanager
def transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception (a killed process rolls back by itself)."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


@dataclasses.dataclass
class Entry:
    id: int
    slug: str
    submitted_at: float
    verdict: Verdict
    passed: int
    total: int
    counts: dict[str, int]
    elapsed_s: float | None
    late: bool
    workspace_id: str | None
    backend: str
    wall_s: float
    peak_bytes: int
    problem_hash: str
    code_sha256: str
    tags: list[str]

    def as_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["verdict"] = self.verdict.value
        data["submitted_at"] = to_iso(self.submitted_at)
        return data

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Entry:
        return cls(
            id=row["id"],
            slug=row["slug"],
            submitted_at=row["submitted_at"],
            verdict=Verdict(row["verdict"]),
            passed=row["passed"],
            total=row["total"],
            counts=json.loads(row["counts"]),
            elapsed_s=row["elapsed_s"],
            late=bool(row["late"]),
            workspace_id=row["workspace_id"],
            backend=row["backend"],
            wall_s=row["wall_s"],
            peak_bytes=row["peak_bytes"],
            problem_hash=row["problem_hash"],
            code_sha256=row["code_sha256"],
            tags=json.loads(row["tags"]),
        )


def _store_code(connection: sqlite3.Connection, sha256: str, source: str) -> None:
    connection.execute("INSERT OR IGNORE INTO code (sha256, source) VALUES (?, ?)", (sha256, source))


def record(
    result: RunResult,
    source: str,
    *,
    tags: Iterable[str] = (),
    elapsed_s: float | None = None,
    late: bool = False,
    workspace_id: str | None = None,
    now: float | None = None,
    path: Path | None = None,
) -> int:
    """Store one judged submission and its code in one transaction; returns the submission id."""
    code_sha256 = result.submission_hash
    with connect(path) as connection, transaction(connection):
        _store_code(connection, code_sha256, source)  # first: the submission row references it
        cursor = connection.execute(
            """INSERT INTO submissions (slug, submitted_at, verdict, passed, total, counts, elapsed_s, late,
                   workspace_id, backend, wall_s, peak_bytes, problem_hash, code_sha256, tags)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                result.problem,
                time.time() if now is None else now,
                result.verdict.value,
                result.passed,
                len(result.tests),
                json.dumps(result.counts),
                elapsed_s,
                int(late),
                workspace_id,
                result.backend,
                result.wall_s,
                result.peak_bytes,
                result.problem_hash,
                code_sha256,
                json.dumps(list(tags)),
            ),
        )
        return int(cursor.lastrowid)


def entries(
    slug: str | None = None, *, workspace_id: str | None = None, limit: int | None = None, path: Path | None = None
) -> list[Entry]:
    """Submissions, newest first, optionally for one problem or one workspace."""
    query, params = "SELECT * FROM submissions WHERE 1=1", []
    if slug is not None:
        query += " AND slug = ?"
        params.append(slug)
    if workspace_id is not None:
        query += " AND workspace_id = ?"
        params.append(workspace_id)
    query += " ORDER BY submitted_at DESC, id DESC"
    if limit is not None:
        query += f" LIMIT {int(limit)}"
    if not (path or db_path()).exists():
        return []
    with connect(path) as connection:
        return [Entry.from_row(row) for row in connection.execute(query, params)]


def code(sha256: str, path: Path | None = None) -> str | None:
    with connect(path) as connection:
        row = connection.execute("SELECT source FROM code WHERE sha256 = ?", (sha256,)).fetchone()
    return None if row is None else row["source"]


def accepted_slugs(path: Path | None = None) -> set[str]:
    return {e.slug for e in entries(path=path) if e.verdict is Verdict.ACCEPTED}


def best(verdicts: Iterable[Verdict]) -> Verdict | None:
    """The best verdict seen: Accepted beats Wrong Answer beats a crash (the reverse of PRIORITY)."""
    verdicts = list(verdicts)
    return max(verdicts, key=PRIORITY.index) if verdicts else None


def stats(problems: Iterable[Problem] = (), path: Path | None = None) -> dict[str, Any]:
    """Per problem: attempts, best verdict, time to first Accepted; per tag: solved of attempted (of known).

    Time to first Accepted is the practice clock at that submit when it came from a workspace,
    otherwise the wall time from the problem's first submit to its first Accepted.
    """
    by_slug: dict[str, list[Entry]] = {}
    for entry in sorted(entries(path=path), key=lambda e: (e.submitted_at, e.id)):
        by_slug.setdefault(entry.slug, []).append(entry)
    per_problem = []
    tags_of: dict[str, list[str]] = {}
    for slug, attempts in sorted(by_slug.items()):
        first_ac = next((i for i, e in enumerate(attempts) if e.verdict is Verdict.ACCEPTED), None)
        time_to_ac = None
        if first_ac is not None:
            accepted = attempts[first_ac]
            time_to_ac = (
                accepted.elapsed_s
                if accepted.elapsed_s is not None
                else accepted.submitted_at - attempts[0].submitted_at
            )
        tags_of[slug] = attempts[-1].tags
        per_problem.append(
            {
                "slug": slug,
                "attempts": len(attempts),
                "best_verdict": best(e.verdict for e in attempts).value,
                "solved": first_ac is not None,
                "attempts_to_first_accepted": None if first_ac is None else first_ac + 1,
                "time_to_first_accepted_s": None if time_to_ac is None else round(time_to_ac, 1),
                "last_submitted_at": to_iso(attempts[-1].submitted_at),
            }
        )
    known: dict[str, int] = {}
    for problem in problems:
        tags_of.setdefault(problem.slug, list(problem.tags))
        for tag in problem.tags:
            known[tag] = known.get(tag, 0) + 1
    per_tag: dict[str, dict[str, int | None]] = {}
    for row in per_problem:
        for tag in tags_of[row["slug"]]:
            counts = per_tag.setdefault(tag, {"solved": 0, "attempted": 0, "problems": known.get(tag)})
            counts["attempted"] += 1
            counts["solved"] += int(row["solved"])
    for tag, total in known.items():
        per_tag.setdefault(tag, {"solved": 0, "attempted": 0, "problems": total})
    return {
        "problems": per_problem,
        "tags": [{"tag": tag, **counts} for tag, counts in sorted(per_tag.items())],
        "totals": {
            "submissions": sum(len(a) for a in by_slug.values()),
            "attempted": len(per_problem),
            "solved": sum(row["solved"] for row in per_problem),
        },
    }
