"""The run registry: what each live stack owns, so the next run can reap what a killed
harness left behind.

One JSON file per stack in ``<tmp>/dapr-chaos-<uid>/runs/``: the owner's pid and start
time, the run directory, every member's process group and every container id (container
backend). A record whose owner is gone is an orphan: its process groups are SIGKILLed
(only when the group still belongs to the process recorded, never a reused pid), its
containers removed, its run directory removed, its record deleted.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from harness.settings import state_dir
from harness.stack.process import group_members, process_start_time


def registry_dir() -> Path:
    return state_dir("runs")


@dataclass
class GroupRecord:
    name: str
    pgid: int
    start_time: int | None


@dataclass
class RunRecord:
    run_id: str
    run_dir: str
    keep_run_dir: bool
    owner_pid: int = field(default_factory=os.getpid)
    owner_start: int | None = field(default_factory=lambda: process_start_time(os.getpid()))
    groups: list[GroupRecord] = field(default_factory=list)
    containers: list[str] = field(default_factory=list)

    @property
    def path(self) -> Path:
        return registry_dir() / f"{self.run_id}.json"

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self)))
        tmp.replace(self.path)

    def add_group(self, name: str, pgid: int, start_time: int | None) -> None:
        self.groups = [g for g in self.groups if g.name != name]
        self.groups.append(GroupRecord(name, pgid, start_time))
        self.save()

    def add_container(self, container_id: str) -> None:
        if container_id not in self.containers:
            self.containers.append(container_id)
            self.save()

    def remove(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    @classmethod
    def load(cls, path: Path) -> RunRecord:
        raw = json.loads(path.read_text())
        raw["groups"] = [GroupRecord(**g) for g in raw.get("groups", [])]
        return cls(**raw)

    def owner_alive(self) -> bool:
        start = process_start_time(self.owner_pid)
        return start is not None and start == self.owner_start


def _kill_group(group: GroupRecord) -> bool:
    leader_start = process_start_time(group.pgid)
    if leader_start is not None and leader_start != group.start_time:
        return False  # the pid was reused by an unrelated process
    if not group_members(group.pgid):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group.pgid, signal.SIGCONT)
        os.killpg(group.pgid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while group_members(group.pgid) and time.monotonic() < deadline:
        time.sleep(0.02)
    return True


def reap_orphans() -> list[str]:
    """Kill and clean up every stack whose owner died. Returns one line per orphan reaped."""
    reaped: list[str] = []
    for path in sorted(registry_dir().glob("*.json")):
        try:
            record = RunRecord.load(path)
        except (OSError, ValueError, TypeError):
            with contextlib.suppress(OSError):
                path.unlink()
            continue
        if record.owner_alive():
            continue
        killed = [g.name for g in record.groups if _kill_group(g)]
        if record.containers:
            from harness.stack.engine import remove_containers

            with contextlib.suppress(Exception):  # no engine: `dapr-chaos reap` retries
                killed += [f"container {c[:12]}" for c in remove_containers(record.containers)]
        if not record.keep_run_dir:
            shutil.rmtree(record.run_dir, ignore_errors=True)
        record.remove()
        reaped.append(
            f"reaped run {record.run_id} of dead pid {record.owner_pid}"
            + (f": killed {', '.join(killed)}" if killed else "")
        )
    return reaped
