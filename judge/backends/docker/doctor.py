"""`judge sandbox doctor`: is this machine ready to judge in the sandbox, and is the sandbox tight?

Checks, in order: the engine answers; it can enforce the limits (memory, swap, pids, CPU
quota); the image for this checkout is built; a probe container with the backend's exact
settings shows the uid split working (the checker keeps CAP_SETUID/SETGID only, the worker has
no capability, cannot read the checker's files, cannot write the root, has no network); GPUs
are reported for `--gpus`, but their absence is not a failure.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from judge.backends.base import BackendError
from judge.backends.docker.image import SandboxError, engine, image_tag
from judge.backends.docker.limits import CHECKER_CAPS, CHECKER_UID, WORKER_UID, capability_mask

CHECKER_CAPS_HEX = capability_mask(CHECKER_CAPS)
NO_CAPS = capability_mask(())

# Runs as the container's PID 1 in place of the entry point: the same privilege drop, then a
# worker-like child; prints one JSON line. {checker} and {worker} are the two uids.
PROBE = r"""
import json, os, subprocess, sys
sys.path.insert(0, "/opt/judge")
from entrypoint import become_checker
become_checker({checker}, {checker})
os.makedirs("/judge/problem", mode=0o700)
with open("/judge/problem/test_hidden.py", "w") as f:
    f.write("secret")
caps = lambda: [l.split()[1] for l in open("/proc/self/status") if l.startswith("CapEff")][0]
WORKER = '''
import json, os
def attempt(action):
    try:
        action()
        return True
    except OSError:
        return False
report = dict(
    uid=os.getuid(),
    caps=[l.split()[1] for l in open("/proc/self/status") if l.startswith("CapEff")][0],
    reads_hidden_tests=attempt(lambda: open("/judge/problem/test_hidden.py").read()),
    writes_root=attempt(lambda: open("/probe", "w")),
    regains_checker_uid=attempt(lambda: os.setuid({checker})),
    writes_tmp=attempt(lambda: open("/tmp/probe", "w")),
    interfaces=sorted(os.listdir("/sys/class/net")),
)
import torch
report["torch"] = torch.__version__
print(json.dumps(report))
'''
def drop():
    os.setgroups([])
    os.setresgid({worker}, {worker}, {worker})
    os.setresuid({worker}, {worker}, {worker})
child = subprocess.run([sys.executable, "-c", WORKER], preexec_fn=drop, capture_output=True, text=True, cwd="/tmp", env={{}})
print(json.dumps(dict(checker_uid=os.getuid(), checker_caps=caps(), worker=json.loads(child.stdout or "null"), worker_error=child.stderr[-500:])))
"""


@dataclasses.dataclass
class Finding:
    name: str
    ok: bool
    detail: str
    required: bool = True

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def probe(client: Any, tag: str) -> dict[str, Any]:
    """Run PROBE in a container configured exactly like a judged run."""
    from judge.backends.docker import DockerBackend

    backend = DockerBackend(tag, client=client)
    config = backend.container_config("doctor-probe", memory_mb=512)
    config["entrypoint"] = ["python3", "-I", "-c", PROBE.format(checker=CHECKER_UID, worker=WORKER_UID)]
    execution = backend.run_container(config, b"", wall_s=120)
    try:
        return json.loads(execution.stdout.decode().strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise SandboxError(
            f"the probe printed no report (exit {execution.exit_code}): {execution.stderr_tail[-800:]}"
        ) from None


def _probe_findings(report: dict[str, Any]) -> list[Finding]:
    worker = report.get("worker") or {}
    expectations = [
        ("checker runs as its own uid", report.get("checker_uid") == CHECKER_UID, f"uid {report.get('checker_uid')}"),
        (
            f"checker keeps only {', '.join(CHECKER_CAPS)}",
            report.get("checker_caps") == CHECKER_CAPS_HEX,
            f"CapEff {report.get('checker_caps')}",
        ),
        (
            "worker runs as another uid",
            worker.get("uid") == WORKER_UID,
            f"uid {worker.get('uid')} {report.get('worker_error', '')}",
        ),
        ("worker has no capability", worker.get("caps") == NO_CAPS, f"CapEff {worker.get('caps')}"),
        ("worker cannot read the hidden tests", worker.get("reads_hidden_tests") is False, ""),
        ("worker cannot take the checker's uid", worker.get("regains_checker_uid") is False, ""),
        ("root filesystem is read-only", worker.get("writes_root") is False, ""),
        ("worker can write its /tmp", worker.get("writes_tmp") is True, ""),
        ("no network but loopback", worker.get("interfaces") == ["lo"], f"interfaces {worker.get('interfaces')}"),
        ("torch imports in the box", bool(worker.get("torch")), f"torch {worker.get('torch')}"),
    ]
    return [Finding(name, bool(ok), detail) for name, ok, detail in expectations]


def diagnose() -> list[Finding]:
    """Every check; stops early where a failure makes the rest meaningless."""
    import docker

    try:
        client = engine()
    except SandboxError as exc:
        return [Finding("Docker engine answers", False, str(exc))]
    info, version = client.info(), client.version()
    findings = [Finding("Docker engine answers", True, f"{version.get('Version')} (API {version.get('ApiVersion')})")]
    for key, what in (
        ("MemoryLimit", "memory"),
        ("SwapLimit", "swap == memory"),
        ("PidsLimit", "pids"),
        ("CpuCfsQuota", "CPU quota"),
    ):
        supported = bool(info.get(key))
        findings.append(
            Finding(f"engine enforces the {what} limit", supported, "" if supported else f"docker info: {key} is false")
        )
    tag = image_tag()
    try:
        image = client.images.get(tag)
    except docker.errors.ImageNotFound:
        others = [t for i in client.images.list(name="judge-sandbox") for t in i.tags]
        hint = f" (other builds: {', '.join(others)})" if others else ""
        findings.append(
            Finding("sandbox image built for this checkout", False, f"no {tag}{hint}; run `judge sandbox build`")
        )
        return findings
    size = image.attrs.get("Size", 0) / 2**20
    findings.append(Finding("sandbox image built for this checkout", True, f"{tag}, {size:.0f} MiB"))
    try:
        findings.extend(_probe_findings(probe(client, tag)))
    except (SandboxError, BackendError, docker.errors.APIError) as exc:
        findings.append(Finding("probe container runs", False, str(exc)[:1000]))
    runtimes = info.get("Runtimes", {})
    gpu = "nvidia" in runtimes
    findings.append(
        Finding(
            "GPUs for --gpus",
            gpu,
            "nvidia runtime present" if gpu else "no nvidia runtime (only --gpus needs it)",
            required=False,
        )
    )
    return findings
