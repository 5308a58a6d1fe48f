"""The docker backend, the image library and `judge sandbox`: unit tests, then tests against a real engine.

Tests marked `docker` skip without an engine and the image, and fail under CI=true.
The attacks on the sandbox are in tests/adversarial/.
"""

from __future__ import annotations

import _thread
import ast
import importlib.util
import io
import json
import os
import re
import signal
import struct
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from judge import runner
from judge.backends import BackendError
from judge.backends import docker as docker_backend_module
from judge.backends.base import Job
from judge.backends.docker import (
    CHECKER_UID,
    LABEL_OWNER,
    LABEL_RUN,
    WORKER_UID,
    DockerBackend,
    StreamReader,
    device_requests,
    limits,
    owner_label,
    run_archive,
    warm,
)
from judge.backends.docker import image as sandbox_image
from judge.catalog import load_problem
from judge.cli import cli
from judge.staging import read_submission, submission_from_source
from judge_harness.schema import Verdict
from tests.conftest import toy_wrong_source
from tests.sandbox_support import (  # noqa: F401 - fixtures
    PROBE_PROBLEM,
    containers_of_process,
    docker_backend,
    own_containers,
    probe_problem,
    signal_once_boxed,
)

TOY = Path(__file__).parent / "fixtures" / "problems" / "toy-add"
ENTRYPOINT = Path(__file__).resolve().parents[1] / "sandbox" / "entrypoint.py"


def frame(stream: int, payload: bytes) -> bytes:
    return bytes([stream, 0, 0, 0]) + struct.pack(">I", len(payload)) + payload


def job_for(problem_dir: Path, submission: Path, suite: str = "hidden") -> Job:
    return Job(load_problem(problem_dir), read_submission(submission), suite, b"k" * 32)


# -- without an engine ------------------------------------------------------------------


def test_stream_reader_demultiplexes_frames_split_anywhere() -> None:
    data = frame(1, b"result line\n") + frame(2, b"pytest says hi\n") + frame(1, b"more")
    reader = StreamReader(stdout_limit=1024)
    for i in range(0, len(data), 3):  # frames cut at arbitrary points
        reader.feed(data[i : i + 3])
    assert bytes(reader.stdout) == b"result line\nmore"
    assert bytes(reader.stderr) == b"pytest says hi\n"
    assert not reader.overflow


def test_stream_reader_caps_stdout_and_keeps_the_stderr_tail() -> None:
    reader = StreamReader(stdout_limit=10)
    reader.feed(frame(1, b"x" * 8) + frame(1, b"y" * 8) + frame(2, b"e" * 20000))
    assert bytes(reader.stdout) == b"x" * 8 + b"yy"
    assert reader.overflow
    assert len(reader.stderr) == docker_backend_module.STDERR_TAIL


def test_run_archive_holds_the_run_and_nothing_else(tmp_path: Path) -> None:
    job = job_for(TOY, TOY / "reference.py")
    spec = {"key": "00", "problem": "toy-add"}
    with tarfile.open(fileobj=io.BytesIO(run_archive(job, spec))) as tar:
        names = set(tar.getnames())
        assert json.loads(tar.extractfile("spec.json").read()) == spec
        assert tar.extractfile("submission/toy_add.py").read().decode() == job.submission.source
        assert all(member.mode == 0o444 for member in tar.getmembers())
    assert {"problem/test_hidden.py", "problem/test_public.py", "problem/problem.toml"} <= names
    assert not any(name.startswith("problem/wrong") for name in names), "known-wrong solutions stay on the host"


