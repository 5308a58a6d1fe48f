"""The repository's paths, defined once."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PROBLEMS_DIR = REPO_ROOT / "problems"
SOLUTIONS_DIR = REPO_ROOT / "solutions_ref"
SANDBOX_DIR = REPO_ROOT / "sandbox"
HARNESS_DIR = SANDBOX_DIR / "judge_harness"
TESTS_DIR = REPO_ROOT / "tests"
