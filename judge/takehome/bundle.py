"""Take-homes: a bundle for one candidate, and grading the folders candidates send back.

A bundle holds, per problem, the statement, the stub as `<slug>/<module>.py` (the file the
candidate edits), the public tests, a public `problem.toml` (no wrong-solution list) and the
driver if the problem has one; a README; and `takehome.json`, the manifest: bundle id,
problems and their hashes, deadline, and the sha256 of every file the candidate must not edit.
Hidden tests, references, known-wrong solutions and checker-side helpers never go in. The
candidate's kit goes in too: `takehome_kit.py` (public tests and the seal, standard library
only) and the judge's test harness under `_harness/`, so no judge install is needed.

`inspect` checks a returned folder against the interviewer's copy of the manifest; every
difference is an error on that candidate. judge/takehome/grading.py runs what passes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

from judge import __version__, paths
from judge.catalog import Problem
from judge.takehome import kit
from judge.units import from_iso, to_iso

HARNESS = paths.HARNESS_DIR  # the public test harness, copied into every bundle

MANIFEST_NAME = "takehome.json"
SEAL_NAME = "seal.json"  # written by `judge takehome seal` into a returned folder (judge/takehome/cohort.py)
MANIFEST_VERSION = 1
DEFAULT_HOURS = 48.0
IGNORED = {
    "__pycache__",
    ".pytest_cache",
    ".hypothesis",
    ".ipynb_checkpoints",
    ".mypy_cache",
    ".ruff_cache",
    ".DS_Store",
}
BLOCKING = ("not a folder", "missing manifest", "wrong problem set", "tampered")  # the candidate is not run
EDITED = "edited problem file"  # a statement or public test of one problem: that problem is not run (unless forced)


class TakehomeError(ValueError):
    """The interviewer's input is unusable (bad manifest, unknown problem); the message says what to do."""


def sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


@dataclasses.dataclass(frozen=True)
class BundleProblem:
    slug: str
    title: str
    module: str
    problem_hash: str

    @property
    def solution(self) -> str:
        return f"{self.slug}/{self.module}.py"


@dataclasses.dataclass(frozen=True)
class Bundle:
    bundle_id: str
    created_at: float
    deadline: float
    problems: tuple[BundleProblem, ...]
    files: dict[str, str]  # read-only file -> sha256, checked when the folder comes back
    judge_version: str
    candidate: str = ""  # who it was issued to (cohorts); "" for an anonymous bundle
    secret: str = ""  # per-bundle key of `judge takehome seal` (hex); "" when the bundle cannot be sealed

    def as_json(self) -> dict[str, Any]:
        document = {
            "version": MANIFEST_VERSION,
            "bundle_id": self.bundle_id,
            "created_at": to_iso(self.created_at),
            "deadline": to_iso(self.deadline),
            "problems": [dataclasses.asdict(p) for p in self.problems],
            "files": dict(sorted(self.files.items())),
            "judge_version": self.judge_version,
        }
        if self.candidate:
            document["candidate"] = self.candidate
        if self.secret:
            document["secret"] = self.secret
        return document

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Bundle:
        if data.get("version") != MANIFEST_VERSION:
            raise ValueError(f"manifest version {data.get('version')!r}, expected {MANIFEST_VERSION}")
        return cls(
            bundle_id=str(data["bundle_id"]),
            created_at=from_iso(data["created_at"]),
            deadline=from_iso(data["deadline"]),
            problems=tuple(
                BundleProblem(**{k: str(p[k]) for k in ("slug", "title", "module", "problem_hash")})
                for p in data["problems"]
            ),
            files={str(k): str(v) for k, v in data["files"].items()},
            judge_version=str(data["judge_version"]),
            candidate=str(data.get("candidate", "")),
            secret=str(data.get("secret", "")),
        )


