"""The repository's paths, and the user's data folder, defined once."""

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PROBLEMS_DIR = REPO_ROOT / "problems"
SOLUTIONS_DIR = REPO_ROOT / "solutions_ref"
SANDBOX_DIR = REPO_ROOT / "sandbox"
HARNESS_DIR = SANDBOX_DIR / "judge_harness"
TESTS_DIR = REPO_ROOT / "tests"


def missing_checkout() -> str | None:
    """Why this install cannot judge, or None: the judge runs from a checkout of its repository.

    A non-editable `pip install .` copies the packages into site-packages but not problems/,
    solutions_ref/ or sandbox/, which the catalog, `judge verify` and the sandbox build read.
    """
    missing = [folder.name for folder in (PROBLEMS_DIR, SANDBOX_DIR) if not folder.is_dir()]
    if not missing:
        return None
    return (
        f"this install of the judge has no {' or '.join(f'{name}/' for name in missing)} next to it "
        f"(looked in {REPO_ROOT}): the judge runs from a checkout of its repository; "
        "clone it and run `pip install -e .` there (a plain `pip install .` leaves the problems behind)"
    )


def data_dir() -> Path:
    """Where the judge keeps the user's data (history, caches): $JUDGE_HOME, else $XDG_DATA_HOME/judge."""
    if os.environ.get("JUDGE_HOME"):
        return Path(os.environ["JUDGE_HOME"]).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    return base / "judge"
