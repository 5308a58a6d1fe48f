"""The attack submissions' fixtures, shared with tests/test_sandbox_docker.py through tests/sandbox_support.py."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox_support import docker_backend, probe_problem  # noqa: E402, F401 - fixtures

collect_ignore_glob = ["problems/*", "submissions/*"]  # a problem's tests and the attacks are data, not tests
