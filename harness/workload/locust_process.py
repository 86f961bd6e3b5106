"""Locust as child processes of a stack: one headless process, or a master and W workers.

Locust runs on gevent, which monkey-patches the interpreter; inside pytest (or beside
the harness's threads) that breaks things, so it always runs in processes of its own,
each in its own process group (stopped with the stack at the latest). Everything binds
127.0.0.1: the web UI is off (``--headless``) and the master listens on a port of the
stack's block.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import WorkloadError
from harness.stack.process import ManagedProcess
from harness.stack.stack import Stack

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
WORKFLOW_LOCUSTFILE = Path(__file__).with_name("locust_workflows.py")
# Seconds Locust may take to start (import gevent, connect workers) before the load runs.
STARTUP_GRACE = 60.0


@dataclass(frozen=True)
class LocustCommand:
    """Command lines for one load run. ``workers=0``: a single local process."""

    host: str
    users: int
    spawn_rate: float
    run_time_s: int
    stats_base: Path
    workers: int = 0
    master_port: int = 0
    locustfile: Path = LOCUSTFILE

    def master(self) -> list[str]:
        argv = [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(self.locustfile),
            "--headless",
            "--host",
            self.host,
            "--users",
            str(self.users),
            "--spawn-rate",
            repr(self.spawn_rate),
            "--run-time",
            f"{self.run_time_s}s",
            "--stop-timeout",
            "0",
            "--only-summary",
            # Failed requests under faults are data, not a failed run: we judge them.
            "--exit-code-on-error",
            "0",
            "--json-file",
            str(self.stats_base),
        ]
        if self.workers:
            argv += [
                "--master",
                "--master-bind-host",
                "127.0.0.1",
                "--master-bind-port",
                str(self.master_port),
                "--expect-workers",
                str(self.workers),
                "--expect-workers-max-wait",
                str(int(STARTUP_GRACE)),
            ]
        return argv

    def worker(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(self.locustfile),
            "--worker",
            "--master-host",
            "127.0.0.1",
            "--master-port",
            str(self.master_port),
        ]


def run_time_s(duration: float) -> int:
    """Locust takes whole seconds: the duration rounded up."""
    return max(1, math.ceil(duration))


@dataclass
class LocustRun:
    """Running Locust processes of one load; :meth:`stop` ends every one of them."""

    stack: Stack
    command: LocustCommand
    master: ManagedProcess
    workers: list[ManagedProcess] = field(default_factory=list)

    @classmethod
    def start(cls, stack: Stack, command: LocustCommand, env: Mapping[str, str]) -> LocustRun:
        master = stack.start_helper("locust", command.master(), env=env)
        run = cls(stack, command, master)
        try:
            for i in range(command.workers):
                run.workers.append(
                    stack.start_helper(f"locust-worker-{i + 1}", command.worker(), env=env)
                )
        except BaseException:
            run.stop()
            raise
        return run

    def finished(self) -> bool:
        return not self.master.running()

    def check_alive(self) -> None:
        """A worker that died mid-run leaves the load short: an error, not a lower number."""
        for worker in self.workers:
            # Workers exit 0 when the master tells them the load is over.
            if not worker.running() and worker.returncode != 0 and self.master.running():
                raise WorkloadError(
                    f"Locust {worker.name} exited with status {worker.returncode} during the "
                    f"load:\n{worker.log_tail(20)}"
                )

    def wait(self, timeout: float) -> None:
        """Wait until the master exits (0, or a WorkloadError with its log)."""
        deadline = time.monotonic() + timeout
        while self.master.running() and time.monotonic() < deadline:
            time.sleep(0.1)
        if self.master.running():
            raise WorkloadError(
                f"Locust did not finish within {timeout:.0f}s:\n{self.master.log_tail(20)}"
            )
        if self.master.returncode != 0:
            raise WorkloadError(
                f"Locust exited with status {self.master.returncode}:\n{self.master.log_tail(30)}"
            )

    def stop(self) -> None:
        for process in [*self.workers, self.master]:
            self.stack.stop_helper(process)

    def stats(self) -> list[dict[str, Any]]:
        """Locust's final per-request statistics (``--json-file``)."""
        path = self.command.stats_base.with_name(self.command.stats_base.name + ".json")
        try:
            data: list[dict[str, Any]] = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise WorkloadError(
                f"Locust wrote no statistics to {path} ({exc}):\n{self.master.log_tail(20)}"
            ) from exc
        return data
