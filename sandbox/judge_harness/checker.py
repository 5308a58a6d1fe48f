"""The checker: runs the problem's tests under pytest against a worker, prints a signed result.

    python -m judge_harness.checker < spec.json

The spec arrives on stdin (it carries the result-signing key, so it is never in argv or the
environment). Pytest's own output goes to stderr; stdout carries exactly one line, the
result document and its HMAC, which the host verifies. The checker makes itself non-dumpable
so a worker of the same uid cannot open its /proc entries (fds, memory).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sys
import time
from dataclasses import dataclass
from typing import Any

from judge_harness import confine
from judge_harness.remote import reap_descendants
from judge_harness.schema import RunResult, Verdict, wall_backstop_s, worst


@dataclass
class Preforked:
    """A zygote forked before the run was read, and the modules imported before the fork."""

    zygote: tuple[int, Any]  # (pid, control socket)
    preload: list[str]

    @classmethod
    def fork(cls, preload: list[str]) -> Preforked:
        from judge_harness import zygote

        zygote.preload(preload)
        return cls(zygote.prefork(), list(preload))

    def discard(self) -> None:
        pid, control = self.zygote
        control.close()
        try:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


def harden_checker() -> None:
    confine.set_dumpable(False)
    confine.libc().prctl(confine.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def sign(document: dict[str, Any], key: bytes) -> str:
    body = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def run(spec: dict[str, Any], started: float | None = None, preforked: Preforked | None = None) -> RunResult:
    """Judge the spec's submission; the suite's wall clock counts from `started` (monotonic; default now).

    `preforked`: a zygote forked before the spec was read (zygote.prefork) with the modules it
    preloaded; used when they are the spec's, else killed and a zygote started afresh.
    """
    started = time.monotonic() if started is None else started

    from judge_harness.candidate import Candidate
    from judge_harness.remote import KEEP_ALIVE, Worker, Zygote, popen_spawner

    worker_spec = {
        "submission": spec["submission"],
        "module_name": spec["module_name"],
        "entry_points": spec.get("entry_points", []),
        "dataclasses": spec.get("dataclasses", []),
        "forbidden": spec.get("forbidden", []),
        "driver": spec.get("driver"),
        "preload": spec.get("preload", ["torch"]),
        "mutable_inputs": spec.get("mutable_inputs", []),
    }
    memory_bytes = int(spec["memory_bytes"])
    threads = str(int(spec.get("threads", 1)))
    worker_env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": spec["worker_cwd"],
        "TMPDIR": spec["worker_cwd"],
        "OMP_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
        # Large blocks come from mmap and go back on free, so peak RSS tracks live memory rather
        # than glibc's sliding threshold (which otherwise moves the measured peak by ~60 MB).
        "MALLOC_MMAP_THRESHOLD_": str(2**20),
    }
    worker_env.update(spec.get("worker_env", {}))
    confinement = {
        "memory_bytes": memory_bytes,
        "isolate": bool(spec.get("isolate", True)),
        "hide_paths": list(spec.get("hide_paths", [])),
    }
    user = spec.get("worker_user")
    launch = {"env": worker_env, "cwd": spec["worker_cwd"]}

    def fresh_interpreter() -> None:
        confine.drop_to_user(user)
        confine.confine(confinement)

    zygote_spec = {**worker_spec, "confine": confinement}
    if preforked is not None and preforked.preload == worker_spec["preload"]:
        zygote = Zygote.adopt(preforked.zygote, zygote_spec, user=user, **launch)
    else:
        if preforked is not None:
            preforked.discard()
        zygote = Zygote(zygote_spec, preexec=lambda: confine.drop_to_user(user), **launch)
    KEEP_ALIVE.add(zygote.process.pid)
    fallback = popen_spawner(worker_spec, preexec=fresh_interpreter, **launch)
    spawners: list[Any] = [zygote.spawn, fallback]

    def spawn(command_fd: int, result_fd: int, output_fd: int) -> Any:
        try:
            return spawners[0](command_fd, result_fd, output_fd)
        except (OSError, ChildProcessError, ValueError) as exc:
            if len(spawners) == 1:
                raise
            print(f"judge: fork server failed ({exc}); starting workers afresh", file=sys.stderr)
            spawners.pop(0)
            return spawners[0](command_fd, result_fd, output_fd)

    def start_worker(deadline: float) -> Worker:
        import_timeout = float(spec.get("import_timeout_s", 60))
        timeout = max(0.0, min(import_timeout, deadline - time.monotonic()))
        return Worker(spawn, memory_bytes=memory_bytes, start_timeout_s=timeout)

    result = RunResult(verdict=Verdict.INTERNAL_ERROR, problem=spec["problem"], suite=spec["suite"])
    candidate = Candidate(start_worker)
    suite_cpu_s = float(spec.get("suite_cpu_s", 0))
    if suite_cpu_s:  # the pre-flight import is inside the suite's wall-clock backstop too
        candidate.suite_deadline = started + wall_backstop_s(suite_cpu_s)
    try:
        return run_tests(spec, candidate, result, started)
    finally:
        candidate.close()
        zygote.close()
        reap_descendants()


def run_tests(spec: dict[str, Any], candidate: Any, result: RunResult, started: float | None = None) -> RunResult:
    import pytest

    from judge_harness.plugin import JudgePlugin, lean_pytest_args
    from judge_harness.remote import JudgeAbort

    try:
        candidate.worker()  # pre-flight: a submission that does not import fails the run here
    except JudgeAbort as abort:
        result.verdict = abort.verdict
        result.message = abort.message
        return result
    tolerances = {k: (float(v[0]), float(v[1])) for k, v in spec.get("tolerances", {}).items()}
    plugin = JudgePlugin(
        candidate,
        test_timeout_s=float(spec["test_timeout_s"]),
        tolerances=tolerances,
        suite_cpu_s=float(spec.get("suite_cpu_s", 0)),
        suite_started=started,
        stop_at_first_failure=bool(spec.get("stop_at_first_failure", False)),
        memory_limit_bytes=int(spec["memory_bytes"]),
        progress=bool(spec.get("progress", False)),
        shard=tuple(spec.get("shard", (0, 1))),
    )
    problem_dir = spec["problem_dir"]
    sys.path.insert(0, problem_dir)
    args = [
        spec["test_file"],
        "-q",
        *lean_pytest_args(),
        "--rootdir",
        problem_dir,
        "-c",
        os.devnull,
        "-o",
        "python_files=test_*.py",
        "--no-header",
        "-rN",
        "--tb=no",
        "-o",
        f"verbosity_assertions={2 if spec.get('verbose') else 0}",  # 2: full diffs, as `judge submit -v` promises
    ]
    stdout = sys.stdout
    sys.stdout = sys.stderr
    # pytest stops truncating assertion messages when it thinks it runs on CI ($CI, $BUILD_NUMBER):
    # a verdict's message must not depend on the environment the judge was started from.
    on_ci = {name: os.environ.pop(name) for name in ("CI", "BUILD_NUMBER") if name in os.environ}
    try:
        code = pytest.main(args, plugins=[plugin])
    finally:
        sys.stdout = stdout
        os.environ.update(on_ci)
    result.tests = plugin.results
    result.peak_bytes = max((t.peak_bytes for t in plugin.results), default=0)
    if code == pytest.ExitCode.NO_TESTS_COLLECTED and plugin.shard[1] > 1 and not plugin.collection_errors:
        result.verdict = Verdict.ACCEPTED  # a shard of a suite with fewer tests than shards: nothing to judge
        return result
    if plugin.collection_errors or (code not in (0, 1) and not plugin.results):
        result.verdict = Verdict.INTERNAL_ERROR
        result.message = "the tests could not be collected: " + " ".join(plugin.collection_errors)[:2000]
        return result
    result.verdict = worst([t.verdict for t in result.tests])
    compile_errors = [t for t in result.tests if t.verdict is Verdict.COMPILATION_ERROR]
    if compile_errors:
        result.message = compile_errors[0].message
    return result


def main(preforked: Preforked | None = None) -> None:
    harden_checker()
    spec = json.loads(sys.stdin.read())
    sys.stdin.close()
    key = bytes.fromhex(spec.pop("key"))
    # Before torch is imported here (the tests import it): the checker computes oracles with
    # as many threads as the worker gets, so runs side by side do not oversubscribe the cores.
    threads = int(spec.get("threads", 1))
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(threads)
    if "torch" in sys.modules:  # imported before the spec was read (a fork server, a warm box)
        sys.modules["torch"].set_num_threads(threads)
    started = time.monotonic()
    try:
        result = run(spec, started, preforked)
    except Exception as exc:  # the judge's own fault: report it, never blame the submission
        result = RunResult(
            verdict=Verdict.INTERNAL_ERROR,
            problem=spec.get("problem", ""),
            suite=spec.get("suite", ""),
            message=repr(exc),
        )
    result.wall_s = time.monotonic() - started
    document = result.as_json()
    sys.stdout.write(json.dumps({"result": document, "signature": sign(document, key)}) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
