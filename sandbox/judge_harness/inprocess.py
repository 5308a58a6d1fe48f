"""Run a problem's tests with the submission imported in-process (authoring aid, not judging).

    python -m judge_harness.inprocess problems/<slug> SUBMISSION.py {public,hidden} [-k EXPR]

No isolation, no time or memory limits, `last_call.peak_bytes` is 0. The benchmark's "bare
suite" baseline uses this path too.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

from judge_harness.candidate import InProcessCandidate
from judge_harness.plugin import JudgePlugin, lean_pytest_args
from judge_harness.schema import worst
from judge_harness.worker import load_module


def plugin_for(problem_dir: Path, submission: Path) -> JudgePlugin:
    """The judge's pytest plugin with `submission` imported here as the `candidate` fixture's module
    (also what a workspace's conftest.py registers for `python -m pytest test_public.py`)."""
    meta = tomllib.loads((problem_dir / "problem.toml").read_text())
    module_name = problem_dir.name.replace("-", "_")
    module = load_module(str(submission), module_name)
    driver_path = problem_dir / "driver.py"
    driver = load_module(str(driver_path), "_judge_driver") if driver_path.exists() else None
    mutable = meta.get("mutable_inputs", [])
    candidate = InProcessCandidate(module, driver, meta.get("dataclasses", []), mutable_inputs=mutable)
    candidate.use_module(module)
    tolerances = {k: (float(v["atol"]), float(v["rtol"])) for k, v in meta.get("tolerances", {}).items()}
    sys.path.insert(0, str(problem_dir))  # the tests may import the problem's helpers
    return JudgePlugin(candidate, test_timeout_s=0, tolerances=tolerances)


def run(problem_dir: Path, submission: Path, suite: str, extra: list[str] | None = None) -> int:
    import pytest

    plugin = plugin_for(problem_dir, submission)
    args = [str(problem_dir / f"test_{suite}.py"), "-q", *lean_pytest_args(), "--rootdir", str(problem_dir)]
    args += ["-c", "/dev/null", "-o", "python_files=test_*.py", *(extra or [])]
    code = pytest.main(args, plugins=[plugin])
    for test in plugin.results:
        print(
            f"{test.verdict.short:4} {test.duration_s:7.2f}s  {test.id}  {test.message.splitlines()[0] if test.message else ''}"
        )
    print("overall:", worst([t.verdict for t in plugin.results]).value if plugin.results else "no tests")
    return int(code)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("problem_dir", type=Path)
    parser.add_argument("submission", type=Path)
    parser.add_argument("suite", choices=["public", "hidden"])
    parser.add_argument("-k", default=None)
    args = parser.parse_args()
    extra = ["-k", args.k] if args.k else []
    sys.exit(run(args.problem_dir, args.submission, args.suite, extra))


if __name__ == "__main__":
    main()
