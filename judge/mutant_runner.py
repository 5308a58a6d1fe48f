"""Judging mutants fast: one parent imports torch, pytest and the suite once, a forked child per mutant.

The parent (this process) pre-imports the problem's hidden test module (pytest's collection,
with assertion rewriting, run once) and the driver. For each mutant it writes the mutated
module to a temp file and forks: the child loads it, runs the hidden suite in-process with
pytest's `-x` (stop at the first failing test), tests ordered killers-first (the test that
killed this mutant last time, then the tests that killed most mutants so far in this run),
and sends one JSON line back. The child has a CPU limit (RLIMIT_CPU), a memory limit
(RLIMIT_DATA), its own process group and a parent-death signal; the parent also enforces a
wall budget and kills the whole group. A child that dies, loops or runs out of memory is a
killed mutant (Runtime Error, Time Limit Exceeded, Memory Limit Exceeded).

Fidelity: in-process, the submission and the tests share one process, so values are not
copied across a boundary; the input guard (judge_harness.guard) sees in-place writes either
way, and `last_call.peak_bytes` is measured per call as in the worker. `--backend local` or
`docker` judges mutants through the real runner instead (slower, whole suite).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import resource
import select
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from judge.catalog import Problem
from judge_harness.plugin import HYPOTHESIS_PROFILE

RESULT_BYTES = 64 * 1024
# A mutant's budget: 3x the reference's wall time and 2x its CPU time, plus these floors
# (env JUDGE_MUTANT_FLOOR_S overrides both, for tests), never past the problem's suite limit.
WALL_FLOOR_S = float(os.environ.get("JUDGE_MUTANT_FLOOR_S", 10))
CPU_FLOOR_S = float(os.environ.get("JUDGE_MUTANT_FLOOR_S", 5))
# And each test: 5x the reference's time on that test + 2 s of CPU, at most the problem's test_timeout_s.
TEST_CPU_FACTOR = 5
TEST_CPU_FLOOR_S = float(os.environ.get("JUDGE_MUTANT_FLOOR_S", 2))
PR_SET_PDEATHSIG = 1


ResultCallback = Callable[[str, dict[str, Any]], None]


class RunnerError(RuntimeError):
    """The runner could not judge (the reference fails in-process, the suite does not collect)."""


def _result_line(results: list[Any], started: float, cpu_started: float) -> dict[str, Any]:
    failing = next((r for r in results if r.verdict.value != "Accepted"), None)
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "verdict": failing.verdict.value if failing else "Accepted",
        "test": failing.id if failing else "",
        "message": (failing.message.splitlines() or [""])[0][:300] if failing else "",
        "tests_run": len(results),
        "tests": [[r.id, r.duration_s] for r in results] if failing is None else [],
        "wall_s": round(time.monotonic() - started, 3),
        "cpu_s": round(cpu.ru_utime + cpu.ru_stime - cpu_started, 3),
    }


class ForkRunner:
    """Judges one problem's hidden suite against many sources, each in a child forked mid-session.

    `run` starts one pytest session in this process (collection once, no test run here); from
    inside its `pytest_runtestloop` it forks a child per source, which swaps the source into
    the in-process candidate and runs the collected items itself. So a child pays neither an
    interpreter start, nor imports, nor pytest's start-up and collection.
    """

    def __init__(self, problem: Problem, *, jobs: int = 1, stop_at_first_failure: bool = True) -> None:
        self.problem = problem
        self.jobs = max(1, jobs)
        self.stop_at_first_failure = stop_at_first_failure
        self.kill_counts: Counter[str] = Counter()
        self.wall_budget_s = float(problem.limits.suite_backstop_s)
        self.cpu_budget_s = float(problem.limits.suite_cpu_s)
        self.baseline: dict[str, Any] = {}
        self._children: dict[int, dict[str, Any]] = {}
        self._items: list[Any] = []
        self._candidate: Any = None
        self._plugin: Any = None
        self._error: BaseException | None = None
        self._result_fd: int | None = None  # set in a child

    # -- the parent: one pytest session ----------------------------------------------------------
    def run(self, work: Iterable[tuple[str, str, str | None]], on_result: ResultCallback) -> dict[str, Any]:
        """Judge each (key, source, test to try first); `on_result(key, result)` as each finishes.

        The reference is judged first (it must be Accepted in-process); it sets the budgets and
        is returned.
        """
        threads = str(self.problem.threads)
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[name] = threads
        import pytest

        from judge_harness.candidate import InProcessCandidate
        from judge_harness.plugin import JudgePlugin, register_hypothesis_profile
        from judge_harness.worker import load_module

        # before the suite imports: a test's @settings(...) inherits the profile loaded at that moment
        register_hypothesis_profile()
        # hypothesis imports its patch writer (and libcst with it, ~2 s) when a test fails: once, here
        for name in [*self.problem.preload, "hypothesis.extra._patching"]:
            with contextlib.suppress(ImportError):
                __import__(name)
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(self.problem.threads)
        problem_dir = str(self.problem.path)
        _forget_modules_under(problem_dir)
        sys.path.insert(0, problem_dir)
        driver = load_module(str(self.problem.driver), "_judge_driver") if self.problem.driver else None
        self._candidate = InProcessCandidate(
            None,
            driver,
            list(self.problem.dataclasses),
            measure_memory=True,
            mutable_inputs=self.problem.mutable_inputs,
        )
        self._plugin = JudgePlugin(self._candidate, test_timeout_s=0, tolerances=dict(self.problem.tolerances))
        work = list(work)
        runner = self

        class Loop:
            @pytest.hookimpl(trylast=True)
            def pytest_configure(self, config: Any) -> None:
                load_mutant_profile()  # after the judge plugin loads its profile, before the suite imports

            @pytest.hookimpl(tryfirst=True)
            def pytest_runtestloop(self, session: Any) -> bool:
                try:
                    runner._items = list(session.items)
                    runner._pool(work, on_result)
                except BaseException as exc:  # re-raised once pytest has returned
                    runner._error = exc
                    runner.abort()
                return True

        args = [
            str(self.problem.path / "test_hidden.py"),
            "-q",
            "-s",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            problem_dir,
        ]
        args += ["-c", os.devnull, "-o", "python_files=test_*.py", "-p", "no:randomly"]
        try:
            with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
                code = pytest.main(args, plugins=[self._plugin, Loop()])
        finally:
            self.abort()
            _forget_modules_under(problem_dir)
            with contextlib.suppress(ValueError):
                sys.path.remove(problem_dir)
        if self._error is not None:
            raise self._error
        if not self._items:
            raise RunnerError(f"{self.problem.slug}: the hidden suite does not collect (pytest exit {code})")
        return self.baseline

    def _pool(self, work: list[tuple[str, str, str | None]], on_result: ResultCallback) -> None:
        with tempfile.TemporaryDirectory(prefix="judge-mutants-") as tmp:
            self._tmp = Path(tmp)
            self.baseline = self._baseline()
            # Budgets from the reference's own run: a mutant may be slower, not 3x slower.
            limits = self.problem.limits
            self.wall_budget_s = min(limits.suite_backstop_s, 3 * self.baseline["wall_s"] + WALL_FLOOR_S)
            self.cpu_budget_s = min(limits.suite_cpu_s, 2 * self.baseline["cpu_s"] + CPU_FLOOR_S)
            pending = work[::-1]
            while pending or self._children:
                while pending and len(self._children) < self.jobs:
                    self._start(*pending.pop())
                for key, result in self._collect(budget=True):
                    on_result(key, result)

    def _baseline(self) -> dict[str, Any]:
        """The reference, judged here in the parent: it must pass, it times the budgets, and it
        warms every lazy import and cache (torch imports sympy on the first backward) once, so
        that no child pays for them."""
        from judge_harness.worker import load_module

        self._candidate.use_module(load_module(str(self.problem.reference), self.problem.module_name))
        with open(os.devnull, "w") as devnull, contextlib.redirect_stderr(devnull):
            result = self._run_items(None, self._items, stop=False)
        self._plugin.results.clear()
        if result["verdict"] != "Accepted":
            raise RunnerError(
                f"{self.problem.slug}: the reference is not Accepted in-process: {result['verdict']} "
                f"at {result['test']}: {result['message']}"
            )
        return result

    # -- one child -------------------------------------------------------------------------------
    def _start(self, key: str, source: str, first: str | None = None, budget: bool = True) -> int:
        path = self._tmp / f"{self.problem.module_name}_{abs(hash(key)) % 10**8}.py"
        path.write_text(source)
        items = self._ordered(first)
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            os.close(read_fd)
            self._child(path, items, write_fd, budget)
        os.close(write_fd)
        self._children[pid] = {"key": key, "fd": read_fd, "started": time.monotonic(), "data": b"", "path": path}
        return pid

    def _ordered(self, first: str | None) -> list[Any]:
        """The test that killed this mutant last time, then by kills so far per second of the
        reference's time on the test (a cheap test that often kills goes early), then cheapest."""
        rank = {item.nodeid: index for index, item in enumerate(self._items)}
        seconds = {nodeid: duration for nodeid, duration in self.baseline.get("tests", [])}

        def key(item: Any) -> tuple:
            cost = seconds.get(item.nodeid, 1.0) + 0.01
            return (item.nodeid != first, -self.kill_counts[item.nodeid] / cost, cost, rank[item.nodeid])

        return sorted(self._items, key=key)

    def _child(self, path: Path, items: list[Any], write_fd: int, budget: bool) -> None:
        code = 0
        try:
            os.setpgid(0, 0)
            from judge_harness import confine

            confine.libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            self._result_fd = write_fd
            if budget:
                cpu = int(self.cpu_budget_s) + 1
                resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
            memory = _data_usage() + self.problem.limits.memory_mb * 2**20 + 2**30
            resource.setrlimit(resource.RLIMIT_DATA, (memory, memory))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            line = json.dumps(self._run_items(path, items)).encode()
        except BaseException as exc:  # reported to the parent as the child's verdict
            message = f"{type(exc).__name__}: {exc}"[:300]
            line = json.dumps({"verdict": "Internal Error", "test": "", "message": message}).encode()
            code = 70
        try:
            os.write(write_fd, line[:RESULT_BYTES] + b"\n")
        finally:
            os._exit(code)

    def _run_items(self, path: Path | None, items: list[Any], stop: bool = True) -> dict[str, Any]:
        from hypothesis.internal.conjecture import engine

        from judge_harness.worker import load_module

        engine.MAX_SHRINKING_SECONDS = 0  # a mutant needs a failure, not the smallest one
        started = time.monotonic()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu_started = usage.ru_utime + usage.ru_stime
        if path is not None:
            try:
                self._candidate.use_module(load_module(str(path), self.problem.module_name))
            except BaseException as exc:  # a mutant that does not import is killed
                message = f"{type(exc).__name__}: {exc}"[:300]
                return {
                    "verdict": "Compilation Error",
                    "test": "",
                    "message": message,
                    "tests_run": 0,
                    "wall_s": round(time.monotonic() - started, 3),
                    "cpu_s": 0.0,
                }
        results = self._plugin.results
        reference_s = {nodeid: seconds for nodeid, seconds in self.baseline.get("tests", [])}
        for index, item in enumerate(items):
            following = items[index + 1] if index + 1 < len(items) else None
            item.repr_failure = _short_failure  # pytest's report (source, locals) is not read here: skip it
            if self._result_fd is not None:  # in a child: the parent learns which test a kill cut short
                os.write(self._result_fd, f"T {item.nodeid}\n".encode())
                _limit_test_cpu(reference_s.get(item.nodeid, 1.0), self.problem.limits.test_timeout_s)
            item.config.hook.pytest_runtest_protocol(item=item, nextitem=following)
            if stop and self.stop_at_first_failure and any(r.verdict.value != "Accepted" for r in results):
                break
        return _result_line(results, started, cpu_started)

    # -- the pool --------------------------------------------------------------------------------
    def _collect(self, budget: bool) -> Iterable[tuple[str, dict[str, Any]]]:
        fds = {child["fd"]: pid for pid, child in self._children.items()}
        now = time.monotonic()
        wait = min((c["started"] + self.wall_budget_s - now for c in self._children.values()), default=1.0)
        readable, _, _ = select.select(list(fds), [], [], max(0.01, min(wait, 1.0)) if budget else 1.0)
        for fd in readable:
            pid = fds[fd]
            child = self._children[pid]
            chunk = os.read(fd, RESULT_BYTES)
            child["data"] += chunk
            if chunk:
                continue
            yield child["key"], self._finish(pid, timed_out=False)
        if budget:
            for pid, child in list(self._children.items()):
                if time.monotonic() - child["started"] > self.wall_budget_s:
                    yield child["key"], self._finish(pid, timed_out=True)

    def _finish(self, pid: int, timed_out: bool) -> dict[str, Any]:
        child = self._children.pop(pid)
        if timed_out:
            _kill_group(pid)
        _, status, usage = os.wait4(pid, 0)
        _kill_group(pid)  # anything the mutant left running in its group
        while chunk := os.read(child["fd"], RESULT_BYTES):  # the child is gone: this reaches the end
            child["data"] += chunk
        os.close(child["fd"])
        child["path"].unlink(missing_ok=True)
        wall = round(time.monotonic() - child["started"], 3)
        lines = child["data"].decode(errors="replace").strip().splitlines()
        started = [line[2:] for line in lines if line.startswith("T ")]
        died = {"test": started[-1] if started else "", "tests_run": len(started), "wall_s": wall}
        if timed_out:
            message = f"past the wall budget of {self.wall_budget_s:.0f} s"
            result = {**died, "verdict": "Time Limit Exceeded", "message": message}
            result["cpu_s"] = round(usage.ru_utime + usage.ru_stime, 3)
            return result
        try:
            result = json.loads(lines[-1])
        except (ValueError, IndexError):
            signum = os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0
            verdict = "Time Limit Exceeded" if signum in (signal.SIGXCPU, signal.SIGKILL) else "Runtime Error"
            what = signal.Signals(signum).name if signum else f"exit {os.WEXITSTATUS(status)}"
            if signum == signal.SIGXCPU:
                what = "past its CPU budget"
            result = {**died, "verdict": verdict, "message": f"the process running the suite died ({what})"}
        if result.get("verdict") not in ("Accepted", "Internal Error") and result.get("test"):
            self.kill_counts[result["test"]] += 1
        result["cpu_s"] = round(usage.ru_utime + usage.ru_stime, 3)  # the child's own, as the kernel counted it
        return result

    def abort(self) -> None:
        """Kill every child now (Ctrl-C, an error): none is left behind."""
        for pid in list(self._children):
            _kill_group(pid)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
            child = self._children.pop(pid)
            os.close(child["fd"])
            child["path"].unlink(missing_ok=True)


