"""The sandbox image: its inputs and tag, and the two ways to build it.

`sandbox/Dockerfile` is built over a Debian bookworm base that has python3.11:

- registry: `python:3.11-slim-bookworm`, pulled from Docker Hub;
- no registry: a minimal bookworm made by debootstrap from the Debian mirror, tarred into the
  user's cache dir once and `docker import`ed.

Both install the same wheels, downloaded by the host's pip (`sandbox/requirements.txt`) and
installed with `pip --no-index`, so the box runs the versions the host was tested with. The tag
is a hash of every input (Dockerfile, requirement pins, entry point, harness files): a changed
harness gives a new tag, and the build re-runs only the layers after the wheels.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from judge.paths import HARNESS_DIR, SANDBOX_DIR

DOCKERFILE = SANDBOX_DIR / "Dockerfile"
REQUIREMENTS = SANDBOX_DIR / "requirements.txt"
ENTRYPOINT = SANDBOX_DIR / "entrypoint.py"

IMAGE_REPOSITORY = "judge-sandbox"
BASE_REPOSITORY = "judge-sandbox-base"
REGISTRY_BASE = "python:3.11-slim-bookworm"
DEBIAN_SUITE = "bookworm"
DEBIAN_PACKAGES = ("python3",)  # python3.11 and its stdlib; everything else comes as wheels
DEFAULT_MIRROR = "http://deb.debian.org/debian"
LABEL_INPUTS = "judge.sandbox.inputs"
LABEL_BASE = "judge.sandbox.base"
# Left out of the debootstrapped base: documentation, locales, apt's package lists and caches.
BASE_PRUNE = (
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
    "usr/share/lintian",
    "var/lib/apt/lists",
    "var/cache/apt",
    "var/cache/debconf",
    "var/log",
)

Log = Callable[[str], None]


class SandboxError(RuntimeError):
    """The sandbox cannot be built or reached; the message says what to do."""


@dataclasses.dataclass
class BuildReport:
    tag: str
    base: str
    size_bytes: int
    seconds: float


def input_files() -> list[Path]:
    harness = sorted(p for p in HARNESS_DIR.rglob("*.py") if "__pycache__" not in p.parts)
    return [DOCKERFILE, REQUIREMENTS, ENTRYPOINT, *harness]


def inputs_hash() -> str:
    digest = hashlib.sha256()
    for path in input_files():
        name = path.relative_to(HARNESS_DIR.parent) if path.is_relative_to(HARNESS_DIR) else Path(path.name)
        digest.update(name.as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def image_tag() -> str:
    """The image the current checkout needs; JUDGE_SANDBOX_IMAGE overrides it."""
    return os.environ.get("JUDGE_SANDBOX_IMAGE") or f"{IMAGE_REPOSITORY}:{inputs_hash()[:16]}"


def cache_dir() -> Path:
    root = os.environ.get("JUDGE_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "judge"
    )
    path = Path(root) / "sandbox"
    path.mkdir(parents=True, exist_ok=True)
    return path


def engine() -> Any:
    """A client for the Docker engine the environment names (DOCKER_HOST or the default socket)."""
    try:
        import docker
    except ImportError as exc:
        raise SandboxError(f"the docker SDK is not installed ({exc}); run `pip install docker`") from None
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except Exception as exc:  # the SDK raises DockerException, requests and OS errors alike
        raise SandboxError(
            f"no Docker engine answered ({type(exc).__name__}: {str(exc)[:200]}); "
            "start one (`sudo dockerd &` or Docker Desktop) or set DOCKER_HOST"
        ) from None
    return client


def _stream_build(lines: Iterator[dict[str, Any]], log: Log) -> None:
    for chunk in lines:
        if "error" in chunk:
            raise SandboxError(f"the image build failed: {chunk['error'].strip()}")
        text = chunk.get("stream", "").rstrip()
        if text:
            log(text)


def _debootstrap_key(mirror: str) -> str:
    text = f"{DEBIAN_SUITE} minbase {','.join(DEBIAN_PACKAGES)} {mirror} {','.join(BASE_PRUNE)}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def debootstrap_tarball(log: Log, mirror: str | None = None) -> Path:
    """A minimal bookworm root filesystem as a .tar.gz in the cache dir; made once, then reused."""
    mirror = mirror or os.environ.get("JUDGE_DEBIAN_MIRROR", DEFAULT_MIRROR)
    tarball = cache_dir() / f"debootstrap-{DEBIAN_SUITE}-{_debootstrap_key(mirror)}.tar.gz"
    if tarball.exists():
        log(f"using the cached base {tarball}")
        return tarball
    if shutil.which("debootstrap") is None:
        raise SandboxError(
            "debootstrap is not installed; run `apt-get install debootstrap` (or build without --no-registry)"
        )
    if os.geteuid() != 0:
        raise SandboxError(
            "debootstrap needs root; run `sudo judge sandbox build --no-registry` once (the base is cached)"
        )
    with tempfile.TemporaryDirectory(prefix="debootstrap-", dir=cache_dir()) as work:
        root = Path(work) / "root"
        log(f"debootstrap {DEBIAN_SUITE} from {mirror} (a few minutes, once)")
        command = [
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(DEBIAN_PACKAGES)}",
            DEBIAN_SUITE,
            str(root),
            mirror,
        ]
        try:
            done = subprocess.run(command, capture_output=True, text=True)
        finally:
            _unmount_below(root)  # debootstrap mounts /proc and /sys in the chroot; never rm -r through them
        if done.returncode != 0:
            tail = (done.stdout + done.stderr)[-1500:]
            raise SandboxError(f"debootstrap failed (exit {done.returncode}); is {mirror} reachable?\n{tail}")
        for relative in BASE_PRUNE:
            target = root / relative
            if target.is_dir():
                for child in target.iterdir():
                    shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
        partial = Path(work) / "base.tar.gz"
        subprocess.run(["tar", "--numeric-owner", "-C", str(root), "-czf", str(partial), "."], check=True)
        os.replace(partial, tarball)
    log(f"cached the base as {tarball} ({tarball.stat().st_size / 2**20:.0f} MiB)")
    return tarball


def _unmount_below(root: Path) -> None:
    prefix = str(root.resolve()) + "/"
    with open("/proc/mounts") as f:
        points = [line.split()[1] for line in f if line.split()[1].startswith(prefix)]
    for point in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)


def base_image(client: Any, *, registry: bool, log: Log) -> str:
    """The base the Dockerfile builds on, pulled or imported as needed."""
    import docker

    if registry:
        log(f"pulling {REGISTRY_BASE}")
        try:
            client.images.pull(REGISTRY_BASE)
        except docker.errors.APIError as exc:
            raise SandboxError(
                f"cannot pull {REGISTRY_BASE} ({exc.explanation or exc}); without a registry use `judge sandbox build --no-registry`"
            ) from None
        return REGISTRY_BASE
    mirror = os.environ.get("JUDGE_DEBIAN_MIRROR", DEFAULT_MIRROR)
    tag = f"{BASE_REPOSITORY}:{DEBIAN_SUITE}-{_debootstrap_key(mirror)}"
    try:
        client.images.get(tag)
        log(f"using the imported base {tag}")
        return tag
    except docker.errors.ImageNotFound:
        pass
    tarball = debootstrap_tarball(log, mirror)
    log(f"docker import {tarball.name} as {tag}")
    with open(tarball, "rb") as f:
        client.api.import_image(src=f, repository=tag.split(":")[0], tag=tag.split(":")[1])
    return tag


def download_wheels(log: Log) -> Path:
    """The wheels of sandbox/requirements.txt (and pip itself), by the host's pip, cached by the pins."""
    key = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:16]
    wheels = cache_dir() / f"wheels-{key}"
    if (wheels / ".complete").exists():
        log(f"using the cached wheels in {wheels}")
        return wheels
    partial = cache_dir() / f"wheels-{key}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    log(
        "pip download "
        + " ".join(line for line in REQUIREMENTS.read_text().splitlines() if line and not line.startswith("#"))
    )
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:", "-d", str(partial)]
    command += ["--python-version", "3.11", "--platform", "manylinux_2_28_x86_64", "--implementation", "cp"]
    command += ["-r", str(REQUIREMENTS), "pip"]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SandboxError(f"pip download failed (exit {done.returncode}):\n{done.stderr[-1500:]}")
    (partial / ".complete").touch()
    shutil.rmtree(wheels, ignore_errors=True)
    os.replace(partial, wheels)
    return wheels


