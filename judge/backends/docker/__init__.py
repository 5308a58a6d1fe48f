"""The docker backend: every run in a fresh, locked-down container of the sandbox image.

Per run: a new container (labelled, removed in every case, leftovers of crashed runs removed
when the next backend connects); no network; a read-only root; two capped tmpfs, /judge for
the checker (CHECKER_UID) and /tmp for the worker (WORKER_UID); no capability but the four in
CHECKER_CAPS, which sandbox/entrypoint.py keeps for the checker only, with no-new-privileges; a
pids limit, memory with swap equal to memory, a CPU quota, nofile/fsize/core ulimits, an empty
environment. The run (spec, problem files, submission, driver) goes in as one tar on stdin;
the checker's signed result comes back on stdout. The host enforces the suite's wall-clock
backstop and caps what it reads while it streams. Every limit is defined in limits.py; docs/sandbox.md
explains each choice.
"""

from __future__ import annotations

import io
import json
import os
import socket
import struct
import sys
import tarfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from judge.backends import BackendError
from judge.backends.base import RESULT_STDOUT_LIMIT, Execution, Job, ProgressScanner, checker_spec, problem_files
from judge.backends.docker import warm
from judge.backends.docker.image import SandboxError, engine, image_tag
from judge.backends.docker.limits import (
    CHECKER_CAPS,
    CHECKER_MEMORY_MB,
    CHECKER_UID,
    FSIZE_BYTES,
    JUDGE_MB,
    JUDGE_MODE,
    MAX_RUN_BYTES,
    NOFILE,
    PIDS_LIMIT,
    PRELOAD_ENV,
    SHM_MB,
    TMP_MB,
    TMP_MODE,
    WORKER_UID,
)

LABEL_RUN = "judge.sandbox.run"
LABEL_OWNER = "judge.sandbox.owner"
WALL_SLACK_S = 30.0  # container start, checker start-up and finishing on top of the suite's wall backstop (the checker keeps that one)
BOX_GRACE_S = 30.0  # the box ends itself this long after the host should have stopped it
STDERR_TAIL = 8192
LEFTOVER_AGE_S = 6 * 3600  # a container of another host's judge is stale after this
POLL_S = 0.25
CPUS_ENV = "JUDGE_SANDBOX_CPUS"


