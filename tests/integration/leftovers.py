"""What a stack owns, captured while it runs, to prove nothing of it survives."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from harness import Stack
from harness.stack.ports import port_is_free
from harness.stack.process import group_members, process_start_time


@dataclass
class Footprint:
    pids: dict[int, int | None]
    pgids: list[int]
    ports: list[int]
    run_dir: Path

    @classmethod
    def of(cls, stack: Stack) -> Footprint:
        procs = [m.process for m in stack.members.values()]
        pids = {p.pid: p.start_time for p in procs}
        assert stack.run_dir is not None
        return cls(
            pids, [p.pgid for p in procs], list(stack.ports.as_dict().values()), stack.run_dir
        )

    def leftovers(self) -> list[str]:
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