def test_container_config_hardens_every_run() -> None:
    config = DockerBackend("judge-sandbox:test", cpus=1.5).container_config("toy-add", memory_mb=512)
    assert config["network_mode"] == "none"
    assert config["read_only"] is True
    assert config["cap_drop"] == ["ALL"] and sorted(config["cap_add"]) == ["DAC_OVERRIDE", "KILL", "SETGID", "SETUID"]
    assert config["security_opt"] == ["no-new-privileges"]
    assert config["environment"] == {limits.PRELOAD_ENV: "torch"}  # nothing of the run: it arrives on stdin
    assert DockerBackend("judge-sandbox:test").container_config("plain", 512, preload=())["environment"] == {
        limits.PRELOAD_ENV: ""
    }
    assert config["memswap_limit"] == config["mem_limit"] > 512 * 2**20
    assert config["pids_limit"] > 0 and config["nano_cpus"] == 1_500_000_000
    assert {u["Name"] for u in config["ulimits"]} >= {"nofile", "fsize", "core"}
    assert f"uid={CHECKER_UID}" in config["tmpfs"]["/judge"] and "mode=0711" in config["tmpfs"]["/judge"]
    assert f"uid={WORKER_UID}" in config["tmpfs"]["/tmp"] and "size=" in config["tmpfs"]["/tmp"]
    assert config["labels"][LABEL_RUN] == "1" and config["labels"][LABEL_OWNER] == owner_label()
    assert config["device_requests"] == []


def _entrypoint_constants() -> dict[str, object]:
    """The entry point's module-level constants, evaluated from its source (it runs in the box and cannot import judge)."""
    tree = ast.parse(ENTRYPOINT.read_text())
    values: dict[str, object] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                values[node.targets[0].id] = eval(compile(ast.Expression(node.value), "entrypoint", "eval"), {}, values)
            except NameError:
                continue  # refers to something not a plain constant
    return values


def test_the_entrypoint_keeps_exactly_the_capabilities_and_sizes_of_limits() -> None:
    constants = _entrypoint_constants()
    assert {name: constants[f"CAP_{name}"] for name in limits.CHECKER_CAPS} == limits.CAPABILITY_NUMBERS
    assert sorted(constants["CHECKER_CAPS"]) == sorted(limits.CAPABILITY_NUMBERS.values())
    assert constants["MAX_RUN_BYTES"] == limits.MAX_RUN_BYTES
    assert constants["PRELOAD_ENV"] == limits.PRELOAD_ENV
    assert f"os.chmod(JUDGE_ROOT, 0o{limits.JUDGE_MODE:o})" in ENTRYPOINT.read_text()
    assert limits.capability_mask() == f"{sum(1 << n for n in constants['CHECKER_CAPS']):016x}"


def test_the_dockerfile_makes_the_users_and_modes_of_limits() -> None:
    text = (ENTRYPOINT.parent / "Dockerfile").read_text()
    users = dict(re.findall(r"echo '(judge-\w+):x:(\d+):\d+:[^']*' >> /etc/passwd", text))
    assert {name: int(uid) for name, uid in users.items()} == {
        "judge-checker": limits.CHECKER_UID,
        "judge-worker": limits.WORKER_UID,
    }
    uid, gid = limits.CHECKER_UID, limits.CHECKER_UID
    assert f"chown {uid}:{gid} /judge; chmod {limits.JUDGE_MODE:04o} /judge" in text
    uid = limits.WORKER_UID
    assert f"chown {uid}:{uid} /tmp; chmod {limits.TMP_MODE:04o} /tmp" in text


def test_device_requests_follow_the_gpus_forms() -> None:
    assert device_requests(None) == []
    assert device_requests("all")[0]["Count"] == -1
    assert device_requests("2")[0]["Count"] == 2
    assert device_requests("0,1")[0]["DeviceIDs"] == ["0", "1"]


def test_owner_label_tells_live_from_dead_judges() -> None:
    assert docker_backend_module._owner_alive(owner_label()) is True
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = f"{owner_label().split(':')[0]}:{done.stdout.strip()}:1"
    assert docker_backend_module._owner_alive(dead) is False
    assert docker_backend_module._owner_alive("elsewhere:1:1") is None


