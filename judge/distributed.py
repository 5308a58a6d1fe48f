"""Judging across machines: runs on a Redis queue (RQ), pulled by `judge worker`s.

The caller packs each run as it would send it into a box (the problem folder without wrong/,
the submission, the suite, the run's HMAC key) and enqueues it on one of three RQ queues,
highest priority first: interactive, takehome, verify. A worker owns a sandbox engine (or the
local backend) and pulls one run per slot at a time; it returns what its backend observed (an
`Execution`), and the caller checks the checker's signature with the run's own key, exactly as
for a run on its own machine, so a submission cannot forge a verdict on the way. Workers are
trusted: they see the key of every run they judge (docs/distributed.md).

Queue names carry the judge version and the harness's image tag, so a worker never pulls a run
packed by another version; a caller whose version no worker serves gets a clear error. A worker
keeps a heartbeat key alive while it runs; a run whose worker's heartbeat stops (SIGKILL, lost
machine) is enqueued once more, and a second loss comes back as Internal Error with the reason.
"""

from __future__ import annotations

import base64
import io
import json
import os
import socket
import tarfile
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

from judge import __version__
from judge.backends import Backend, BackendError
from judge.backends.base import Execution, Job, problem_files

QUEUE_ENV = "JUDGE_QUEUE"
PRIORITIES = ("interactive", "takehome", "verify")  # workers listen in this order
HEARTBEAT_S = 2.0  # a worker refreshes its heartbeat this often
HEARTBEAT_TTL_S = 10.0  # and a run is lost when its worker's heartbeat is older than this
NO_WORKER_S = 30.0  # a run nobody starts for this long, with no worker listening, is an error
RESULT_TTL_S = 3600
RUN_SLACK_S = 60.0  # on top of the run's own wall limit: container start, imports, transfer
POLL_S = 0.2
MAX_PAYLOAD_BYTES = 64 * 2**20


class QueueError(BackendError):
    """The queue cannot be used (unreachable, refused, no worker): one line, exit 3."""


def harness_tag() -> str:
    """The sandbox image tag this checkout builds: identifies the harness a run needs."""
    from judge.backends.docker.image import image_tag

    return image_tag()


def queue_names(version: str | None = None, tag: str | None = None) -> list[str]:
    """The RQ queue names for one judge version and harness, highest priority first."""
    version = version or __version__
    tag = (tag or harness_tag()).replace(":", "-")
    return [f"judge-{version}-{tag}-{priority}" for priority in PRIORITIES]


def redact(url: str) -> str:
    """The URL with its password replaced, for messages and reports."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def connect(url: str) -> Any:
    """A checked Redis connection for `url` (redis:// or rediss://); QueueError in one line otherwise."""
    import redis

    if urllib.parse.urlsplit(url).scheme not in ("redis", "rediss"):
        raise QueueError(
            f"--queue {redact(url)}: expected redis://[:password@]host:6379/0 or rediss://..., got {url!r}"
        )
    try:
        connection = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=30, health_check_interval=15)
        connection.ping()
    except redis.AuthenticationError as exc:
        if urllib.parse.urlsplit(url).password is None:
            raise QueueError(f"the queue {redact(url)} needs a password ({exc}); put it in the URL") from None
        raise QueueError(f"the queue {redact(url)} refused the password ({exc}); check the URL's password") from None
    except redis.ResponseError as exc:
        if "NOAUTH" in str(exc) or "auth" in str(exc).lower():
            raise QueueError(f"the queue {redact(url)} needs a password ({exc}); put it in the URL") from None
        raise QueueError(f"the queue {redact(url)} answered with an error: {exc}") from None
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        raise QueueError(f"cannot reach the queue {redact(url)}: {exc}; is redis-server running there?") from None
    return connection


