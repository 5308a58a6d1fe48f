"""Shared by the docker tests (tests/test_sandbox_docker.py, tests/adversarial/): the backend or a skip.

A docker test skips when no engine answers or the image is not built, except under CI=true,
where it fails: CI must exercise the sandbox against a real engine. The session check makes
sure no sandbox container of this process outlives the tests.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from judge.backends import BackendError
from judge.catalog import load_problem

ADVERSARIAL = Path(__file__).parent / "adversarial"
PROBE_PROBLEM = ADVERSARIAL / "problems" / "sandbox-probe"
SUBMISSIONS = ADVERSARIAL / "submissions"


def docker_backend_or_skip():
    from judge.backends.docker import DockerBackend

    try:
        backend = DockerBackend.try_connect()
    except BackendError as exc:  # an engine, but no image for this checkout
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and the sandbox is not ready: {exc}")
        pytest.skip(str(exc))
    if backend is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true and no Docker engine answered; CI must test the sandbox (start dockerd)")
        pytest.skip("no Docker engine answered")
    return backend


def own_containers(backend) -> list:
    """This process's run containers: its cold boxes and the warm boxes it claimed (not those it left)."""
    from judge.backends.docker import LABEL_OWNER, LABEL_RUN

    client = backend._client()
    cold = [
        c
        for c in client.containers.list(all=True, filters={"label": LABEL_RUN}, sparse=True)
        if (c.attrs.get("Labels") or {}).get(LABEL_OWNER) == backend.owner
    ]
    return cold + [c for c in containers_of_process(backend, os.getpid()) if c not in cold]


def containers_of_process(backend, pid: int, settle_s: float = 0.0) -> list:
    """The sandbox containers that the judge process `pid` started and that still exist.

    With `settle_s`, wait up to that long for them to go: a removal the judge asked for before it
    exited finishes inside the engine, which takes a moment on a loaded machine. (Listed sparse:
    no inspect per container, which a container removed meanwhile would make fail.)
    """
    from judge.backends.docker import LABEL_OWNER, LABEL_RUN, warm

    client = backend._client()
    deadline = time.monotonic() + settle_s
    while True:
        found = [
            c
            for c in client.containers.list(all=True, filters={"label": LABEL_RUN}, sparse=True)
            if (c.attrs.get("Labels") or {}).get(LABEL_OWNER, "").split(":")[1:2] == [str(pid)]
        ] + [  # warm boxes it claimed (named after their claimer)
            c
            for c in client.containers.list(all=True, filters={"label": warm.LABEL_WARM}, sparse=True)
            if (warm.claimer((c.attrs.get("Names") or [""])[0]) or (0,))[0] == pid
        ]
        if not found or time.monotonic() >= deadline:
            return found
        time.sleep(0.2)


def signal_once_boxed(backend, judge: subprocess.Popen, number: int) -> float:
    """Wait until `judge` has a container, send it `number`, wait for it to exit: seconds from signal to exit."""
    deadline = time.monotonic() + 60
    while not containers_of_process(backend, judge.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert containers_of_process(backend, judge.pid), "the judge started no container"
    sent = time.monotonic()
    judge.send_signal(number)
    judge.wait(timeout=60)
    return time.monotonic() - sent


@pytest.fixture(scope="session")
def docker_backend():
    backend = docker_backend_or_skip()
    yield backend
    from judge.backends.docker import wait_for_background

    wait_for_background()  # boxes whose runs are over are removed in the background
    leftovers = own_containers(backend)
    assert not leftovers, f"sandbox containers left after the tests: {[c.name for c in leftovers]}"


@pytest.fixture(scope="session")
def probe_problem():
    return load_problem(PROBE_PROBLEM)