def test_image_tag_follows_the_harness(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JUDGE_SANDBOX_IMAGE", raising=False)
    harness = tmp_path / "judge_harness"
    harness.mkdir()
    (harness / "checker.py").write_text("A = 1\n")
    monkeypatch.setattr(sandbox_image, "HARNESS_DIR", harness)
    before = sandbox_image.image_tag()
    (harness / "checker.py").write_text("A = 2\n")
    assert sandbox_image.image_tag() != before
    assert before.startswith("judge-sandbox:")
    monkeypatch.setenv("JUDGE_SANDBOX_IMAGE", "mine:1")
    assert sandbox_image.image_tag() == "mine:1"


def _load_entrypoint():
    spec = importlib.util.spec_from_file_location("sandbox_entrypoint", ENTRYPOINT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tar(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_entrypoint_unpacks_with_the_modes_that_split_checker_and_worker(tmp_path: Path) -> None:
    entry = _load_entrypoint()
    archive = _tar(
        {"spec.json": b"{}", "problem/test_hidden.py": b"x", "submission/m.py": b"y", "driver/driver.py": b"z"}
    )
    assert entry.unpack(archive, str(tmp_path)) == "{}"
    assert not (tmp_path / "spec.json").exists(), "the spec (it holds the key) never touches the disk"
    assert (tmp_path / "problem").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "submission").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "submission" / "m.py").stat().st_mode & 0o777 == 0o444


@pytest.mark.parametrize("name", ["../escape.py", "/etc/x", "other/x.py"])
def test_entrypoint_refuses_entries_outside_the_run(tmp_path: Path, name: str) -> None:
    entry = _load_entrypoint()
    with pytest.raises(entry.BoxError):
        entry.unpack(_tar({"spec.json": b"{}", name: b"x"}), str(tmp_path))


def test_sandbox_commands_have_help() -> None:
    for args in (["sandbox"], ["sandbox", "build"], ["sandbox", "doctor"]):
        result = CliRunner().invoke(cli, [*args, "--help"])
        assert result.exit_code == 0, result.output
        assert "Example" in result.output


def test_without_an_engine_connect_fails_and_try_connect_gives_none(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    assert DockerBackend.try_connect() is None
    with pytest.raises(BackendError, match="no Docker engine answered"):
        DockerBackend.connect()
    doctor = CliRunner().invoke(cli, ["sandbox", "doctor", "--json"])
    assert doctor.exit_code == 1
    assert json.loads(doctor.output)["findings"][0]["ok"] is False
    build = CliRunner().invoke(cli, ["sandbox", "build"])
    assert build.exit_code == 3 and "no Docker engine answered" in build.output  # a sandbox error, as the README says


# -- against a real engine --------------------------------------------------------------


@pytest.mark.docker
def test_reference_is_accepted_and_stub_rejected_in_the_box(docker_backend, probe_problem) -> None:  # noqa: F811
    accepted = runner.run(probe_problem, probe_problem.reference, "hidden", docker_backend)
    assert accepted.verdict is Verdict.ACCEPTED, accepted.message
    assert accepted.backend == "docker" and accepted.passed == 2
    stub = runner.run(probe_problem, probe_problem.stub, "hidden", docker_backend)
    assert stub.verdict is Verdict.RUNTIME_ERROR


@pytest.mark.docker
def test_torch_problem_with_records_and_callbacks_in_the_box(docker_backend) -> None:  # noqa: F811
    problem = load_problem(TOY)
    result = runner.run(problem, problem.reference, "hidden", docker_backend)
    assert result.verdict is Verdict.ACCEPTED, (result.message, [t.message for t in result.tests])
    wrong_solution = submission_from_source(toy_wrong_source(), TOY / "wrong" / "off_by_one.patch")
    wrong = runner.run(problem, wrong_solution, "hidden", docker_backend)
    assert wrong.verdict is Verdict.WRONG_ANSWER


CROSSTALK = """
import os, time
MARK = "{mark}"
with open("/tmp/shared.txt", "w") as f:
    f.write(MARK)
time.sleep(1.5)
SEEN = open("/tmp/shared.txt").read()
print("mark", MARK)


def add(a, b):
    return a + b if SEEN == MARK else a + b + 1
"""


@pytest.mark.docker
def test_two_runs_at_once_do_not_see_each_other(docker_backend, probe_problem, tmp_path: Path) -> None:  # noqa: F811
    files = {}
    for mark in ("alpha", "beta"):
        files[mark] = tmp_path / f"{mark}.py"
        files[mark].write_text(CROSSTALK.format(mark=mark))
    results: dict[str, object] = {}

    def judge(mark: str) -> None:
        results[mark] = runner.run(probe_problem, files[mark], "hidden", docker_backend)

    threads = [threading.Thread(target=judge, args=(mark,)) for mark in files]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for mark, result in results.items():
        assert result.verdict is Verdict.ACCEPTED, (mark, result.message)
        assert result.submission_hash == read_submission(files[mark]).hash
    assert time.monotonic() - started < 2 * max(r.wall_s for r in results.values()), "the runs did not overlap"


@pytest.mark.docker
def test_ctrl_c_removes_the_container(docker_backend, probe_problem) -> None:  # noqa: F811
    job = Job(
        probe_problem,
        read_submission(PROBE_PROBLEM.parents[1] / "submissions" / "sleep_at_import.py"),
        "hidden",
        b"k" * 32,
    )
    timer = threading.Timer(4.0, _thread.interrupt_main)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            docker_backend.execute(job)
    finally:
        timer.cancel()
    assert own_containers(docker_backend) == []


@pytest.mark.docker
def test_ctrl_c_during_verify_with_jobs_removes_every_container(docker_backend) -> None:  # noqa: F811
    env = dict(os.environ, JUDGE_PROBLEMS_PATH=str(PROBE_PROBLEM.parent))
    command = [
        sys.executable,
        "-c",
        "from judge.cli import cli; cli()",
        "verify",
        "sandbox-probe",
        "--backend",
        "docker",
        "--jobs",
        "2",
    ]
    judge = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # even where CI ignores SIGINT
    )
    took = signal_once_boxed(docker_backend, judge, signal.SIGINT)
    assert took < 15, "Ctrl-C waited for the runs to finish"
    assert containers_of_process(docker_backend, judge.pid, settle_s=10) == [], "containers outlived the judge"


@pytest.mark.docker
def test_leftovers_of_a_dead_judge_are_removed_on_connect(docker_backend) -> None:  # noqa: F811
    client = docker_backend._client()
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_owner = f"{owner_label().split(':')[0]}:{done.stdout.strip()}:1"
    config = docker_backend.container_config("leftover", memory_mb=64)
    config["labels"][LABEL_OWNER] = dead_owner
    leftover = client.containers.create(**config)
    live = client.containers.create(**docker_backend.container_config("live", memory_mb=64))
    try:
        DockerBackend.connect()
        names = {c.name for c in client.containers.list(all=True, filters={"label": LABEL_RUN})}
        assert leftover.name not in names, "a crashed judge's container survived the next connect"
        assert live.name in names, "a live judge's container was removed"
    finally:
        docker_backend_module.remove_container(live)
        docker_backend_module.remove_container(leftover)


@pytest.mark.docker
def test_a_box_killed_for_memory_reports_oom(docker_backend) -> None:  # noqa: F811
    client = docker_backend._client()
    config = docker_backend.container_config("oom", memory_mb=0)
    config["mem_limit"] = config["memswap_limit"] = 64 * 2**20
    config["entrypoint"] = ["python3", "-c", "blocks = []\nwhile True: blocks.append(bytearray(8 * 2**20))"]
    container = client.containers.create(**config)
    try:
        execution = docker_backend.stream(container, b"", time.monotonic() + 60)
    finally:
        docker_backend_module.remove_container(container)
    assert execution.oom_killed and not execution.timed_out


def _claimed_box(docker_backend, script: str):  # noqa: F811
    """A started, auto-removed box that reads its stdin and then runs `script`: as a claimed warm box is."""
    config = docker_backend.container_config("claimed", memory_mb=0)
    config["mem_limit"] = config["memswap_limit"] = 64 * 2**20
    config["entrypoint"] = ["python3", "-c", "import sys\nsys.stdin.buffer.read()\n" + script]
    config["auto_remove"] = True
    container = docker_backend._client().containers.create(**config)
    container.start()
    return container


@pytest.mark.docker
def test_a_claimed_box_killed_for_memory_reports_oom(docker_backend) -> None:  # noqa: F811
    container = _claimed_box(docker_backend, "blocks = []\nwhile True: blocks.append(bytearray(8 * 2**20))")
    try:
        execution = docker_backend.stream(container, b"", time.monotonic() + 60, claimed=True)
    finally:
        docker_backend_module.remove_container(container)
    assert execution.exit_code == 137
    assert execution.oom_killed and not execution.killed_outside and not execution.timed_out


@pytest.mark.docker
def test_a_claimed_box_killed_from_outside_is_not_out_of_memory(docker_backend) -> None:  # noqa: F811
    container = _claimed_box(docker_backend, "import time\ntime.sleep(60)")
    killer = threading.Timer(2.0, container.kill)
    killer.start()
    try:
        execution = docker_backend.stream(container, b"", time.monotonic() + 60, claimed=True)
    finally:
        killer.cancel()
        docker_backend_module.remove_container(container)
    assert execution.exit_code == 137
    assert execution.killed_outside and not execution.oom_killed and not execution.timed_out


@pytest.mark.docker
def test_a_warm_box_killed_mid_run_is_judged_again_in_a_cold_box(
    docker_backend,  # noqa: F811
    probe_problem,  # noqa: F811
    tmp_path: Path,
) -> None:
    """An outside SIGKILL (another judge's clean-up, an operator) is no verdict: the run is judged again."""
    slow = tmp_path / "solution.py"  # each test takes 1.5 s: the kill after the first lands mid-run
    slow.write_text("import time\n\n\ndef add(a, b):\n    time.sleep(1.5)\n    return a + b\n")
    backend, client, key = _none_waiting(docker_backend, probe_problem, warm_boxes=True)
    config = backend.container_config(probe_problem.slug, probe_problem.limits.memory_mb, probe_problem.preload)
    warm.leave(client, config, key)
    [box] = warm.waiting(client, key)
    killed: list[str] = []

    def kill_the_claimed_box(_line: dict) -> None:
        if not killed:
            killed.append(box.id)
            docker_backend_module._kill(box)

    result = runner.run(probe_problem, slow, "hidden", backend, progress=kill_the_claimed_box)
    backend.wait_for_warm_boxes()
    assert killed == [box.id], "the run did not claim the warm box (or reported no progress)"
    assert result.verdict is Verdict.ACCEPTED, result.message
    for waiting_box in warm.waiting(client, key):
        warm.remove_waiting(client, waiting_box)


@pytest.mark.docker
def test_doctor_passes_on_a_ready_machine(docker_backend) -> None:  # noqa: F811
    from judge.backends.docker.doctor import diagnose

    failed = [f for f in diagnose() if f.required and not f.ok]
    assert not failed, failed


@pytest.mark.docker
def test_gpus_without_a_gpu_runtime_is_a_clear_error(docker_backend) -> None:  # noqa: F811
    if "nvidia" in docker_backend._client().info().get("Runtimes", {}):
        pytest.skip("this engine has a GPU runtime")
    with pytest.raises(BackendError, match="NVIDIA Container Toolkit"):
        DockerBackend.connect(gpus="all")


def _none_waiting(docker_backend, problem, warm_boxes: bool) -> tuple[DockerBackend, object, str]:  # noqa: F811
    """A backend with warm boxes on or off, its client and `problem`'s key, with no box of it waiting."""
    backend = DockerBackend(docker_backend.image, cpus=docker_backend.cpus, warm_boxes=warm_boxes)
    client = backend._client()
    key = warm.config_key(backend.container_config(problem.slug, problem.limits.memory_mb, problem.preload))
    for box in warm.waiting(client, key):
        warm.remove_waiting(client, box)
    return backend, client, key


@pytest.mark.docker
def test_a_run_leaves_a_warm_box_that_the_next_run_claims(docker_backend, probe_problem) -> None:  # noqa: F811
    backend, client, key = _none_waiting(docker_backend, probe_problem, warm_boxes=True)
    first = runner.run(probe_problem, probe_problem.reference, "hidden", backend)
    backend.wait_for_warm_boxes()
    [left] = warm.waiting(client, key)
    assert left.attrs["Labels"][warm.LABEL_WARM_USER] == warm.user_label()
    second = runner.run(probe_problem, probe_problem.reference, "hidden", backend)
    backend.wait_for_warm_boxes()
    assert first.verdict is second.verdict is Verdict.ACCEPTED, (first.message, second.message)
    ids = {c.id for c in client.containers.list(all=True, filters={"label": warm.LABEL_WARM}, sparse=True)}
    assert left.id not in ids, "the second run did not claim the waiting box (or the box outlived its run)"
    [after] = warm.waiting(client, key)
    assert after.id != left.id
    warm.remove_waiting(client, after)


@pytest.mark.docker
def test_an_unclaimed_warm_box_removes_itself_after_its_idle_time(
    docker_backend,  # noqa: F811
    probe_problem,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(warm.IDLE_ENV, "2")
    backend, client, key = _none_waiting(docker_backend, probe_problem, warm_boxes=True)
    runner.run(probe_problem, probe_problem.reference, "hidden", backend)
    backend.wait_for_warm_boxes()
    [left] = warm.waiting(client, key)
    deadline = time.monotonic() + 2 + 30  # its idle time, then the engine's removal on a loaded machine
    while time.monotonic() < deadline:
        remaining = client.containers.list(all=True, filters={"id": left.id}, sparse=True)
        if not remaining:
            break
        time.sleep(0.5)
    assert not remaining, "the warm box outlived its idle expiry (running or stopped, it still exists)"


@pytest.mark.docker
def test_with_warm_boxes_off_a_run_leaves_none(docker_backend, probe_problem) -> None:  # noqa: F811
    backend, client, key = _none_waiting(docker_backend, probe_problem, warm_boxes=False)
    result = runner.run(probe_problem, probe_problem.reference, "hidden", backend)
    backend.wait_for_warm_boxes()
    assert result.verdict is Verdict.ACCEPTED
    assert warm.waiting(client, key) == []


def test_the_entrypoint_reads_the_warm_idle_variable_of_warm_py() -> None:
    assert _entrypoint_constants()["IDLE_ENV"] == warm.IDLE_ENV
    assert _entrypoint_constants()["EXIT_EXPIRED"] == warm.EXIT_EXPIRED


@pytest.mark.docker
def test_a_box_that_expires_as_it_is_claimed_falls_back_to_a_cold_box(
    docker_backend,  # noqa: F811
    probe_problem,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(warm.IDLE_ENV, "2")
    monkeypatch.setattr(warm, "CLAIM_MARGIN_S", -60.0)  # claim it even at its expiry
    backend, client, key = _none_waiting(docker_backend, probe_problem, warm_boxes=True)
    config = backend.container_config(probe_problem.slug, probe_problem.limits.memory_mb, probe_problem.preload)
    warm.leave(client, config, key)
    [box] = warm.waiting(client, key)
    box.wait(timeout=30)  # it gave up waiting (exit EXIT_EXPIRED), not yet removed: a claim can still win it
    monkeypatch.setattr(docker_backend_module.warm, "claim", lambda c, k, n: box)
    result = runner.run(probe_problem, probe_problem.reference, "hidden", backend)
    assert result.verdict is Verdict.ACCEPTED, result.message


def test_the_warm_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUDGE_HOME", str(tmp_path))
    monkeypatch.delenv(warm.WARM_ENV, raising=False)
    assert warm.enabled(), "warm boxes are on by default"
    warm.set_enabled(False)
    assert not warm.enabled()
    monkeypatch.setenv(warm.WARM_ENV, "1")
    assert warm.enabled(), "the variable overrides the setting"
    monkeypatch.setenv(warm.WARM_ENV, "0")
    warm.set_enabled(True)
    assert not warm.enabled()
    assert warm.claimer(warm.claimed_name(1234, "5678")) == (1234, "5678")
    assert warm.claimer("judge-warm-abc-def") is None


@pytest.mark.docker
def test_a_spread_run_can_have_as_many_boxes_waiting_as_it_uses(docker_backend, probe_problem) -> None:  # noqa: F811
    backend, client, key = _none_waiting(docker_backend, probe_problem, warm_boxes=True)
    config = backend.container_config(probe_problem.slug, probe_problem.limits.memory_mb, probe_problem.preload)
    try:
        for _ in range(3):
            warm.leave(client, config, key, want=2)
        assert len(warm.waiting(client, key)) == 2, "leave(want=2) keeps two boxes of the configuration waiting"
    finally:
        for box in warm.waiting(client, key):
            warm.remove_waiting(client, box)


@pytest.mark.docker
def test_making_room_for_a_warm_box_never_stops_a_claimed_one(docker_backend, probe_problem) -> None:  # noqa: F811
    backend, client, key = _none_waiting(docker_backend, probe_problem, warm_boxes=True)
    config = backend.container_config(probe_problem.slug, probe_problem.limits.memory_mb, probe_problem.preload)
    warm.leave(client, config, key)
    claimed = warm.claim(client, key, warm.claimed_name(os.getpid(), "0"))
    assert claimed is not None
    try:
        other = dict(config, mem_limit=config["mem_limit"] + 2**20, memswap_limit=config["memswap_limit"] + 2**20)
        for _ in range(warm.MAX_WAITING + 1):  # boxes of other configurations, past the per-user cap
            other = dict(other, mem_limit=other["mem_limit"] + 2**20, memswap_limit=other["memswap_limit"] + 2**20)
            warm.leave(client, other, warm.config_key(other))
        claimed.reload()
        assert claimed.status == "running", "a box in use was removed to make room for a waiting one"
        assert claimed.id not in {c.id for c in warm.waiting(client)}
    finally:
        docker_backend_module.remove_container(claimed)
        warm.remove_all(client)


@pytest.mark.docker
def test_a_box_claimed_after_it_was_listed_is_not_removed(docker_backend, probe_problem) -> None:  # noqa: F811
    backend, client, key = _none_waiting(docker_backend, probe_problem, warm_boxes=True)
    config = backend.container_config(probe_problem.slug, probe_problem.limits.memory_mb, probe_problem.preload)
    warm.leave(client, config, key)
    stale = warm.waiting(client, key)  # another judge lists it to make room...
    claimed = warm.claim(client, key, warm.claimed_name(os.getpid(), "0"))  # ...and this one claims it meanwhile
    assert claimed is not None and [c.id for c in stale] == [claimed.id]
    try:
        assert warm.remove_waiting(client, stale[0]) == ""
        claimed.reload()
        assert claimed.status == "running", "a box claimed after the listing was removed by its stale name"
    finally:
        docker_backend_module.remove_container(claimed)
