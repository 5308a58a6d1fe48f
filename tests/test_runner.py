"""judge/runner.py's stop_on_termination: `kill` or a closed terminal during `judge test/submit`
stops the box as Ctrl-C does, on both backends, instead of leaving it to run out its wall limit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from judge import runner
from tests.sandbox_support import (  # noqa: F401 - fixture
    PROBE_PROBLEM,
    SUBMISSIONS,
    containers_of_process,
    docker_backend,
    signal_once_boxed,
)

SLEEPER = SUBMISSIONS / "sleep_at_import.py"  # spends no CPU: only a wall clock or a signal ends it


def _judge(tmp_path: Path, *args: str) -> subprocess.Popen:
    env = dict(os.environ, JUDGE_PROBLEMS_PATH=str(PROBE_PROBLEM.parent), JUDGE_HOME=str(tmp_path / "home"))
    return subprocess.Popen(
        [sys.executable, "-c", "from judge.cli import cli; cli()", *args, "sandbox-probe", str(SLEEPER)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _process_groups() -> dict[int, int]:
    """pid -> process group of every process on the machine."""
    groups = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                groups[int(entry.name)] = int(fields[2])
    return groups


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


def _descendants(pid: int) -> list[int]:
    found, frontier = [], [pid]
    while frontier:
        children = [child for parent in frontier for child in _children(parent)]
        found += children
        frontier = children
    return found


def test_the_handlers_are_restored_and_raise_keyboard_interrupt() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt), runner.stop_on_termination():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
    assert signal.getsignal(signal.SIGTERM) is before


@pytest.mark.slow
@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_terminated_judge_test_kills_the_local_checker(tmp_path: Path, number: int) -> None:
    judge = _judge(tmp_path, "test", "--backend", "local")
    deadline = time.monotonic() + 60
    below: list[int] = []
    # the fork server, the checker it forked, the checker's zygote and the sleeping worker
    while len(below) < 4 and time.monotonic() < deadline:
        time.sleep(0.2)
        below = _descendants(judge.pid)
    assert len(below) >= 4, f"the run never got as far as its worker: {below}"
    time.sleep(0.5)
    judge.send_signal(number)
    judge.wait(timeout=15)
    assert judge.returncode != 0
    groups = _process_groups()
    survivors = [pid for pid in below if pid in groups or pid in groups.values()]
    assert not survivors, f"processes of the terminated judge's run outlived it: {survivors}"


@pytest.mark.docker
def test_a_terminated_judge_submit_removes_the_container(docker_backend, tmp_path: Path) -> None:  # noqa: F811
    judge = _judge(tmp_path, "submit", "--backend", "docker")
    took = signal_once_boxed(docker_backend, judge, signal.SIGTERM)
    assert took < 15, "SIGTERM waited for the box to finish"
    assert containers_of_process(docker_backend, judge.pid, settle_s=10) == [], "the container outlived the judge"


# A probe of the worker's allocator: a 2 MiB block allocated after an equal one was freed. glibc's
# default threshold slides up to the size of a freed mmapped block, so the second comes from the
# heap and stays resident after its free; with the checker's fixed MALLOC_MMAP_THRESHOLD_ (1 MiB)
# it is mmapped again. The answer is right only in the second case.
MALLOC_PROBE = """
import ctypes

libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]


def _in_heap(address):
    for line in open("/proc/self/maps"):
        if line.rstrip().endswith("[heap]"):
            low, high = (int(x, 16) for x in line.split()[0].split("-"))
            return low <= address < high
    return False


def add(a, b):
    libc.free(libc.malloc(2 << 20))
    second = libc.malloc(2 << 20)
    mmapped = not _in_heap(second)
    libc.free(second)
    return a + b if mmapped else a + b + 1
"""


@pytest.mark.parametrize("backend_name", ["local", "docker"])
def test_the_workers_allocator_returns_large_blocks_on_free(request, tmp_path: Path, backend_name) -> None:
    """Per-call peak memory is only live memory if freed large blocks leave the process, in a worker
    forked from a zygote that started before the run's environment (MALLOC_MMAP_THRESHOLD_) was set."""
    if backend_name == "docker":
        backend = request.getfixturevalue("docker_backend")
    else:
        from judge.backends.local import LocalBackend

        backend = LocalBackend()
    submission = tmp_path / "probe.py"
    submission.write_text(MALLOC_PROBE)
    from judge.catalog import load_problem

    result = runner.run(load_problem(PROBE_PROBLEM), submission, "hidden", backend)
    assert result.verdict.value == "Accepted", (result.message, [t.message for t in result.tests])
