"""Cohorts of take-homes, seals on returned folders, and finding the bundle each folder belongs to.

A cohort is one bundle per candidate (each with its own id, deadline and seal key) issued
together; `cohort.json`, kept by the interviewer, holds every bundle's manifest, so one grading
run covers them all and compares every candidate with every other.

A seal (`judge takehome seal FOLDER`, run by the candidate when done or by whatever receives the
folder) writes `seal.json`: the time and the sha256 of every solution file, authenticated with
the bundle's key (HMAC-SHA256). Grading checks it against the interviewer's copy of the key: a
valid seal dates the files (a later `touch`, `git clone` or copy does not move it), a file
changed after sealing or a seal not made with the key is reported. The key is in the
candidate's bundle, so a seal proves the files are the ones sealed at the sealer's clock, not
more: a receiving service that seals on arrival gives the strongest time.
"""

from __future__ import annotations

import dataclasses
import hmac
import json
import os
import secrets
import shutil
import time
import zipfile
from pathlib import Path
from typing import Any

from judge.catalog import Problem
from judge.takehome import kit
from judge.takehome.bundle import (
    MANIFEST_NAME,
    SEAL_NAME,
    Bundle,
    TakehomeError,
    create_bundle,
    load_bundle,
    sha256,
)
from judge.units import from_iso, to_iso

COHORT_NAME = "cohort.json"
COHORT_VERSION = 1


@dataclasses.dataclass(frozen=True)
class Invitation:
    candidate: str
    hours: float


def parse_candidates(text: str, default_hours: float) -> list[Invitation]:
    """`alice,bob:72,carol` -> invitations; `name:HOURS` overrides the deadline for one candidate."""
    invitations = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, _, hours = item.partition(":")
        name = name.strip()
        if not name or "/" in name or name.startswith("."):
            raise TakehomeError(f"candidate {item!r}: expected a plain name (a folder is made for it), e.g. alice:72")
        try:
            value = float(hours) if hours else default_hours
        except ValueError:
            raise TakehomeError(f"candidate {item!r}: expected NAME or NAME:HOURS, e.g. bob:72") from None
        if value <= 0:
            raise TakehomeError(f"candidate {item!r}: expected a positive number of hours")
        invitations.append(Invitation(name, value))
    names = [invitation.candidate for invitation in invitations]
    if not names:
        raise TakehomeError("expected at least one candidate, e.g. --candidates alice,bob:72")
    if len(set(names)) != len(names):
        raise TakehomeError(
            f"a candidate is listed twice: {', '.join(sorted({n for n in names if names.count(n) > 1}))}"
        )
    return invitations


