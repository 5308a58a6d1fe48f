"""Judging through a real Redis queue with real `judge worker` processes (judge/distributed.py).

A `redis-server` (Debian's package; .ci/run installs it) is started on a free loopback port with
a password; the workers are `python -m judge worker` subprocesses on the local backend, so the
runs are real checker runs. Skipped only when no redis-server binary exists.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from judge import distributed, runner
from judge.backends.local import LocalBackend
from judge.catalog import load_catalog
from judge.localqueue import Workers, free_port, redis_server, worker_env
from judge.staging import submission_from_source
from judge_harness.schema import Verdict

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
QUEUE_PROBLEMS = TESTS / "fixtures" / "queue-problems"
PASSWORD = "queue-test-secret"
SLEEPY = "import time\n\n\ndef add(a, b):\n    time.sleep(4)\n    return a + b\n"

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs Debian's redis-server")


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory):
    with redis_server(tmp_path_factory.mktemp("redis"), PASSWORD) as url:
        yield url


@pytest.fixture
def workers(redis_url: str):
    pool = Workers(redis_url)
    yield pool
    pool.stop()


@pytest.fixture(scope="module")
def problem():
    return load_catalog([QUEUE_PROBLEMS]).get("queue-add")


def submission(source: str, name: str = "queue_add.py"):
    return submission_from_source(source, Path(name))


def test_verdicts_through_the_queue_match_a_direct_run(redis_url: str, workers: Workers, problem) -> None:
    workers.start(3)
    queue_backend, local = distributed.QueueBackend(redis_url), LocalBackend()
    cases = [problem.reference, problem.stub, submission("def add(a, b):\n    return a - b\n")]
    for case in cases:
        direct = runner.run(problem, case, "hidden", local)
        queued = runner.run(problem, case, "hidden", queue_backend)
        assert queued.verdict == direct.verdict, (case, queued.message)
        assert (queued.passed, len(queued.tests)) == (direct.passed, len(direct.tests))
        assert queued.judged_by.endswith("(local)") and queued.backend == "queue"
    assert runner.run(problem, problem.reference, "hidden", queue_backend).verdict is Verdict.ACCEPTED


def test_a_worker_killed_mid_run_loses_nothing(redis_url: str, workers: Workers, problem) -> None:
    from rq import Worker

    workers.start(2)
    backend = distributed.QueueBackend(redis_url)
    result: dict[str, object] = {}

    import threading

    thread = threading.Thread(
        target=lambda: result.update(run=runner.run(problem, submission(SLEEPY), "hidden", backend))
    )
    thread.start()
    deadline = time.monotonic() + 60
    busy = []
    while not busy:
        assert time.monotonic() < deadline, "the run never started"
        busy = [
            w
            for w in Worker.all(connection=backend.connection)
            if w.get_current_job_id() and w.name in backend.workers()
        ]
        time.sleep(0.1)
    os.kill(busy[0].pid, signal.SIGKILL)  # the slot process itself: no goodbye, no cleanup
    thread.join(180)
    run = result["run"]
    assert run.verdict is Verdict.ACCEPTED, run.message  # type: ignore[attr-defined]
    assert busy[0].name not in run.judged_by  # type: ignore[attr-defined]


def test_a_run_lost_twice_is_an_internal_error_with_the_reason(redis_url: str, workers: Workers, problem) -> None:
    from rq import Worker

    workers.start(2)
    backend = distributed.QueueBackend(redis_url)
    result: dict[str, object] = {}
    import threading

    thread = threading.Thread(
        target=lambda: result.update(run=runner.run(problem, submission(SLEEPY), "hidden", backend))
    )
    thread.start()
    killed: set[str] = set()
    deadline = time.monotonic() + 120
    while len(killed) < 2:
        assert time.monotonic() < deadline, f"expected the run on two workers, killed {killed}"
        for w in Worker.all(connection=backend.connection):
            if w.get_current_job_id() and w.name not in killed and w.name in backend.workers():
                os.kill(w.pid, signal.SIGKILL)
                killed.add(w.name)
        time.sleep(0.1)
    thread.join(180)
    run = result["run"]
    assert run.verdict is Verdict.INTERNAL_ERROR  # type: ignore[attr-defined]
    assert "lost twice" in run.message and "stopped answering" in run.message  # type: ignore[attr-defined]


def test_interactive_runs_go_ahead_of_verify_runs(redis_url: str, workers: Workers, problem) -> None:
    from rq import Queue

    backend = distributed.QueueBackend(redis_url)
    names = distributed.queue_names()
    verify_queue, interactive_queue = (
        Queue(names[2], connection=backend.connection),
        Queue(names[0], connection=backend.connection),
    )
    from judge.runner import Job

    payload = distributed.pack(Job(problem, submission("def add(a, b):\n    return a + b\n"), "hidden", b"k" * 32))
    late = [verify_queue.enqueue(distributed.judge_packed, payload) for _ in range(2)]
    urgent = interactive_queue.enqueue(distributed.judge_packed, payload)  # enqueued last
    workers.start(1, "--burst")
    workers.processes[0].wait(120)
    for job in [*late, urgent]:
        job.refresh()
    assert urgent.started_at < min(job.started_at for job in late)


def test_a_worker_refuses_a_run_packed_by_another_version(
    redis_url: str, workers: Workers, problem, monkeypatch
) -> None:
    workers.start(1)
    backend = distributed.QueueBackend(redis_url)
    real_version = distributed.__version__
    monkeypatch.setattr(distributed, "__version__", "0.0.0-old")  # pack() records the caller's version
    payload = distributed.pack(
        runner.Job(problem, submission("def add(a, b):\n    return a + b\n"), "hidden", b"k" * 32)
    )
    monkeypatch.setattr(distributed, "__version__", real_version)
    job = backend.queue.enqueue(distributed.judge_packed, payload)  # forced onto this version's queue
    deadline = time.monotonic() + 60
    while job.get_status(refresh=True) not in ("failed", "finished"):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert job.get_status() == "failed"
    assert "refuses a run packed by judge 0.0.0-old" in distributed._failure(job)


def test_a_caller_whose_version_no_worker_serves_gets_a_clear_error(
    redis_url: str, workers: Workers, problem, monkeypatch
) -> None:
    workers.start(1)
    monkeypatch.setattr(distributed, "NO_WORKER_S", 1.0)
    monkeypatch.setattr(distributed, "__version__", "9.9.9-new")
    backend = distributed.QueueBackend(redis_url)
    with pytest.raises(distributed.QueueError, match=r"no `judge worker` for judge 9\.9\.9-new"):
        runner.run(problem, problem.reference, "hidden", backend)


def test_sigterm_lets_the_running_run_finish(redis_url: str, workers: Workers, problem) -> None:
    workers.start(1)
    backend = distributed.QueueBackend(redis_url)
    import threading

    from rq import Worker

    result: dict[str, object] = {}
    thread = threading.Thread(
        target=lambda: result.update(run=runner.run(problem, submission(SLEEPY), "hidden", backend))
    )
    thread.start()
    deadline = time.monotonic() + 60
    # live workers only: a worker SIGKILLed by an earlier test stays registered with its last job
    while not any(
        w.get_current_job_id() and w.name in backend.workers() for w in Worker.all(connection=backend.connection)
    ):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    process = workers.processes[0]
    os.killpg(process.pid, signal.SIGTERM)
    thread.join(120)
    assert getattr(result["run"], "verdict", result["run"]) is Verdict.ACCEPTED
    assert process.wait(60) == 0


@pytest.mark.parametrize(
    "url, expected",
    [
        ("redis://:wrong-password@127.0.0.1:{port}/0", "refused the password"),
        ("redis://127.0.0.1:{port}/0", "needs a password"),
        ("redis://:x@127.0.0.1:{dead}/0", "cannot reach the queue"),
        ("http://127.0.0.1:{port}/0", "expected redis://"),
    ],
)
def test_bad_queue_urls_get_one_line_and_exit_3(redis_url: str, url: str, expected: str) -> None:
    port = redis_url.rsplit(":", 1)[1].split("/")[0]
    url = url.format(port=port, dead=free_port())
    done = subprocess.run(
        [sys.executable, "-m", "judge", "worker", "--queue", url],
        env=worker_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 3, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], done.stderr
    assert "wrong-password" not in done.stderr  # the password is never echoed


def cli_env(tmp_path: Path) -> dict[str, str]:
    return {
        "JUDGE_PROBLEMS_PATH": os.pathsep.join([str(QUEUE_PROBLEMS), str(TESTS / "fixtures" / "problems")]),
        "JUDGE_HOME": str(tmp_path / "home"),
    }


def test_verify_of_two_problems_through_the_queue_matches_local(
    redis_url: str, workers: Workers, tmp_path: Path
) -> None:
    import json

    from click.testing import CliRunner

    from judge.cli import cli

    workers.start(3)
    env = cli_env(tmp_path)
    common = ["verify", "queue-add", "toy-add", "--json", "--mutants", "0"]
    local = CliRunner().invoke(cli, [*common, "--backend", "local", "--jobs", "2"], env=env)
    queued = CliRunner().invoke(cli, [*common, "--queue", redis_url], env=env)
    assert local.exit_code == 0 and queued.exit_code == 0, (local.output, queued.output)
    by_label = lambda doc: {(c["problem"], c["label"]): c["actual"] for c in doc["checks"]}  # noqa: E731
    local_doc, queued_doc = json.loads(local.stdout), json.loads(queued.stdout)
    assert by_label(queued_doc) == by_label(local_doc)
    assert queued_doc["backend"] == "queue"


def test_takehome_grading_of_four_candidates_through_the_queue_matches_local(
    redis_url: str, workers: Workers, tmp_path: Path
) -> None:
    import json
    import shutil

    from click.testing import CliRunner

    from judge.cli import cli

    workers.start(3)
    env = cli_env(tmp_path)
    runner_ = CliRunner()
    made = runner_.invoke(
        cli, ["takehome", "create", "--problems", "queue-add,toy-add", "--out", str(tmp_path / "bundle")], env=env
    )
    assert made.exit_code == 0, made.output
    catalog = load_catalog([QUEUE_PROBLEMS, TESTS / "fixtures" / "problems"])
    toy = catalog.get("toy-add")
    answers = {
        "ana": ("def add(a, b):\n    return a + b\n", toy.reference.read_text()),  # both right
        "ben": ("def add(a, b):\n    return a - b\n", toy.reference.read_text()),  # one wrong
        "cy": (None, toy.wrong_solution("off_by_one.patch").source(toy.reference)),  # stub left, one wrong
        "dee": ("def add(a, b):\n    return b + a\n", None),  # toy-add left as the stub
    }
    folders = []
    for name, (queue_add, toy_add) in answers.items():
        folder = tmp_path / "returned" / name
        shutil.copytree(tmp_path / "bundle", folder)
        if queue_add is not None:
            (folder / "queue-add" / "queue_add.py").write_text(queue_add)
        if toy_add is not None:
            (folder / "toy-add" / "toy_add.py").write_text(toy_add)
        folders.append(str(folder))
    manifest = str(tmp_path / "bundle" / "takehome.json")
    local = runner_.invoke(
        cli,
        [
            "takehome",
            "grade",
            manifest,
            *folders,
            "--backend",
            "local",
            "--jobs",
            "2",
            "--json",
            "--report",
            str(tmp_path / "r1"),
        ],
        env=env,
    )
    queued = runner_.invoke(
        cli,
        ["takehome", "grade", manifest, *folders, "--queue", redis_url, "--json", "--report", str(tmp_path / "r2")],
        env=env,
    )
    assert local.exit_code == queued.exit_code, (local.output, queued.output)

    def cells(document: dict) -> dict:
        return {
            (c["name"], cell["problem"]): (cell["verdict"], cell["passed"])
            for c in document["candidates"]
            for cell in c["results"]
        }

    local_doc, queued_doc = json.loads(local.stdout), json.loads(queued.stdout)
    assert cells(queued_doc) == cells(local_doc)
    assert cells(local_doc)[("ben", "queue-add")][0] == "Wrong Answer"
    workers_seen = {cell["judged_by"] for c in queued_doc["candidates"] for cell in c["results"] if cell["verdict"]}
    assert workers_seen and all(w.endswith("(local)") for w in workers_seen)
    assert "judged by" in (tmp_path / "r2" / "report.md").read_text()
