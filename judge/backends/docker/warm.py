"""Warm boxes: a sandbox container started before the run that will use it.

After a run the docker backend leaves one box of the same configuration waiting: started, its
entry point has imported the problem's preload modules (torch) and forked the workers' zygote,
and it blocks reading stdin, holding nothing of any run. The next run with that configuration
claims it (a rename, which only one claimer can win), attaches and sends its run as a cold box
would get it. A box still serves exactly one run; every setting of `container_config` applies
unchanged. An unclaimed box ends itself after its idle time (the entry point stops waiting) and
Docker removes it (auto-remove), so none outlives its expiry whether or not a judge is running.

Boxes are keyed by a hash of their whole configuration (image, limits, preload, GPUs) and
labelled with the host and uid that may claim them: never shared across users.

On by default; `judge sandbox warm --off` (or JUDGE_SANDBOX_WARM=0) turns it off.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import socket
import threading
import time
import uuid
from typing import Any

from judge.paths import data_dir

LABEL_WARM = "judge.sandbox.warm"  # the configuration key
LABEL_WARM_USER = "judge.sandbox.user"  # host:uid of the only judge that may claim it
IDLE_ENV = "JUDGE_WARM_IDLE_S"  # the entry point's wait for a run (sandbox/entrypoint.py, tested)
WARM_ENV = "JUDGE_SANDBOX_WARM"
IDLE_S = 300.0
EXIT_EXPIRED = 75  # sandbox/entrypoint.py's exit when it gives up waiting (tested)
CLAIM_MARGIN_S = 20.0  # a box this close to its idle expiry is left to expire, not claimed
MAX_WAITING = 2  # per user (or a spread run's box count): each holds an imported torch (~0.3 GB); the oldest goes first
SETTINGS = "sandbox.json"
LOCK = "warm.lock"


def user_label() -> str:
    return f"{socket.gethostname()}:{os.getuid()}"


def _settings_path():
    return data_dir() / SETTINGS


def enabled() -> bool:
    """JUDGE_SANDBOX_WARM (0/1) first, then `judge sandbox warm`'s setting; on by default."""
    value = os.environ.get(WARM_ENV)
    if value is not None and value.strip():
        return value.strip().lower() not in ("0", "off", "false", "no")
    try:
        return bool(json.loads(_settings_path().read_text()).get("warm", True))
    except (OSError, ValueError, AttributeError):
        return True


def set_enabled(on: bool) -> None:
    path = _settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        settings = json.loads(path.read_text())
        if not isinstance(settings, dict):
            settings = {}
    except (OSError, ValueError):
        settings = {}
    settings["warm"] = on
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(settings, indent=2) + "\n")
    tmp.replace(path)


def idle_s() -> float:
    try:
        return max(1.0, float(os.environ.get(IDLE_ENV, IDLE_S)))
    except ValueError:
        return IDLE_S


def config_key(config: dict[str, Any]) -> str:
    """What makes two boxes interchangeable: everything but their labels."""
    relevant = {k: v for k, v in config.items() if k != "labels"}
    return hashlib.sha256(json.dumps(relevant, sort_keys=True, default=repr).encode()).hexdigest()[:16]


def claimed_by_dead_judges(client: Any, alive: Any) -> list[Any]:
    """Claimed boxes of this user whose claimer is gone (`alive(pid, start)` says)."""
    found = []
    for container in client.containers.list(
        all=True, filters={"label": [LABEL_WARM, f"{LABEL_WARM_USER}={user_label()}"]}, sparse=True
    ):
        who = claimer((container.attrs.get("Names") or [""])[0])
        if who is not None and not alive(*who):
            found.append(container)
    return found


def waiting(client: Any, key: str | None = None) -> list[Any]:
    """Boxes of this user waiting for a run (of configuration `key`, or any): started and not yet
    claimed. A claimed box is running someone's run and is never listed here (nor trimmed)."""
    label = [f"{LABEL_WARM_USER}={user_label()}"] + ([f"{LABEL_WARM}={key}"] if key else [LABEL_WARM])
    boxes = client.containers.list(filters={"label": label, "status": "running"}, sparse=True)
    return [c for c in boxes if ((c.attrs.get("Names") or [""])[0]).lstrip("/").startswith("judge-warm-")]


def claimed_name(pid: int, start: str) -> str:
    """A claimed box is renamed after its claimer (labels cannot change): judge-run-PID-START-RANDOM."""
    return f"judge-run-{pid}-{start}-{uuid.uuid4().hex[:8]}"


