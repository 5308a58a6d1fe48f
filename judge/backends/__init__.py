"""Execution backends: `local` (subprocesses on the host) and `docker` (the sandbox).

The contract (Backend, Job, Execution, the checker's spec) is in base.py; `select(name)` resolves
`auto` to docker when an engine answers with the sandbox image built, else local with a warning.
"""

from __future__ import annotations

from collections.abc import Callable

from judge.backends.base import Backend, BackendError

__all__ = ["BACKENDS", "Backend", "BackendError", "select"]

BACKENDS = ("auto", "docker", "local")
LOCAL_WARNING = "warning: no Docker engine answered; using the local backend, which is not a security boundary"


def select(name: str, warn: Callable[[str], None] = lambda message: None, gpus: str | None = None) -> Backend:
    """The backend `name` names; `gpus` (`all`, a count or device ids) is for the docker backend's containers."""
    from judge.backends.local import LocalBackend

    if name == "local":
        return LocalBackend()
    if name in ("docker", "auto"):
        try:
            from judge.backends.docker import DockerBackend
        except ImportError as exc:
            if name == "docker":
                raise BackendError(f"the docker backend is unavailable: {exc}") from None
            warn(LOCAL_WARNING)
            return LocalBackend()
        if name == "docker":
            return DockerBackend.connect(gpus)
        try:
            backend = DockerBackend.try_connect(gpus)
        except BackendError as exc:  # an engine, but no usable sandbox (image not built yet)
            warn(f"warning: {exc}; using the local backend meanwhile, which is not a security boundary")
            return LocalBackend()
        if backend is None:
            warn(LOCAL_WARNING)
            return LocalBackend()
        return backend
    raise BackendError(f"unknown backend {name!r}; expected one of {', '.join(BACKENDS)}")
