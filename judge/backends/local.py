"""The local backend: the checker and its worker as subprocesses of the judge.

Limits come from rlimits and the checker's own watch (memory, time, output); the worker
gets a private temp dir, a minimal environment and, where the kernel lets an unprivileged
process create one, an empty network namespace. Not a security boundary: the worker runs
as the same user as the judge. Use the docker backend for code you do not trust.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from judge.backends.base import RESULT_STDOUT_LIMIT, Execution, Job, checker_spec
from judge.catalog import Problem, problem_roots
from judge.paths import SANDBOX_DIR, SOLUTIONS_DIR, TESTS_DIR
from judge.staging import stage

HARNESS_ROOT = SANDBOX_DIR
WALL_SLACK_S = 30.0  # checker start-up and finishing on top of the suite's wall backstop (the checker keeps that one)
STDERR_TAIL = 8192


def hidden_paths(problem: Problem) -> list[Path]:
    """What the worker must not see: problem folders (hidden tests, wrong solutions), references, our tests."""
    roots = [root.absolute() for root in problem_roots()]
    return [*roots, problem.path.parent, problem.reference.parent, SOLUTIONS_DIR, TESTS_DIR]


class _Reader(threading.Thread):
    def __init__(self, stream, limit: int) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.limit = limit
        self.data = bytearray()
        self.overflow = False

    def run(self) -> None:
        while chunk := self.stream.read(65536):
            if len(self.data) + len(chunk) > self.limit:
                self.overflow = True
                keep = self.limit - len(self.data)
                self.data += chunk[:keep]
                continue  # keep draining so the writer never blocks
            self.data += chunk


class LocalBackend:
    name = "local"

    def execute(self, job: Job) -> Execution:
        with tempfile.TemporaryDirectory(prefix="judge-run-") as tmp:
            root = Path(tmp)
            os.chmod(root, 0o700)
            submission = stage(job.submission, root / "submission", job.problem.module_name)
            work = root / "work"
            work.mkdir()
            driver = None
            if job.problem.driver is not None:  # the worker may read the driver, not the problem folder
                driver = root / "driver" / "driver.py"
                driver.parent.mkdir()
                shutil.copyfile(job.problem.driver, driver)
            spec = checker_spec(
                job,
                problem_dir=str(job.problem.path),
                submission=str(submission),
                driver=str(driver) if driver else None,
                worker_cwd=str(work),
                hide_paths=sorted({str(p) for p in hidden_paths(job.problem) if p.is_dir()}),
            )
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "PYTHONPATH": str(HARNESS_ROOT),
                "PYTHONDONTWRITEBYTECODE": "1",
                "HOME": str(root),
                "LANG": "C.UTF-8",
            }
            process = subprocess.Popen(
                [sys.executable, "-m", "judge_harness.checker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                cwd=root,
                start_new_session=True,
            )
            out, err = _Reader(process.stdout, RESULT_STDOUT_LIMIT), _Reader(process.stderr, 10 * 2**20)
            out.start()
            err.start()
            timed_out = False
            try:
                process.stdin.write(json.dumps(spec).encode())
                process.stdin.close()
                process.wait(timeout=job.problem.limits.suite_backstop_s + WALL_SLACK_S)
            except subprocess.TimeoutExpired:
                timed_out = True
            except BrokenPipeError:
                pass
            finally:
                _kill_group(process)
                out.join(timeout=5)
                err.join(timeout=5)
            return Execution(
                stdout=bytes(out.data),
                stderr_tail=bytes(err.data[-STDERR_TAIL:]).decode("utf-8", "replace"),
                exit_code=process.returncode,
                timed_out=timed_out,
                stdout_overflow=out.overflow,
            )


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()