def _process_start(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return "?"


def owner_label() -> str:
    """host:pid:start-time of this judge process, so a later judge can tell whether it is gone."""
    return f"{socket.gethostname()}:{os.getpid()}:{_process_start(os.getpid())}"


def _owner_alive(owner: str) -> bool | None:
    """True/False for a judge on this host; None when it ran elsewhere (only its age can tell)."""
    host, _, rest = owner.partition(":")
    pid, _, start = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    return Path(f"/proc/{pid}").exists() and _process_start(int(pid)) == start


def remove_leftovers(client: Any) -> list[str]:
    """Remove sandbox containers whose judge is gone (a crash, a kill -9). Returns their names."""
    removed = []
    # sparse: the list call's own data (labels, creation time), no inspect per container, which
    # another judge's run ending between the list and the inspect would turn into NotFound
    for container in client.containers.list(all=True, filters={"label": LABEL_RUN}, sparse=True):
        alive = _owner_alive((container.attrs.get("Labels") or {}).get(LABEL_OWNER, ""))
        if alive is None:
            created = datetime.fromtimestamp(container.attrs["Created"], UTC)  # the list API gives epoch seconds
            alive = (datetime.now(UTC) - created).total_seconds() < LEFTOVER_AGE_S
        if not alive:
            remove_container(container)
            removed.append(container.attrs["Names"][0].lstrip("/"))
    host = socket.gethostname()
    for container in warm.claimed_by_dead_judges(client, lambda pid, start: _owner_alive(f"{host}:{pid}:{start}")):
        remove_container(container)
        removed.append(container.attrs["Names"][0].lstrip("/"))
    return removed


def remove_container(container: Any) -> None:
    """Remove a container, running or not; one already gone (or going) is fine."""
    import docker

    try:
        container.remove(force=True)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as exc:
        if exc.status_code != 409:  # 409: removal already in progress
            raise


def device_requests(gpus: str | None) -> list[Any]:
    """`--gpus all`, `--gpus 2` or `--gpus 0,1` as Docker device requests."""
    if not gpus:
        return []
    from docker.types import DeviceRequest

    if gpus == "all":
        return [DeviceRequest(count=-1, capabilities=[["gpu"]])]
    if gpus.isdigit():
        return [DeviceRequest(count=int(gpus), capabilities=[["gpu"]])]
    return [DeviceRequest(device_ids=gpus.split(","), capabilities=[["gpu"]])]


def run_archive(job: Job, spec: dict[str, Any]) -> bytes:
    """The tar the box reads on stdin: spec.json, problem/, submission/<module>.py, driver/driver.py."""
    buffer = io.BytesIO()

    def add(name: str, data: bytes) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.mode = len(data), 0o444
        tar.addfile(info, io.BytesIO(data))

    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        add("spec.json", json.dumps(spec).encode())
        problem = job.problem
        for name, path in problem_files(problem):
            add(f"problem/{name}", path.read_bytes())
        add(f"submission/{problem.module_name}.py", job.submission.source.encode("utf-8"))
        if problem.driver:
            add("driver/driver.py", problem.driver.read_bytes())
    data = buffer.getvalue()
    if len(data) > MAX_RUN_BYTES:
        raise BackendError(
            f"problem {problem.slug} is {len(data)} bytes packed; the sandbox takes at most {MAX_RUN_BYTES}"
        )
    return data


class StreamReader:
    """Demultiplexes Docker's attach stream (8-byte frame headers); keeps stdout up to a cap, stderr's tail."""

    def __init__(self, stdout_limit: int, scanner: ProgressScanner | None = None) -> None:
        self.stdout_limit = stdout_limit
        self.scanner = scanner or ProgressScanner(None)
        self.stdout = bytearray()
        self.stderr = bytearray()
        self.overflow = False
        self.pending = bytearray()

    def feed(self, chunk: bytes) -> None:
        self.pending += chunk
        while len(self.pending) >= 8:
            stream, size = self.pending[0], struct.unpack(">I", self.pending[4:8])[0]
            if len(self.pending) < 8 + size:
                return
            payload = bytes(self.pending[8 : 8 + size])
            del self.pending[: 8 + size]
            if stream == 1:
                room = self.stdout_limit - len(self.stdout)
                self.stdout += payload[: max(room, 0)]
                self.overflow = self.overflow or len(payload) > room
            else:
                self.stderr += self.scanner.feed(payload)
                del self.stderr[:-STDERR_TAIL]

    def result_ended(self) -> bool:
        """The checker's result line has arrived whole: it is the last thing a box writes."""
        if not self.stdout.endswith(b"\n"):
            return False
        last = self.stdout[self.stdout.rfind(b"\n", 0, len(self.stdout) - 1) + 1 :]
        return last.startswith(b'{"result": ')


class DockerBackend:
    name = "docker"

    def __init__(
        self,
        image: str,
        *,
        gpus: str | None = None,
        cpus: float = 2.0,
        client: Any = None,
        warm_boxes: bool | None = None,
        engine_cpus: float | None = None,
    ) -> None:
        """`client`: an engine client for this thread (others connect their own); None connects on first use.

        `warm_boxes`: claim and leave warm boxes (warm.py); None: the user's setting (on by default).
        `engine_cpus`: the cores of the engine's machine, which a spread run divides its tests over (default `cpus`).
        """
        self.image = image
        self.gpus = gpus
        self.cpus = cpus  # each box's CPU quota
        self.engine_cpus = engine_cpus or cpus  # the engine's machine: how many boxes a run may spread over
        self.owner = owner_label()
        self._local = threading.local()
        if client is not None:
            self._local.client = client
        self._live: set[Any] = set()  # containers running now, for abort_all
        self.warm = warm.enabled() if warm_boxes is None else warm_boxes
        self._live_lock = threading.Lock()
        self._aborting = False
        # Ctrl-C during `verify --jobs N` leaves runs going in pool threads, and the interpreter
        # joins those threads before it exits; this hook runs first and kills their containers,
        # so each thread ends at once and removes its own. (concurrent.futures uses the same hook.)
        register = getattr(threading, "_register_atexit", None)
        if register is not None:
            register(self.abort_all)

    def abort_all(self) -> None:
        """Kill every container this backend is running now; their runs end as interrupted."""
        self._aborting = True
        with self._live_lock:
            live = list(self._live)
        for container in live:
            _kill(container)

    # -- connecting ------------------------------------------------------------------
    @classmethod
    def connect(cls, gpus: str | None = None) -> DockerBackend:
        """The backend for the current checkout's image; BackendError says what to do when it cannot run."""
        try:
            client = engine()
        except SandboxError as exc:
            raise BackendError(str(exc)) from None
        return cls._ready(client, gpus)

    @classmethod
    def try_connect(cls, gpus: str | None = None) -> DockerBackend | None:
        """None when no engine answers; an engine without the image is still an error (build it)."""
        try:
            client = engine()
        except SandboxError:
            return None
        return cls._ready(client, gpus)

    @classmethod
    def _ready(cls, client: Any, gpus: str | None) -> DockerBackend:
        import docker

        tag = image_tag()
        try:
            client.images.get(tag)
        except docker.errors.ImageNotFound:
            raise BackendError(
                f"the sandbox image {tag} is not built for this checkout (expected after `judge sandbox build`, "
                "got no such image); run `judge sandbox build` (or `judge sandbox build --no-registry` without a registry)"
            ) from None
        info = client.info()
        runtimes = info.get("Runtimes", {})
        if gpus and "nvidia" not in runtimes:
            raise BackendError(
                f"--gpus {gpus} asks for GPUs, but this Docker engine has no GPU runtime (expected the NVIDIA Container "
                f"Toolkit's `nvidia` runtime, got runtimes: {', '.join(runtimes) or 'none'}); install the toolkit or drop --gpus"
            )
        remove_leftovers(client)
        engine_cpus = float(info.get("NCPU", 2))
        cpus = float(os.environ.get(CPUS_ENV) or min(2.0, engine_cpus))
        return cls(tag, gpus=gpus, cpus=min(cpus, engine_cpus), client=client, engine_cpus=engine_cpus)

    def _client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = engine()
        return client

    # -- one run ---------------------------------------------------------------------
    def container_config(self, slug: str, memory_mb: int, preload: tuple[str, ...] = ("torch",)) -> dict[str, Any]:
        """Keyword arguments of containers.create for a run of problem `slug`: every hardening setting.

        `preload` (the problem's) is the one thing the box learns before its run: the entry point
        imports those modules and forks the workers' zygote before it reads stdin.
        """
        from docker.types import LogConfig, Ulimit

        memory = (memory_mb + CHECKER_MEMORY_MB + TMP_MB) * 2**20
        return {
            "image": self.image,
            "labels": {LABEL_RUN: "1", LABEL_OWNER: self.owner, "judge.sandbox.problem": slug},
            "stdin_open": True,  # with StdinOnce: closing our end of the attach closes the box's stdin
            "tty": False,
            "environment": {PRELOAD_ENV: ",".join(preload)},
            "hostname": "sandbox",
            "network_mode": "none",
            "read_only": True,
            "tmpfs": {
                "/judge": f"rw,nosuid,nodev,noexec,size={JUDGE_MB}m,uid={CHECKER_UID},gid={CHECKER_UID},mode={JUDGE_MODE:04o}",
                "/tmp": f"rw,nosuid,nodev,noexec,size={TMP_MB}m,uid={WORKER_UID},gid={WORKER_UID},mode={TMP_MODE:04o}",
            },
            "shm_size": f"{SHM_MB}m",
            "user": "0:0",  # only until the entry point drops to the checker uid
            "cap_drop": ["ALL"],
            "cap_add": list(CHECKER_CAPS),  # kept by the checker only; see sandbox/entrypoint.py
            "security_opt": ["no-new-privileges"],
            "pids_limit": PIDS_LIMIT,
            "mem_limit": memory,
            "memswap_limit": memory,
            "nano_cpus": int(self.cpus * 1e9),
            "ulimits": [
                Ulimit(name="nofile", soft=NOFILE, hard=NOFILE),
                Ulimit(name="fsize", soft=FSIZE_BYTES, hard=FSIZE_BYTES),
                Ulimit(name="core", soft=0, hard=0),
            ],
            "log_config": LogConfig(type="none"),
            "device_requests": device_requests(self.gpus),
        }

    def execute(self, job: Job) -> Execution:
        problem = job.problem
        wall_s = problem.limits.suite_backstop_s + WALL_SLACK_S
        spec = checker_spec(
            job,
            problem_dir="/judge/problem",
            submission=f"/judge/submission/{problem.module_name}.py",
            driver="/judge/driver/driver.py" if problem.driver else None,
            worker_cwd="/tmp",
            worker_user=[WORKER_UID, WORKER_UID],
            isolate=False,  # the container has its own network and mount isolation
            box={"checker_uid": CHECKER_UID, "checker_gid": CHECKER_UID, "deadline_s": wall_s + BOX_GRACE_S},
        )
        config = self.container_config(problem.slug, problem.limits.memory_mb, problem.preload)
        archive = run_archive(job, spec)
        if not self.warm:
            return self.run_container(config, archive, wall_s, job.progress)
        import docker

        key = warm.config_key(config)
        try:
            box = warm.claim(self._client(), key, warm.claimed_name(os.getpid(), _process_start(os.getpid())))
        except docker.errors.APIError:
            box = None
        try:
            if box is None:
                return self.run_container(config, archive, wall_s, job.progress)
            try:
                execution = self.stream(box, archive, time.monotonic() + wall_s, claimed=True, progress=job.progress)
            except docker.errors.NotFound:
                execution = None  # it expired and was removed between the claim and the attach
            except BaseException:  # Ctrl-C, a backend error: gone before this returns
                remove_container(box)
                raise
            self._remove_soon(box)
            expired = execution is None or (
                not execution.stdout
                and execution.exit_code in (warm.EXIT_EXPIRED, None)
                and not (execution.timed_out or execution.oom_killed)
            )
            # it gave up waiting as we claimed it, before reading the run, or something outside the
            # run killed it (not the kernel for memory, not our deadline): judge in a cold box
            if expired or execution.killed_outside:
                return self.run_container(config, archive, wall_s, job.progress)
            return execution
        finally:
            self._leave_warm(config, key, job.shard[1])

    def _leave_warm(self, config: dict[str, Any], key: str, want: int = 1) -> None:
        """Start the next run's box in the background (the interpreter waits for it at exit)."""

        def leave() -> None:
            if self._aborting:
                return
            try:
                warm.leave(engine(), config, key, want)
            except Exception as exc:  # a missing warm box only costs the next run a cold start
                print(f"judge: could not leave a warm sandbox box: {exc}", file=sys.stderr)

        self._in_background(leave, "judge-warm-box")

    def _remove_soon(self, container: Any) -> None:
        """Remove a box whose run is over without making the verdict wait for the engine (the
        interpreter waits for it at exit)."""

        def remove() -> None:
            try:
                remove_container(container)
                _await_removal(container)
            except Exception as exc:  # a leftover is removed by the next judge to connect
                print(f"judge: could not remove sandbox box {container.name}: {exc}", file=sys.stderr)

        self._in_background(remove, "judge-remove-box")

    def _in_background(self, work: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=work, name=name)  # not a daemon: the interpreter waits for it
        thread.start()
        with _BACKGROUND_LOCK:
            _BACKGROUND[:] = [t for t in _BACKGROUND if t.is_alive()] + [thread]

    def wait_for_warm_boxes(self, timeout: float = 30.0) -> None:
        """Block until the boxes being left have started and the finished ones are gone (tests, benchmarks)."""
        wait_for_background(timeout)

    def run_container(
        self, config: dict[str, Any], stdin: bytes, wall_s: float, progress: Callable[[dict], None] | None = None
    ) -> Execution:
        """Create a container from `config` (container_config's, perhaps adjusted), stream it, remove it."""
        import docker

        try:
            container = self._client().containers.create(**config)
        except docker.errors.APIError as exc:
            raise BackendError(_explain(exc, self.gpus)) from None
        try:
            execution = self.stream(container, stdin, time.monotonic() + wall_s, progress=progress)
        except BaseException:  # Ctrl-C, a backend error: gone before this returns
            remove_container(container)
            raise
        self._remove_soon(container)
        return execution

    def stream(
        self,
        container: Any,
        stdin: bytes,
        deadline: float,
        claimed: bool = False,
        progress: Callable[[dict], None] | None = None,
    ) -> Execution:
        """Start `container`, feed it `stdin`, read its output until it ends or `deadline` (then kill it).

        `claimed`: a warm box, already started and waiting for stdin; Docker removes it when it
        ends (auto-remove), so its exit status is waited for from the start.
        """
        import docker

        client = self._client()
        attached = client.api.attach_socket(container.id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
        sock = getattr(attached, "_sock", attached)
        exit_watch = _ExitWatch(container.id) if claimed else None  # subscribed before the box can end
        if claimed:  # a warm box that gave up waiting before the attach would never answer it
            try:
                container.reload()
                running = container.status == "running"
            except docker.errors.NotFound:
                running = False
            if not running:
                _close_attach(attached)
                exit_watch.close()
                raise docker.errors.NotFound(f"warm box {container.name} ended before its run arrived")
        reader = StreamReader(RESULT_STDOUT_LIMIT, ProgressScanner(progress))
        timed_out = ended = False
        with self._live_lock:
            self._live.add(container)
        try:
            try:
                if not claimed:
                    container.start()
            except docker.errors.APIError as exc:
                raise BackendError(_explain(exc, self.gpus)) from None
            try:
                sock.settimeout(max(1.0, deadline - time.monotonic()))
                sock.sendall(stdin)
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass  # the box ended before reading it all; its exit code and stderr say why
            sock.settimeout(POLL_S)
            while True:
                if time.monotonic() > deadline:
                    timed_out = True
                    break
                if self._aborting:
                    raise BackendError("interrupted: the judge is exiting")
                try:
                    chunk = sock.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    break
                if not chunk:
                    break
                reader.feed(chunk)
                ended = reader.result_ended()
                if reader.overflow or ended:
                    break
        finally:
            _close_attach(attached)
            with self._live_lock:
                self._live.discard(container)
        if timed_out or reader.overflow:
            _kill(container)
        killed_outside = False
        if ended:  # the whole result is in: the box's exit can tell nothing more
            if exit_watch is not None:
                exit_watch.close()
            exit_code, oom = None, False
        elif exit_watch is not None:
            # auto-removed, so no State to read: the engine's events say whether the kernel killed it
            # for memory; a SIGKILL that is neither that nor our own kill came from outside
            exit_code, oom = exit_watch.result(timeout_s=30)
            oom = oom and not timed_out
            killed_outside = exit_code == 137 and not oom and not timed_out and not reader.overflow
        else:
            status = container.wait(timeout=30)
            container.reload()
            exit_code = status.get("StatusCode")
            oom = bool(container.attrs["State"].get("OOMKilled")) and exit_code != 0 and not timed_out
        return Execution(
            stdout=bytes(reader.stdout),
            stderr_tail=bytes(reader.stderr).decode("utf-8", "replace"),
            exit_code=exit_code,
            timed_out=timed_out,
            oom_killed=oom,
            stdout_overflow=reader.overflow,
            killed_outside=killed_outside,
        )


_BACKGROUND: list[threading.Thread] = []  # every backend's warm boxes being started and boxes being removed
_BACKGROUND_LOCK = threading.Lock()


def wait_for_background(timeout: float = 30.0) -> None:
    """Block until the boxes being left have started and those whose run is over are removed."""
    with _BACKGROUND_LOCK:
        pending = list(_BACKGROUND)
    for thread in pending:
        thread.join(timeout)


def _close_attach(attached: Any) -> None:
    # The HTTP response the socket came from first: closed after its socket, it flushes a closed
    # stream when collected, and Python 3.13 prints that ValueError at exit.
    response = getattr(attached, "_response", None)
    if response is not None:
        try:
            response.close()
        except (OSError, ValueError):
            pass
    attached.close()


def _await_removal(container: Any, timeout_s: float = 30.0) -> None:
    """An auto-removed box is still listed while the engine removes it; the run ends when it is gone."""
    import docker

    try:
        container.wait(condition="removed", timeout=timeout_s)
    except (docker.errors.APIError, OSError, ValueError):
        pass  # gone already (NotFound), or the engine is slow: leftovers are removed on the next connect
    except Exception as exc:  # requests' ReadTimeout
        if "timed out" not in str(exc).lower():
            raise


class _ExitWatch:
    """How a claimed warm box ended, from the engine's events: its exit code, and whether the
    kernel OOM-killed it (an auto-removed box leaves no State to read afterwards).

    Subscribed before the run is sent, so no event is missed; read in a thread until the box's
    `die` event. Where the engine gives no events, the thread waits for the exit code instead.
    """

    def __init__(self, container_id: str) -> None:
        self.exit_code: int | None = None
        self.oom = False
        self._done = threading.Event()
        try:
            self._stream = engine().api.events(
                filters={"container": container_id, "event": ["oom", "die"]}, decode=True
            )
        except Exception:
            self._stream = None
        threading.Thread(target=self._read, args=(container_id,), name="judge-box-exit", daemon=True).start()

    def _read(self, container_id: str) -> None:
        try:
            if self._stream is None:
                self.exit_code = engine().api.wait(container_id).get("StatusCode")
                return
            for event in self._stream:
                action = event.get("Action") or event.get("status")
                if action == "oom":
                    self.oom = True
                elif action == "die":
                    code = (event.get("Actor") or {}).get("Attributes", {}).get("exitCode")
                    self.exit_code = int(code) if code is not None else None
                    break
        except Exception:
            pass  # closed, removed before the wait, or the engine went away: the exit is unknown
        finally:
            self._done.set()
            self.close()

    def result(self, timeout_s: float) -> tuple[int | None, bool]:
        """(exit code or None, OOM-killed), once the box has ended (at most `timeout_s` from now)."""
        self._done.wait(timeout_s)
        self.close()
        return self.exit_code, self.oom

    def close(self) -> None:
        if self._stream is not None:
            try:
                self._stream.close()
            except Exception:
                pass


def _kill(container: Any) -> None:
    import docker

    try:
        container.kill()
    except docker.errors.APIError:
        pass  # it already stopped


def _explain(exc: Exception, gpus: str | None) -> str:
    text = str(getattr(exc, "explanation", None) or exc)
    if gpus and ("device driver" in text or "gpu" in text.lower()):
        return f"--gpus {gpus}: the engine could not give the sandbox GPUs ({text}); check `nvidia-smi` and the NVIDIA Container Toolkit"
    return f"the Docker engine refused the sandbox container: {text}"
