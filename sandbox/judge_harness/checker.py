"""The checker: runs the problem's tests under pytest against a worker, prints a signed result.

    python -m judge_harness.checker < spec.json

The spec arrives on stdin (it carries the result-signing key, so it is never in argv or the
environment). Pytest's own output goes to stderr; stdout carries exactly one line, the
result document and its HMAC, which the host verifies. The checker makes itself non-dumpable
so a worker of the same uid cannot open its /proc entries (fds, memory).
"""

from __future__ import annotations

import ctypes
import hashlib
import hmac
import json
import os
import resource
import sys
import time
from typing import Any

from judge_harness.remote import reap_descendants
from judge_harness.schema import RunResult, Verdict, worst

PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
CLONE_NEWNS = 0x00020000
MS_RDONLY = 1
MS_REC = 16384
MS_PRIVATE = 1 << 18


def _libc() -> Any:
    return ctypes.CDLL(None, use_errno=True)


def harden_checker() -> None:
    libc = _libc()
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def worker_preexec(spec: dict[str, Any]):  # noqa: ANN201 - returns a zero-argument callable
    """Runs in the forked worker before exec: limits, no network, another uid if asked."""
    memory = int(spec["memory_bytes"])
    user = spec.get("worker_user")
    isolate = bool(spec.get("isolate", True))
    hide = [os.fsencode(path) for path in spec.get("hide_paths", [])]

    def preexec() -> None:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 2**20, 64 * 2**20))
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
        # Address-space headroom over the RSS limit: torch reserves far more than it touches.
        resource.setrlimit(resource.RLIMIT_DATA, (memory + 2**30, memory + 2**30))
        if user:
            os.setgroups([])
            os.setresgid(user[1], user[1], user[1])
            os.setresuid(user[0], user[0], user[0])
        if isolate:
            isolate_worker(hide)

    return preexec


def isolate_worker(hide: list[bytes]) -> None:
    """Best effort, unprivileged: a user namespace with no network and the judge's secrets unmounted.

    Where the kernel allows unprivileged user namespaces, the worker gets an empty network
    namespace and a private mount namespace in which every path in `hide` (problem folders,
    references, the judge's tests) is covered by an empty read-only tmpfs. Where it does not
    (e.g. inside the Docker sandbox, which has its own isolation), nothing changes.
    """
    libc = _libc()
    if libc.unshare(CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWNS) != 0:
        return
    if libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        return
    for path in hide:
        libc.mount(b"none", path, b"tmpfs", MS_RDONLY, b"size=4k,mode=555")


def sign(document: dict[str, Any], key: bytes) -> str:
    body = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def run(spec: dict[str, Any]) -> RunResult:
    import pytest

    from judge_harness.candidate import Candidate
    from judge_harness.plugin import JudgePlugin
    from judge_harness.remote import JudgeAbort, Worker

    worker_spec = {
        "submission": spec["submission"],
        "module_name": spec["module_name"],
        "entry_points": spec.get("entry_points", []),
        "dataclasses": spec.get("dataclasses", []),
        "forbidden": spec.get("forbidden", []),
        "driver": spec.get("driver"),
        "preload": spec.get("preload", ["torch"]),
    }
    memory_bytes = int(spec["memory_bytes"])
    worker_env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": spec["worker_cwd"], "TMPDIR": spec["worker_cwd"]}
    worker_env.update(spec.get("worker_env", {}))

    def start_worker(deadline: float) -> Worker:
        import_timeout = float(spec.get("import_timeout_s", 60))
        return Worker(
            worker_spec,
            memory_bytes=memory_bytes,
            start_timeout_s=max(0.0, min(import_timeout, deadline - time.monotonic())),
            env=worker_env,
            cwd=spec["worker_cwd"],
            preexec=worker_preexec(spec),
        )

    result = RunResult(verdict=Verdict.INTERNAL_ERROR, problem=spec["problem"], suite=spec["suite"])
    candidate = Candidate(start_worker)
    try:
        candidate.worker()  # pre-flight: a submission that does not import fails the run here
    except JudgeAbort as abort:
        candidate.close()
        result.verdict = abort.verdict
        result.message = abort.message
        return result
    tolerances = {k: (float(v[0]), float(v[1])) for k, v in spec.get("tolerances", {}).items()}
    plugin = JudgePlugin(
        candidate,
        test_timeout_s=float(spec["test_timeout_s"]),
        tolerances=tolerances,
        suite_wall_s=float(spec.get("suite_wall_s", 0)),
    )
    problem_dir = spec["problem_dir"]
    sys.path.insert(0, problem_dir)
    args = [
        spec["test_file"],
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:randomly",
        "--rootdir",
        problem_dir,
        "-c",
        os.devnull,
        "-o",
        "python_files=test_*.py",
        "--no-header",
        "-rN",
        "--tb=no",
    ]
    stdout = sys.stdout
    sys.stdout = sys.stderr
    try:
        code = pytest.main(args, plugins=[plugin])
    finally:
        sys.stdout = stdout
        candidate.close()
        reap_descendants()
    result.tests = plugin.results
    result.peak_bytes = max((t.peak_bytes for t in plugin.results), default=0)
    if plugin.collection_errors or (code not in (0, 1) and not plugin.results):
        result.verdict = Verdict.INTERNAL_ERROR
        result.message = "the tests could not be collected: " + " ".join(plugin.collection_errors)[:2000]
        return result
    result.verdict = worst([t.verdict for t in result.tests])
    compile_errors = [t for t in result.tests if t.verdict is Verdict.COMPILATION_ERROR]
    if compile_errors:
        result.message = compile_errors[0].message
    return result


def main() -> None:
    harden_checker()
    spec = json.loads(sys.stdin.read())
    sys.stdin.close()
    key = bytes.fromhex(spec.pop("key"))
    started = time.monotonic()
    try:
        result = run(spec)
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
