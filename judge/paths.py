"""The repository's paths, and the user's data folder, defined once."""

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PROBLEMS_DIR = REPO_ROOT / "problems"
SOLUTIONS_DIR = REPO_ROOT / "solutions_ref"
SANDBOX_DIR = REPO_ROOT / "sandbox"
HARNESS_DIR = SANDBOX_DIR / "judge_harness"
TESTS_DIR = REPO_ROOT / "tests"


def data_dir() -> Path:
    """Where the judge keeps the user's data (history, caches): $JUDGE_HOME, else $XDG_DATA_HOME/judge."""
    if os.environ.get("JUDGE_HOME"):
        return Path(os.environ["JUDGE_HOME"]).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    return base / "judge"
