"""The Docker engine the container backend talks to, and the labels that tie each
container to the run that owns it.

Ryuk (testcontainers' reaper) is disabled: its image cannot be pulled offline. Instead
every container is labelled with its run id and its owner (pid and start time), and the
run registry removes the containers of runs whose owner died (``dapr-chaos reap``, and
every container-backend start).
"""

from __future__ import annotations

import contextlib
import logging
import os
from typing import Any

from harness.errors import ProvisionError
from harness.stack.process import process_start_time

# Before testcontainers is imported anywhere: its config reads the variable once.
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
# testcontainers logs "Pulling image" at INFO before every start, pulling or not: misleading
# offline, where images are always local.
logging.getLogger("testcontainers").setLevel(logging.WARNING)

RUN_LABEL = "dapr-chaos.run"
OWNER_LABEL = "dapr-chaos.owner"
MEMBER_LABEL = "dapr-chaos.member"

_client: Any = None


def engine_address() -> str:
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def docker_client() -> Any:
    """A docker-py client (shared in this process); ProvisionError if no engine answers."""
    global _client
    if _client is None:
        import docker

        try:
            # Each member's log stream holds a connection for the container's lifetime.
            client = docker.from_env(timeout=120, max_pool_size=32)
            client.ping()
        except Exception as exc:
            raise ProvisionError(
                f"no Docker engine answers at {engine_address()}; start one (as root on "
                "Debian: `make docker-engine`) or use --backend processes"
            ) from exc
        _client = client
    return _client


def engine_problem() -> str | None:
    """Why the container backend cannot run here, in one line (None: it can)."""
    try:
        docker_client()
    except ProvisionError as exc:
        return str(exc)
    return None


def owner_label() -> str:
    """``<pid>:<start time>`` of this process: tells a live owner from a reused pid."""
    return f"{os.getpid()}:{process_start_time(os.getpid())}"


def _owner_alive(label: str) -> bool:
    pid, _, start = label.partition(":")
    try:
        return str(process_start_time(int(pid))) == start
    except ValueError:
        return False


def remove_containers(ids: list[str]) -> list[str]:
    """Force-remove the containers in ``ids`` that still exist; returns the removed ones."""
    import docker.errors

    client = docker_client()
    removed = []
    for container_id in ids:
        with contextlib.suppress(docker.errors.NotFound):
            client.api.remove_container(container_id, force=True)
            removed.append(container_id)
    return removed


def reap_containers() -> list[str]:
    """Remove every dapr-chaos container whose owner is dead. One line per run reaped;
    nothing (and no error) when no engine runs."""
    if engine_problem() is not None:
        return []
    client = docker_client()
    dead: dict[str, list[str]] = {}
    for info in client.api.containers(all=True, filters={"label": RUN_LABEL}):
        labels = info.get("Labels") or {}
        if not _owner_alive(labels.get(OWNER_LABEL, "")):
            dead.setdefault(labels.get(RUN_LABEL, "?"), []).append(info["Id"])
    lines = []
    for run_id, ids in sorted(dead.items()):
        removed = remove_containers(ids)
        if removed:
            lines.append(f"removed {len(removed)} container(s) of dead run {run_id}")
    return lines