# -- packing ------------------------------------------------------------------------------
def pack(job: Job) -> bytes:
    """One run as bytes: manifest.json and the problem folder (no wrong/ solutions)."""
    problem = job.problem
    manifest = {
        "judge_version": __version__,
        "harness": harness_tag(),
        "slug": problem.slug,
        "suite": job.suite,
        "key": job.key.hex(),
        "submission": job.submission.source,
        "submission_name": job.submission.path.name,
        "first_failure": job.first_failure,
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:

        def add(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o444
            tar.addfile(info, io.BytesIO(data))

        add("manifest.json", json.dumps(manifest).encode())
        for name, path in problem_files(problem):
            add(f"problems/{problem.slug}/{name}", path.read_bytes())
    data = buffer.getvalue()
    if len(data) > MAX_PAYLOAD_BYTES:
        raise QueueError(
            f"problem {problem.slug} packs to {len(data)} bytes; the queue takes at most {MAX_PAYLOAD_BYTES}"
        )
    return data


def unpack(payload: bytes, directory: Path) -> tuple[Job, dict[str, Any]]:
    """The Job a packed run stands for, its problem folder unpacked under `directory`."""
    from judge.catalog import load_problem
    from judge.staging import submission_from_source

    with tarfile.open(fileobj=io.BytesIO(payload), mode="r:gz") as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        tar.extractall(directory, filter="data")
    problem = load_problem(directory / "problems" / manifest["slug"])
    submission = submission_from_source(manifest["submission"], Path(manifest["submission_name"]))
    job = Job(
        problem, submission, manifest["suite"], bytes.fromhex(manifest["key"]), bool(manifest.get("first_failure"))
    )
    return job, manifest


# -- the worker side -----------------------------------------------------------------------
_WORKER: dict[str, Any] = {}  # the backend and name of this worker process, set by serve()


def heartbeat_key(worker_name: str) -> str:
    return f"judge:heartbeat:{worker_name}"


def judge_packed(payload: bytes) -> dict[str, Any]:
    """The RQ job: judge one packed run on this worker's backend; returns the Execution as plain data."""
    backend, name = _WORKER["backend"], _WORKER["name"]
    with tempfile.TemporaryDirectory(prefix="judge-queue-") as tmp:
        job, manifest = unpack(payload, Path(tmp))
        mine = (__version__, harness_tag())
        if (manifest["judge_version"], manifest["harness"]) != mine:
            raise RuntimeError(
                f"worker {name} refuses a run packed by judge {manifest['judge_version']} for harness "
                f"{manifest['harness']}: it runs judge {mine[0]} with harness {mine[1]}"
            )
        execution = backend.execute(job)
    return {
        "stdout": base64.b64encode(execution.stdout).decode(),
        "stderr_tail": execution.stderr_tail,
        "exit_code": execution.exit_code,
        "timed_out": execution.timed_out,
        "oom_killed": execution.oom_killed,
        "stdout_overflow": execution.stdout_overflow,
        "worker": f"{name} ({backend.name})",
    }


def _beat(connection: Any, name: str, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            connection.set(heartbeat_key(name), str(time.time()), px=int(HEARTBEAT_TTL_S * 1000))
        except Exception:  # a blip of the queue must not kill the worker; the TTL tells
            pass
        stop.wait(HEARTBEAT_S)


def serve(url: str, backend: Backend, *, name: str, burst: bool = False) -> None:
    """One slot: pull runs from this version's queues, highest priority first, until stopped (SIGTERM/SIGINT)."""
    from rq import SimpleWorker

    connection = connect(url)
    _WORKER.update(backend=backend, name=name)
    stop = threading.Event()
    beat = threading.Thread(target=_beat, args=(connection, name, stop), daemon=True)
    beat.start()
    try:
        worker = SimpleWorker(queue_names(), connection=connection, name=name)
        worker.work(burst=burst, logging_level="WARNING", with_scheduler=False)
    finally:
        stop.set()
        try:
            connection.delete(heartbeat_key(name))
        except Exception:  # the queue may be gone; the key expires by itself
            pass


def default_slots() -> int:
    return max(1, (os.cpu_count() or 2) // 2)


def worker_name(slot: int) -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{slot}"


# -- the caller side -----------------------------------------------------------------------
class QueueBackend:
    """A backend whose runs are judged by `judge worker`s on a Redis queue."""

    name = "queue"

    def __init__(self, url: str, *, priority: str = "verify") -> None:
        if priority not in PRIORITIES:
            raise ValueError(f"priority must be one of {PRIORITIES}, got {priority!r}")
        from rq import Queue

        self.url = url
        self.connection = connect(url)
        self.queue = Queue(queue_names()[PRIORITIES.index(priority)], connection=self.connection)
        self._live: set[str] = set()
        self._lock = threading.Lock()
        # (enqueue to start, finish to result) per finished run, seconds: the queue's own cost
        self.overheads: list[tuple[float, float]] = []
        self._aborting = False

    def workers(self) -> list[str]:
        """Names of the live workers (heartbeat fresh) listening on this version's queues now."""
        from rq import Worker

        names = set(queue_names())
        listening = [w.name for w in Worker.all(connection=self.connection) if names & set(w.queue_names())]
        return [name for name in listening if self.connection.exists(heartbeat_key(name))]

    def execute(self, job: Job) -> Execution:
        payload = pack(job)
        deadline_s = job.problem.limits.suite_backstop_s * 3 + RUN_SLACK_S
        lost: list[str] = []
        for _attempt in range(2):
            outcome = self._one_attempt(payload, deadline_s)
            if isinstance(outcome, Execution):
                return outcome
            lost.append(outcome)
        return Execution(
            stdout=b"",
            stderr_tail="the run was lost twice: " + "; ".join(lost),
            exit_code=None,
        )

    def _one_attempt(self, payload: bytes, deadline_s: float) -> Execution | str:
        """The run's Execution, or why this attempt was lost (its worker died, or it overran)."""
        from rq.job import JobStatus

        rq_job = self.queue.enqueue(
            judge_packed,
            payload,
            job_timeout=int(deadline_s),
            result_ttl=RESULT_TTL_S,
            failure_ttl=RESULT_TTL_S,
        )
        with self._lock:
            self._live.add(rq_job.id)
        try:
            queued_since = time.monotonic()
            started_at: float | None = None
            while True:
                if self._aborting:
                    raise QueueError("interrupted: the judge is exiting")
                rq_job.refresh()
                status = rq_job.get_status(refresh=False)
                if status == JobStatus.FINISHED:
                    value = rq_job.return_value()
                    self._record_overhead(rq_job)
                    return Execution(
                        stdout=base64.b64decode(value["stdout"]),
                        stderr_tail=value["stderr_tail"],
                        exit_code=value["exit_code"],
                        timed_out=value["timed_out"],
                        oom_killed=value["oom_killed"],
                        stdout_overflow=value["stdout_overflow"],
                        judged_by=value["worker"],
                    )
                if status in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
                    reason = _failure(rq_job)
                    return Execution(stdout=b"", stderr_tail=reason, exit_code=None, judged_by=rq_job.worker_name or "")
                if status == JobStatus.STARTED:
                    started_at = started_at or time.monotonic()
                    name = rq_job.worker_name or ""
                    if name and not self.connection.exists(heartbeat_key(name)):
                        self._drop(rq_job)
                        return f"worker {name} stopped answering mid-run"
                    if time.monotonic() - started_at > deadline_s:
                        self._drop(rq_job)
                        return f"worker {name} ran past the run's deadline of {deadline_s:.0f} s"
                elif time.monotonic() - queued_since > NO_WORKER_S and not self.workers():
                    self._drop(rq_job)
                    raise QueueError(
                        f"no `judge worker` for judge {__version__} (harness {harness_tag()}) is listening on "
                        f"{redact(self.url)}; start one with `judge worker --queue URL`"
                    )
                time.sleep(POLL_S)
        finally:
            with self._lock:
                self._live.discard(rq_job.id)

    def _record_overhead(self, rq_job: Any) -> None:
        from rq.utils import now

        if rq_job.enqueued_at and rq_job.started_at and rq_job.ended_at:
            waited = (rq_job.started_at - rq_job.enqueued_at).total_seconds()
            returned = (now() - rq_job.ended_at).total_seconds()
            with self._lock:
                self.overheads.append((waited, returned))

    def _drop(self, rq_job: Any) -> None:
        try:
            rq_job.cancel()
        except Exception:  # already gone or finished meanwhile
            pass

    def abort_all(self) -> None:
        """Ctrl-C: cancel queued runs and stop running ones (their workers remove the boxes)."""
        from rq.command import send_stop_job_command
        from rq.job import Job as RQJob

        self._aborting = True
        with self._lock:
            live = list(self._live)
        for job_id in live:
            try:
                job = RQJob.fetch(job_id, connection=self.connection)
                if job.get_status() == "started":
                    send_stop_job_command(self.connection, job_id)
                else:
                    job.cancel()
            except Exception:  # best effort on the way out
                pass


def _failure(rq_job: Any) -> str:
    """The last line of a failed job's traceback: the worker's reason, e.g. a version refusal."""
    rq_job.refresh()
    result = rq_job.latest_result()
    text = (getattr(result, "exc_string", None) or "").strip()
    last = text.splitlines()[-1] if text else f"the run {rq_job.get_status()} on worker {rq_job.worker_name}"
    return f"worker {rq_job.worker_name or '?'}: {last}"