def create_cohort(problems: list[Problem], invitations: list[Invitation], out: Path, now: float | None = None) -> dict:
    """One bundle per candidate under `out/<candidate>/`, and `out/cohort.json` listing them all."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise TakehomeError(f"{out} exists and is not an empty folder; pick a new --out so nothing is overwritten")
    created = time.time() if now is None else now
    bundles = [
        create_bundle(problems, out / invitation.candidate, invitation.hours, created, candidate=invitation.candidate)
        for invitation in invitations
    ]
    document = {
        "version": COHORT_VERSION,
        "cohort_id": "co-" + secrets.token_hex(6),
        "created_at": to_iso(created),
        "bundles": [bundle.as_json() for bundle in bundles],
    }
    (out / COHORT_NAME).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return document


def load_manifests(paths: list[Path]) -> tuple[str, list[Bundle]]:
    """The bundles named by `paths` (takehome.json, cohort.json, or a folder holding one) and a label for them."""
    labels, bundles = [], []
    for path in paths:
        if path.is_dir():
            path = path / COHORT_NAME if (path / COHORT_NAME).is_file() else path / MANIFEST_NAME
        if path.name == COHORT_NAME or _is_cohort(path):
            try:
                document = json.loads(path.read_text(encoding="utf-8"))
                if document.get("version") != COHORT_VERSION:
                    raise ValueError(f"cohort version {document.get('version')!r}, expected {COHORT_VERSION}")
                bundles += [Bundle.from_json(data) for data in document["bundles"]]
                labels.append(str(document["cohort_id"]))
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
                raise TakehomeError(
                    f"{path} is not a cohort manifest ({exc}); expected the cohort.json `judge takehome create --candidates` wrote"
                ) from None
        else:
            bundle = load_bundle(path)
            bundles.append(bundle)
            labels.append(bundle.bundle_id)
    ids = [bundle.bundle_id for bundle in bundles]
    if len(set(ids)) != len(ids):
        raise TakehomeError("a bundle is given twice (in two manifests, or a cohort and one of its bundles)")
    return ", ".join(labels), bundles


def _is_cohort(path: Path) -> bool:
    try:
        return "cohort_id" in json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError):
        return False


def match_bundle(folder: Path, bundles: list[Bundle]) -> Bundle:
    """The bundle a returned folder came from: by the id in its manifest, else by candidate name.

    With one bundle, that one (inspect then reports a folder of another bundle as such).
    """
    if len(bundles) == 1:
        return bundles[0]
    try:
        theirs = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
        found = [bundle for bundle in bundles if bundle.bundle_id == theirs.get("bundle_id")]
        if found:
            return found[0]
    except (OSError, ValueError, AttributeError):
        pass
    named = [bundle for bundle in bundles if bundle.candidate and bundle.candidate == folder.name]
    return named[0] if named else bundles[0]


# --- seals --------------------------------------------------------------------------------------


def seal(folder: Path, now: float | None = None) -> dict[str, Any]:
    """Write `folder/seal.json` for the solution files as they are now (the bundle's kit does the same)."""
    try:
        return kit.seal(folder, now)
    except ValueError as exc:
        raise TakehomeError(str(exc)) from None


@dataclasses.dataclass(frozen=True)
class SealCheck:
    status: str  # "sealed" | "no seal" | "invalid"
    sealed_at: float | None = None
    message: str = ""


def check_seal(bundle: Bundle, folder: Path) -> SealCheck:
    """Verify `folder/seal.json` with the interviewer's copy of the bundle's key."""
    path = folder / SEAL_NAME
    if not path.is_file():
        return SealCheck("no seal")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        body = {key: document[key] for key in ("bundle_id", "sealed_at", "files")}
        sealed_at = from_iso(body["sealed_at"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return SealCheck("invalid", message=f"{SEAL_NAME} does not read as a seal ({exc})")
    if not bundle.secret or not hmac.compare_digest(str(document.get("mac", "")), kit.mac(bundle.secret, body)):
        return SealCheck("invalid", message=f"{SEAL_NAME} was not made with this bundle's key (edited or forged)")
    for problem in bundle.problems:
        path = folder / problem.solution
        now = sha256(path) if path.is_file() and not path.is_symlink() else None
        if now != body["files"].get(problem.solution):
            return SealCheck("invalid", sealed_at, f"{problem.solution} changed after the seal of {body['sealed_at']}")
    return SealCheck("sealed", sealed_at)


def lateness(deadline: float, when: float | None, verified: bool) -> str:
    """`on time`, `late by 3 h 12 min`, with `(mtime, unverified)` when the time is only a file's mtime."""
    if when is None:
        return "no time: no seal and no solution file"
    suffix = "" if verified else " (no seal: time from mtime, unverified)"
    if when <= deadline:
        return "on time" + suffix
    minutes = int((when - deadline) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days} d"] * bool(days) + [f"{hours} h"] * bool(hours) + [f"{minutes} min"]
    return "late by " + " ".join(parts) + suffix


# --- zip input ----------------------------------------------------------------------------------


def unpack(archive: Path, into: Path) -> Path:
    """Extract a returned .zip into `into` (mtimes kept) and return the bundle folder inside it."""
    try:
        with zipfile.ZipFile(archive) as zipped:
            for info in zipped.infolist():
                target = (into / info.filename).resolve()
                if not target.is_relative_to(into.resolve()) or info.filename.startswith("/"):
                    raise TakehomeError(f"{archive}: {info.filename!r} would land outside the folder; not extracted")
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zipped.open(info) as source, target.open("wb") as out:
                    shutil.copyfileobj(source, out)
                stamp = time.mktime((*info.date_time, 0, 0, -1))
                os.utime(target, (stamp, stamp))
    except (zipfile.BadZipFile, OSError) as exc:
        raise TakehomeError(f"{archive} is not a readable zip ({exc})") from None
    entries = [p for p in into.iterdir() if p.name != "__MACOSX"]
    if (into / MANIFEST_NAME).is_file() or len(entries) != 1 or not entries[0].is_dir():
        return into
    return entries[0]
