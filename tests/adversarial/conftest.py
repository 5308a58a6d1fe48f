"""The attack submissions' fixtures, shared with tests/test_sandbox_docker.py through tests/sandbox_support.py."""

from tests.sandbox_support import docker_backend, probe_problem  # noqa: F401 - fixtures

collect_ignore_glob = ["problems/*", "submissions/*"]  # a problem's tests and the attacks are data, not tests