def _context(wheels: Path, directory: Path) -> None:
    """The build context: Dockerfile, pins, entry point, harness, wheels (hard links where possible)."""
    for path in (DOCKERFILE, REQUIREMENTS, ENTRYPOINT):
        shutil.copy2(path, directory / path.name)
    shutil.copytree(HARNESS_DIR, directory / "judge_harness", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (directory / "wheels").mkdir()
    for wheel in wheels.glob("*.whl"):
        try:
            os.link(wheel, directory / "wheels" / wheel.name)
        except OSError:
            shutil.copy2(wheel, directory / "wheels" / wheel.name)


def build(*, registry: bool = True, log: Log = print) -> BuildReport:
    """Build the image for the current checkout and tag it `judge-sandbox:<inputs hash>`."""
    started = time.monotonic()
    client = engine()
    tag = image_tag()
    base = base_image(client, registry=registry, log=log)
    wheels = download_wheels(log)
    with tempfile.TemporaryDirectory(prefix="judge-sandbox-context-") as directory:
        _context(wheels, Path(directory))
        log(f"docker build {tag} from {base}")
        _stream_build(
            client.api.build(
                path=directory,
                tag=tag,
                buildargs={"BASE_IMAGE": base},
                labels={LABEL_INPUTS: inputs_hash(), LABEL_BASE: base},
                rm=True,
                forcerm=True,
                decode=True,
            ),
            log,
        )
    size = client.images.get(tag).attrs.get("Size", 0)
    return BuildReport(tag=tag, base=base, size_bytes=size, seconds=time.monotonic() - started)
