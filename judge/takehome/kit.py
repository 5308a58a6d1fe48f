"""The candidate's kit: run a take-home's public tests and seal the folder, with no judge installed.

This file is copied into every bundle as `takehome_kit.py` (beside `_harness/judge_harness/`,
the judge's public test harness) and must run there on the standard library alone; the judge
imports the same file for `judge takehome seal`, so there is one implementation of the seal.

    python takehome_kit.py test                  # every problem's public tests
    python takehome_kit.py test dpo-loss         # one problem's
    python takehome_kit.py seal                  # when done: date the solution files (seal.json)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

MANIFEST_NAME = "takehome.json"
SEAL_NAME = "seal.json"
HARNESS_DIR = "_harness"


def sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def to_iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def mac(secret: str, body: dict[str, Any]) -> str:
    """HMAC-SHA256 of the seal's body (bundle id, time, file digests) under the bundle's key."""
    message = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return "hmac-sha256:" + hmac.new(bytes.fromhex(secret), message, hashlib.sha256).hexdigest()


def solution_files(manifest: dict[str, Any]) -> list[str]:
    return [f"{problem['slug']}/{problem['module']}.py" for problem in manifest["problems"]]


def seal(folder: Path, now: float | None = None) -> dict[str, Any]:
    """Write `folder/seal.json` for the solution files as they are now; returns it."""
    try:
        manifest = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
        secret = str(manifest.get("secret", ""))
    except (OSError, ValueError, AttributeError) as exc:
        raise ValueError(f"{folder / MANIFEST_NAME} does not read as a take-home manifest ({exc})") from None
    if not secret:
        raise ValueError(f"bundle {manifest.get('bundle_id')} was made without a seal key; send the folder as is")
    files = {}
    for relative in solution_files(manifest):
        path = folder / relative
        if path.is_file() and not path.is_symlink():
            files[relative] = sha256(path)
    body = {
        "bundle_id": manifest["bundle_id"],
        "sealed_at": to_iso(time.time() if now is None else now),
        "files": files,
    }
    document = {**body, "mac": mac(secret, body)}
    (folder / SEAL_NAME).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return document


def run_public(folder: Path, slug: str) -> int:
    """The public tests of one problem, in a fresh Python, through the judge's harness."""
    manifest = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    modules = {problem["slug"]: problem["module"] for problem in manifest["problems"]}
    if slug not in modules:
        print(f"error: no problem {slug!r} in this take-home; expected one of {', '.join(modules)}", file=sys.stderr)
        return 2
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(folder / HARNESS_DIR), os.environ.get("PYTHONPATH", "")]))
    command = [sys.executable, "-m", "judge_harness.inprocess", str(folder / slug)]
    command += [str(folder / slug / f"{modules[slug]}.py"), "public"]
    return subprocess.run(command, env=env, check=False).returncode


def main(argv: list[str]) -> int:
    folder = Path(__file__).resolve().parent
    if argv[:1] == ["seal"]:
        document = seal(folder)
        print(f"sealed {len(document['files'])} solution file(s) at {document['sealed_at']}; send the folder back")
        return 0
    if argv[:1] == ["test"]:
        manifest = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
        slugs = argv[1:] or [problem["slug"] for problem in manifest["problems"]]
        worst = 0
        for slug in slugs:
            print(f"== {slug}")
            worst = max(worst, run_public(folder, slug))
        return worst
    print(__doc__.split("\n\n")[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