def claimer(name: str) -> tuple[int, str] | None:
    """(pid, start) of the judge that claimed a box, from its name; None for an unclaimed one."""
    parts = name.lstrip("/").split("-")
    if len(parts) == 5 and parts[:2] == ["judge", "run"] and parts[2].isdigit():
        return int(parts[2]), parts[3]
    return None


_claiming = threading.Lock()


@contextlib.contextmanager
def _boxes_locked():
    """Claims and removals of waiting boxes, one at a time for this user (threads and processes).

    The engine resolves a name before it acts on it, so a removal by a listed name racing a claim
    (a rename) could still stop the box just claimed, and two claims of one box in flight together
    could both succeed. Neither can interleave under this lock; a claimer still checks that the
    box carries its name after the rename.
    """
    with _claiming:
        try:
            path = data_dir() / LOCK
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(path, "a")  # held for the block
        except OSError:
            handle = None  # no data folder: this process's threads are still serialized
        try:
            if handle is not None:
                fcntl.flock(handle, fcntl.LOCK_EX)
            yield
        finally:
            if handle is not None:
                handle.close()  # releases the flock


def claim(client: Any, key: str, new_name: str) -> Any | None:
    """A waiting box of this configuration, now ours alone (renamed `new_name`); None when there is none."""
    with _boxes_locked():
        return _claim(client, key, new_name)


def _claim(client: Any, key: str, new_name: str) -> Any | None:
    import docker

    too_old = time.time() - (idle_s() - CLAIM_MARGIN_S)
    for container in waiting(client, key):
        if container.attrs.get("Created", 0) < too_old:
            continue  # about to give up waiting (a claim now could meet its exit)
        names = container.attrs.get("Names") or []
        if not names:
            continue
        old = names[0].lstrip("/")
        if not old.startswith("judge-warm-"):
            continue  # already claimed (renamed) by another run
        new = new_name
        try:
            client.api.rename(old, new)  # by name: a second claimer finds the old name gone
            claimed = client.containers.get(new)
        except docker.errors.APIError:
            continue
        if claimed.attrs["State"].get("Running") and claimed.name == new:
            return claimed
    return None


def leave(client: Any, config: dict[str, Any], key: str, want: int = 1) -> None:
    """Start a box of `config` to wait for the next run, unless `want` already wait (a run spread
    over n boxes wants n)."""
    mine = waiting(client, key)
    if len(mine) >= want:
        return
    # room for this box: the oldest boxes of other configurations go first
    with _boxes_locked():
        ours = {c.id for c in waiting(client, key)}
        others = sorted((c for c in waiting(client) if c.id not in ours), key=lambda c: c.attrs.get("Created", 0))
        excess = len(ours) + 1 + len(others) - max(MAX_WAITING, want)
        for container in others[: max(0, excess)]:
            _remove_listed(client, container)
    box = dict(config)
    box["labels"] = {
        LABEL_WARM: key,
        LABEL_WARM_USER: user_label(),
        "judge.sandbox.problem": config["labels"].get("judge.sandbox.problem", ""),
    }
    box["environment"] = {**config.get("environment", {}), IDLE_ENV: f"{idle_s():g}"}
    box["auto_remove"] = True  # the box's own expiry ends it; Docker removes it
    box["name"] = f"judge-warm-{key}-{uuid.uuid4().hex[:8]}"
    container = client.containers.create(**box)
    container.start()


def remove_waiting(client: Any, container: Any) -> str:
    """Remove a box listed as waiting, by the name it was listed under: a box claimed since then has
    been renamed, so another judge's run in it is left alone (removal by id would kill it)."""
    with _boxes_locked():
        return _remove_listed(client, container)


def _remove_listed(client: Any, container: Any) -> str:
    import docker

    name = (container.attrs.get("Names") or [""])[0].lstrip("/")
    if not name.startswith("judge-warm-"):
        return ""
    try:
        client.api.remove_container(name, force=True)
    except docker.errors.NotFound:
        return ""
    except docker.errors.APIError as exc:
        if exc.status_code != 409:  # 409: removal already in progress
            raise
    return name


def remove_all(client: Any) -> list[str]:
    """Remove every box waiting for this user; returns their names."""
    return [name for name in (remove_waiting(client, c) for c in waiting(client)) if name]
