"""The labels that tie each container to the run that owns it, and the reaping of
containers whose run died.

Ryuk (testcontainers' reaper) is disabled (see :mod:`harness.runtime.engine`). Instead
every container is labelled with its run id and its owner (pid and start time), and the
run registry removes the containers of runs whose owner died (``dapr-chaos reap``, and
every container-backend start).
"""

from __future__ import annotations

import contextlib
import os

from harness.runtime.engine import docker_client, engine_problem
from harness.stack.process import process_start_time

__all__ = [
    "MEMBER_LABEL",
    "OWNER_LABEL",
    "RUN_LABEL",
    "docker_client",
    "engine_problem",
    "owner_label",
    "reap_containers",
    "remove_containers",
]

RUN_LABEL = "dapr-chaos.run"
OWNER_LABEL = "dapr-chaos.owner"
MEMBER_LABEL = "dapr-chaos.member"


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
