"""A correct answer on a machine so busy that the submission waits for a CPU longer than the wall-clock
backstop: the backstop (which ends submissions that sleep) moves by the time the worker and the checker
spent runnable but not running (/proc/.../schedstat), so the verdict does not depend on the load."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.sandbox_support import PROBE_PROBLEM

BURNERS = 12  # on one CPU with the judge: each process gets ~1/13 of it
BUSY_ADD = """
import time


def add(a, b):
    end = time.process_time() + 1.0  # 1 s of CPU: half the 2 s limit; ~13 s of wall on the crowded CPU
    while time.process_time() < end:
        pass
    return a + b
"""


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/schedstat").exists(), reason="the kernel keeps no schedstat")
def test_a_starved_correct_answer_is_accepted(tmp_path: Path) -> None:
    cpu = sorted(os.sched_getaffinity(0))[0]
    submission = tmp_path / "sandbox_probe.py"
    submission.write_text(BUSY_ADD)
    # each in its own session: with autogroup scheduling a session shares the CPU as one, and the
    # judge's checkers run in sessions of their own
    burners = [
        subprocess.Popen(["taskset", "-c", str(cpu), sys.executable, "-c", "while True: pass"], start_new_session=True)
        for _ in range(BURNERS)
    ]
    try:
        time.sleep(0.5)
        env = dict(os.environ, JUDGE_PROBLEMS_PATH=str(PROBE_PROBLEM.parent), JUDGE_HOME=str(tmp_path / "home"))
        command = ["taskset", "-c", str(cpu), sys.executable, "-m", "judge", "submit", "sandbox-probe"]
        done = subprocess.run(
            [*command, str(submission), "--backend", "local", "--json"],
            capture_output=True,
            text=True,
            env=dict(env, JUDGE_WORKERS="1"),
            timeout=600,
        )
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    result = json.loads(done.stdout)
    walls = [t["duration_s"] for t in result["tests"]]
    assert result["verdict"] == "Accepted", (
        result["verdict"],
        result["message"],
        [t["message"] for t in result["tests"]],
    )
    # the point: each test outlasted the 2 s limit's 10 s wall backstop, and was still judged on its CPU time
    assert max(walls) > 10, f"the machine was not crowded enough to test the backstop: test walls {walls}"