def load_mutant_profile() -> None:
    """The judge's hypothesis profile, but a failing example ends the test at once.

    By default hypothesis keeps generating for up to 10 s after the first failure, looking for
    other bugs, then shrinks; a mutant needs one failure. Generation is unchanged (derandomized),
    so the same example fails first: whether a mutant is killed does not depend on this.
    """
    from hypothesis import Phase, settings

    settings.register_profile(
        "judge-mutants",
        parent=settings.get_profile(HYPOTHESIS_PROFILE),
        report_multiple_bugs=False,
        phases=[Phase.explicit, Phase.reuse, Phase.generate],
    )
    settings.load_profile("judge-mutants")


def _limit_test_cpu(reference_s: float, test_timeout_s: float) -> None:
    """The next test may use TEST_CPU_FACTOR x the reference's time on it + TEST_CPU_FLOOR_S of CPU
    (never more than the problem's per-test limit); past it the kernel sends SIGXCPU."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    allowed = min(TEST_CPU_FACTOR * reference_s + TEST_CPU_FLOOR_S, test_timeout_s)
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = math.ceil(used + allowed)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard - 1)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _short_failure(excinfo: Any) -> str:
    return excinfo.exconly()[:300]


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _data_usage() -> int:
    with contextlib.suppress(OSError), open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmData:"):
                return int(line.split()[1]) * 1024
    return 0


def _forget_modules_under(folder: str) -> None:
    """Drop modules imported from another problem's folder (test_hidden, oracles) so the next one imports its own."""
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None) or ""
        if file.startswith(folder + os.sep) or name in ("test_hidden", "_judge_driver"):
            del sys.modules[name]
