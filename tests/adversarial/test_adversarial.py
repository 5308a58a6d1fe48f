"""Real submissions that attack the sandbox, each with the verdict it must get in the docker backend.

Attacks that would change the answer when they succeed (network, writes, secrets) compute a + b
only when every attempt fails, so Accepted means the attack was contained. Resource attacks must
get the resource verdict. The problem is tests/adversarial/problems/sandbox-probe (2 s of CPU per test,
10 s of CPU for the suite, so a 42 s wall-clock backstop; 256 MiB).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from judge import runner
from judge.backends.docker import DockerBackend, warm
from judge.staging import SubmissionError
from judge_harness.schema import Verdict

SUBMISSIONS = Path(__file__).parent / "submissions"

EXPECTED = {
    "fork_bomb.py": Verdict.TIME_LIMIT_EXCEEDED,  # the pids limit caps it, the per-test deadline ends it
    "memory_bomb.py": Verdict.MEMORY_LIMIT_EXCEEDED,
    "busy_loop.py": Verdict.TIME_LIMIT_EXCEEDED,
    "sleep_at_import.py": Verdict.TIME_LIMIT_EXCEEDED,  # the suite's wall-clock backstop ends the import
    "flood_stdout.py": Verdict.OUTPUT_LIMIT_EXCEEDED,
    "filesystem_writes.py": Verdict.ACCEPTED,  # every write failed
    "read_secrets.py": Verdict.ACCEPTED,  # nothing found
    "read_own_memory.py": Verdict.ACCEPTED,  # the preforked zygote held nothing of the run
    "daemon.py": Verdict.ACCEPTED,  # and the daemon is gone afterwards (below)
    "huge_file.py": Verdict.RUNTIME_ERROR,  # the write fails with EFBIG at the fsize limit
}

pytestmark = pytest.mark.docker


def test_every_attack_has_an_expected_verdict() -> None:
    assert {p.name for p in SUBMISSIONS.glob("*.py")} == set(EXPECTED) | {"network.py"}


@pytest.mark.parametrize("box", ["cold", "warm"])
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_attack_gets_its_verdict(docker_backend, probe_problem, name: str, box: str) -> None:
    """In a box started for the run, and in a warm box (started before the run existed, then claimed)."""
    backend = DockerBackend(docker_backend.image, cpus=docker_backend.cpus, warm_boxes=box == "warm")
    if box == "warm":
        client = backend._client()
        config = backend.container_config(probe_problem.slug, probe_problem.limits.memory_mb, probe_problem.preload)
        key = warm.config_key(config)
        warm.leave(client, config, key)
        [waiting] = warm.waiting(client, key)
    result = runner.run(probe_problem, SUBMISSIONS / name, "hidden", backend)
    details = [(t.id, t.verdict.value, t.message[:300], t.output[:300]) for t in result.tests]
    assert result.verdict is EXPECTED[name], (result.message, details)
    if box == "warm":
        backend.wait_for_warm_boxes()
        assert waiting.id not in {c.id for c in warm.waiting(client, key)}, "the run did not claim the warm box"


def test_network_is_unreachable(docker_backend, probe_problem, tmp_path: Path) -> None:
    listener = socket.create_server(("127.0.0.1", 0))  # a host-side target: reachable only if isolation failed
    try:
        port = listener.getsockname()[1]
        submission = tmp_path / "network.py"
        source = (SUBMISSIONS / "network.py").read_text()
        submission.write_text(source.replace("HOST_PORT = 0", f"HOST_PORT = {port}"))
        result = runner.run(probe_problem, submission, "hidden", docker_backend)
    finally:
        listener.close()
    assert result.verdict is Verdict.ACCEPTED, (result.message, [t.output for t in result.tests])


def test_a_daemon_does_not_outlive_its_run(docker_backend, probe_problem) -> None:
    runner.run(probe_problem, SUBMISSIONS / "daemon.py", "hidden", docker_backend)
    survivors = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "cmdline").read_bytes() == b"sleep\x0031337\x00":
                    survivors.append(int(entry.name))
            except OSError:
                pass
    assert not survivors, f"the submission's daemon survived the run: pids {survivors}"


def test_a_symlinked_submission_is_refused_before_any_run(docker_backend, probe_problem, tmp_path: Path) -> None:
    link = tmp_path / "solution.py"
    os.symlink(probe_problem.reference, link)
    with pytest.raises(SubmissionError, match="symlink"):
        runner.run(probe_problem, link, "hidden", docker_backend)