def load_bundle(manifest: Path) -> Bundle:
    try:
        return Bundle.from_json(json.loads(manifest.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise TakehomeError(
            f"{manifest} is not a take-home manifest ({exc}); expected the takehome.json `judge takehome create` wrote"
        ) from None


def public_toml(problem: Problem) -> str:
    """problem.toml as the candidate may see it: limits, tolerances, forbidden names; no wrong-solution list."""
    lines = [
        f"title = {json.dumps(problem.title)}",
        f"difficulty = {json.dumps(problem.difficulty)}",
        f"tags = {json.dumps(list(problem.tags))}",
        f"entry_points = {json.dumps(list(problem.entry_points))}",
        f"dataclasses = {json.dumps(list(problem.dataclasses))}",
        f"estimated_minutes = {problem.estimated_minutes}",
        f"forbidden = {json.dumps(list(problem.forbidden))}",
        "",
        "[limits]",
        f"test_timeout_s = {problem.limits.test_timeout_s!r}",
        f"suite_cpu_s = {problem.limits.suite_cpu_s!r}",
        f"memory_mb = {problem.limits.memory_mb}",
        "",
        "[tolerances]",
        *(f"{dtype} = {{ atol = {atol!r}, rtol = {rtol!r} }}" for dtype, (atol, rtol) in problem.tolerances.items()),
    ]
    return "\n".join(lines) + "\n"


def readme(bundle: Bundle, problems: list[Problem]) -> str:
    rows = "\n".join(
        f"- `{p.slug}`: {p.title} ({p.difficulty}, about {p.estimated_minutes} min). Edit `{p.slug}/{p.module_name}.py`; "
        f"read `{p.slug}/statement.md`."
        + (f" Not allowed: {', '.join(f'`{name}`' for name in p.forbidden)}." if p.forbidden else "")
        for p in problems
    )
    first = problems[0]
    return f"""# Take-home {bundle.bundle_id}

Deadline: **{to_iso(bundle.deadline)}** (UTC). Work submitted later is graded and marked late.

## Problems

{rows}

## What to do

1. Read each `statement.md`. Implement everything in the solution file next to it, keeping the
   names and signatures of the stub. Standard library, `torch` and `numpy` are available.
2. Check your work with the public tests. This folder has all it needs (`takehome_kit.py` and
   the judge's test harness in `_harness/`); install the libraries once:

       pip install torch pytest hypothesis       # torch's CPU build: add --index-url https://download.pytorch.org/whl/cpu
       python takehome_kit.py test               # every problem; `python takehome_kit.py test {first.slug}` for one

   The public tests are a sample: you are graded on hidden tests that are more thorough (edge
   cases, shapes and dtypes, the time and memory limits in `problem.toml`).
3. When you are done, seal the folder and send it back before the deadline:

       python takehome_kit.py seal               # records the time and a digest of your solution files

   Sealing again later replaces the seal (the last one counts); a file changed after the seal
   shows in the report.

Edit only the solution files. Do not rename, add or delete files, and do not edit
`takehome.json`, the statements or the public tests: the grader compares the folder with its
manifest and reports every difference. Each solution must be one self-contained file.
"""


def create_bundle(
    problems: list[Problem], out: Path, hours: float = DEFAULT_HOURS, now: float | None = None, candidate: str = ""
) -> Bundle:
    """Write a candidate bundle for `problems` into `out` (new or empty) and return its manifest.

    Every bundle gets its own seal key, so `judge takehome seal` can record when it came back.
    """
    if not problems:
        raise TakehomeError("expected at least one problem (e.g. --problems sliding-window-attention,react-agent)")
    if len({p.slug for p in problems}) != len(problems):
        raise TakehomeError("a problem is listed twice in --problems")
    if hours <= 0:
        raise TakehomeError(f"expected a positive number of hours, got {hours}")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise TakehomeError(f"{out} exists and is not an empty folder; pick a new --out so nothing is overwritten")
    created = float(int(time.time() if now is None else now))  # whole seconds: the manifest stores no more
    out.mkdir(parents=True, exist_ok=True)
    for problem in problems:
        folder = out / problem.slug
        folder.mkdir()
        (folder / "statement.md").write_text(problem.statement, encoding="utf-8")
        (folder / "problem.toml").write_text(public_toml(problem), encoding="utf-8")
        shutil.copyfile(problem.test_file("public"), folder / "test_public.py")
        shutil.copyfile(problem.stub, folder / f"{problem.module_name}.py")
        if problem.driver:
            shutil.copyfile(problem.driver, folder / "driver.py")
    draft = Bundle(
        bundle_id="th-" + secrets.token_hex(6),
        created_at=created,
        deadline=created + hours * 3600,
        problems=tuple(BundleProblem(p.slug, p.title, p.module_name, p.content_hash()) for p in problems),
        files={},
        judge_version=__version__,
        candidate=candidate,
        secret=secrets.token_hex(16),
    )
    (out / "README.md").write_text(readme(draft, problems), encoding="utf-8")
    shutil.copyfile(Path(kit.__file__), out / "takehome_kit.py")
    shutil.copytree(
        HARNESS, out / kit.HARNESS_DIR / "judge_harness", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    solutions = {p.solution for p in draft.problems}
    files = {rel: sha256(out / rel) for rel in _walk(out) if rel not in solutions}
    bundle = dataclasses.replace(draft, files=files)
    (out / MANIFEST_NAME).write_text(json.dumps(bundle.as_json(), indent=2) + "\n", encoding="utf-8")
    return bundle


def _walk(folder: Path) -> list[str]:
    """Relative paths of the files under `folder`, caches and editor litter skipped, links not followed."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in IGNORED)
        for name in sorted(files):
            if name not in IGNORED and not name.endswith(".pyc"):
                found.append((Path(root) / name).relative_to(folder).as_posix())
    return found


@dataclasses.dataclass
class Candidate:
    name: str
    folder: Path
    errors: list[dict[str, str]] = dataclasses.field(default_factory=list)  # {"kind", "message"}
    solutions: dict[str, Path] = dataclasses.field(default_factory=dict)  # slug -> solution file present
    edited: set[str] = dataclasses.field(default_factory=set)  # problems whose statement or public tests changed

    @property
    def blocked(self) -> bool:
        return any(error["kind"] in BLOCKING for error in self.errors)

    def error(self, kind: str, message: str) -> None:
        self.errors.append({"kind": kind, "message": message})


def inspect(bundle: Bundle, folder: Path, name: str | None = None) -> Candidate:
    """Check a returned folder against the manifest; every difference becomes an error on the candidate."""
    candidate = Candidate(name or folder.name, folder)
    if not folder.is_dir():
        candidate.error("not a folder", f"{folder} is not a folder; expected the candidate's returned bundle")
        return candidate
    theirs_path = folder / MANIFEST_NAME
    if not theirs_path.is_file():
        candidate.error("missing manifest", f"no {MANIFEST_NAME}: this is not a returned take-home bundle")
    else:
        try:
            theirs = Bundle.from_json(json.loads(theirs_path.read_text(encoding="utf-8")))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            candidate.error("tampered", f"{MANIFEST_NAME} was edited and no longer reads as a manifest ({exc})")
        else:
            ours_slugs, their_slugs = [p.slug for p in bundle.problems], [p.slug for p in theirs.problems]
            if their_slugs != ours_slugs or theirs.bundle_id != bundle.bundle_id:
                candidate.error(
                    "wrong problem set",
                    f"folder is bundle {theirs.bundle_id} ({', '.join(their_slugs)}); expected {bundle.bundle_id} ({', '.join(ours_slugs)})",
                )
            elif theirs != bundle:
                fields = [
                    f
                    for f in ("created_at", "deadline", "problems", "files", "judge_version")
                    if getattr(theirs, f) != getattr(bundle, f)
                ]
                candidate.error(
                    "tampered", f"{MANIFEST_NAME} was edited: {', '.join(fields)} changed from the interviewer's copy"
                )
    if any(error["kind"] == "wrong problem set" for error in candidate.errors):
        return candidate  # file by file, another bundle differs everywhere: that one error says it all
    present = set(_walk(folder))
    for rel, digest in sorted(bundle.files.items()):
        if rel == MANIFEST_NAME:
            continue
        if rel not in present:
            candidate.error("missing file", f"{rel} was deleted")
        elif sha256(folder / rel) != digest:
            slug = rel.split("/", 1)[0] if "/" in rel else ""
            if slug in {p.slug for p in bundle.problems}:
                candidate.error(EDITED, f"{rel} was edited; {slug} is not graded unless --force")
                candidate.edited.add(slug)
            else:
                candidate.error("tampered", f"{rel} was edited; only the solution files may change")
    for problem in bundle.problems:
        path = folder / problem.solution
        if problem.solution in present or path.is_symlink():
            candidate.solutions[problem.slug] = path
        else:
            candidate.error("missing file", f"{problem.solution} (the solution for {problem.slug}) is missing")
    expected = set(bundle.files) | {p.solution for p in bundle.problems} | {MANIFEST_NAME, SEAL_NAME}
    for rel in sorted(present - expected):
        candidate.error("extra file", f"{rel} is not part of the bundle (only the solution files are graded)")
    return candidate
