"""Testing helpers for the harness itself and for a team's CI (public, like
``trio.testing``): prove that a run leaves nothing behind, look at the run registry, find
or build binaries and images, reach the Docker engine the container backend uses.

The chaos-testing API is :mod:`harness`; this module is for checking the harness's own
promises (no process, port or run directory survives a run) where a test suite wants to.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.checks.exactly_once import NEW_TASK as NEW_TASK
from harness.checks.exactly_once import SAME_TASK as SAME_TASK
from harness.runtime.engine import docker_client as docker_client
from harness.runtime.engine import engine_problem as engine_problem
from harness.runtime.goapps import build_go_app as build_go_app
from harness.runtime.images import UPSTREAM as UPSTREAM_IMAGES
from harness.runtime.images import build_images as build_images
from harness.runtime.images import local_recipes as local_recipes
from harness.runtime.provision import locate as locate
from harness.runtime.provision import provision as provision
from harness.stack.engine import MEMBER_LABEL as MEMBER_LABEL
from harness.stack.engine import OWNER_LABEL as OWNER_LABEL
from harness.stack.engine import RUN_LABEL as RUN_LABEL
from harness.stack.engine import reap_containers as reap_containers
from harness.stack.ports import PORT_NAMES as PORT_NAMES
from harness.stack.ports import port_is_free as port_is_free
from harness.stack.process import MemberProcess
from harness.stack.process import group_members as group_members
from harness.stack.process import process_start_time as process_start_time
from harness.stack.registry import reap_orphans as reap_orphans
from harness.stack.registry import registry_dir as registry_dir
from harness.stack.stack import Stack
from harness.workload.operations import Operations as Operations

__all__ = [
    "MEMBER_LABEL",
    "NEW_TASK",
    "OWNER_LABEL",
    "PORT_NAMES",
    "RUN_LABEL",
    "SAME_TASK",
    "UPSTREAM_IMAGES",
    "Footprint",
    "Operations",
    "build_go_app",
    "build_images",
    "child_processes",
    "docker_client",
    "engine_problem",
    "group_members",
    "is_container",
    "local_recipes",
    "locate",
    "port_is_free",
    "process_start_time",
    "provision",
    "reap_containers",
    "reap_orphans",
    "registry_dir",
    "run_records",
]


@dataclass
class Footprint:
    """What a stack owns, captured while it runs, to prove nothing of it survives:
    its processes (pid → start time, so a reused pid is not mistaken for one), their
    process groups, its ports and its run directory."""

    pids: dict[int, int | None]
    pgids: list[int]
    ports: list[int]
    run_dir: Path

    @classmethod
    def of(cls, stack: Stack) -> Footprint:
        procs = [m.process for m in stack.members.values()]
        pids = {p.pid: p.start_time for p in procs}
        if stack.run_dir is None:
            raise ValueError("the stack is not started: it owns nothing yet")
        pgids = [int(getattr(p, "pgid", p.pid)) for p in procs]
        return cls(pids, pgids, list(stack.ports.as_dict().values()), stack.run_dir)

    def leftovers(self) -> list[str]:
        """One line per thing that survived (empty: nothing did)."""
        left = [
            f"pid {pid}"
            for pid, start in self.pids.items()
            if start is not None and process_start_time(pid) == start
        ]
        left += [f"group {g}: {group_members(g)}" for g in self.pgids if group_members(g)]
        left += [f"port {p}" for p in self.ports if not port_is_free(p)]
        if self.run_dir.exists():
            left.append(f"run dir {self.run_dir}")
        return left


def child_processes() -> list[int]:
    """Live (non-zombie) children of this process."""
    me = os.getpid()
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == me and fields[0] != "Z":
                found.append(int(entry))
    return found


def run_records() -> list[dict[str, Any]]:
    """The run registry's records of the runs alive now (or dead and not reaped yet):
    run id, owner, run directory, process groups and containers."""
    records = []
    for path in sorted(registry_dir().glob("*.json")):
        try:
            records.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue  # removed or being written right now
    return records


def is_container(process: MemberProcess) -> bool:
    """Whether a member's process runs as a container (the container backend)."""
    return type(process).__name__ == "ContainerProcess"
