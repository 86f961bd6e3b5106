"""The container backend: each stack member runs in a container started through
testcontainers, with the same arguments as the process backend.

Containers share the host's network (every member still binds 127.0.0.1 and nothing
else, so traffic stays on loopback and no Docker network is created) and the host's pid
namespace (so a pid in the ledger is the pid the harness sees, and a process may SIGKILL
itself as the app's failpoints do; as pid 1 of its own namespace it could not). The run
directory is bind-mounted read-write at the same path, so argument paths, Valkey's AOF,
the scheduler's etcd and the ledger are where the process backend has them, and survive
a member's restart. Containers run as the harness's own uid:gid: files they write in the
run directory belong to the user.

:class:`ContainerProcess` has the interface of
:class:`~harness.stack.process.ManagedProcess`: a kill is ``docker kill --signal``,
SIGSTOP/SIGCONT are ``docker pause``/``unpause``, and the container's output is streamed
into the same log file, so readiness, faults and checks run unchanged.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.errors import StackError
from harness.stack.engine import (
    docker_client,
)
from harness.stack.process import log_since, log_size, process_start_time, tail

Mount = tuple[Path, str]  # host path (mounted at the same path), "ro" or "rw"


def _local_start_time(pid: int, container_id: str) -> int | None:
    """Start time of the container's main process when this harness sees the daemon's
    pid namespace (the process's cgroup names the container), else None."""
    try:
        cgroups = Path(f"/proc/{pid}/cgroup").read_text() if pid else ""
    except OSError:
        return None
    return process_start_time(pid) if container_id in cgroups else None


def _alive(pid: int, start_time: int) -> bool:
    """``pid`` is the same process (started at ``start_time``) and not a zombie."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return False
    return fields[0] != "Z" and int(fields[19]) == start_time


def exit_status(code: int) -> int:
    """Docker's exit code in Popen's convention: 128+N (killed by signal N) becomes -N."""
    return -(code - 128) if 128 < code <= 128 + 64 else code


class ContainerProcess:
    """One stack member's container. Each :meth:`start` creates a fresh container from
    ``image`` (the previous one is removed), so a restart keeps only what lives in the
    bind-mounted directories, like a restarted process keeps only its files."""

    def __init__(
        self,
        name: str,
        image: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        container_name: str,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        mounts: Sequence[Mount] = (),
        labels: Mapping[str, str] | None = None,
        on_start: Callable[[str], None] | None = None,
    ) -> None:
        """``argv[0]`` is the executable's path inside the image (the entrypoint).
        ``on_start`` is told each new container's id (the run registry records it)."""
        self.name = name
        self.image = image
        self.argv = list(argv)
        self.log_path: Path | None = log_path
        self.env = dict(env or {})
        self.cwd = cwd
        self.mounts = list(mounts)
        self.labels = dict(labels or {})
        self.container_name = container_name
        self.start_time: int | None = None
        self.started_at: float | None = None
        self._on_start = on_start
        self._id: str | None = None
        self._pid: int | None = None
        self._exit_code: int | None = None
        self._follower: threading.Thread | None = None

    @property
    def container_id(self) -> str | None:
        return self._id

    @property
    def pid(self) -> int:
        """Host pid of the container's main process (the pid namespace is the host's);
        0 when the container ended before its pid could be read."""
        if self._pid is None:
            raise StackError(f"{self.name} has not been started")
        return self._pid

    def start(self) -> None:
        """Create and start a new container; its output is appended to ``log_path``."""
        from testcontainers.core.config import testcontainers_config
        from testcontainers.core.container import DockerContainer

        # No Ryuk (its image cannot be pulled offline): the run registry reaps instead.
        testcontainers_config.ryuk_disabled = True
        if self.running():
            raise StackError(f"{self.name} is already running (container {self._id})")
        self._remove()
        assert self.log_path is not None
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            stamp = f"=== {time.strftime('%H:%M:%S')} start {self.image}: {' '.join(self.argv)}\n"
            log.write(stamp.encode())
        container = (
            DockerContainer(self.image, env=self.env)
            .with_name(self.container_name)
            .with_command(self.argv[1:])
            .with_kwargs(
                entrypoint=[self.argv[0]],
                network="host",
                pid_mode="host",
                user=f"{os.getuid()}:{os.getgid()}",
                labels=self.labels,
                working_dir=str(self.cwd or "/"),
            )
        )
        for host, mode in self.mounts:
            container.with_volume_mapping(str(host), str(host), mode)
        try:
            container.start()
        except Exception as exc:
            self._remove_named()
            raise StackError(
                f"cannot start the {self.name} container from {self.image}: {str(exc)[:300]}"
            ) from exc
        wrapped = container.get_wrapped_container()
        self._id = wrapped.id
        self._exit_code = None
        if self._on_start is not None:
            self._on_start(wrapped.id)
        state = docker_client().api.inspect_container(wrapped.id)["State"]
        self._pid = int(state.get("Pid") or 0)
        self.start_time = _local_start_time(self._pid, wrapped.id)
        self.started_at = time.time()
        self._follower = threading.Thread(
            target=self._follow, args=(wrapped.id,), name=f"logs-{self.name}", daemon=True
        )
        self._follower.start()

    def _follow(self, container_id: str) -> None:
        """Append the container's output to the log file until the container ends."""
        assert self.log_path is not None
        try:
            stream = docker_client().api.logs(container_id, stream=True, follow=True)
            with open(self.log_path, "ab") as log:
                for chunk in stream:
                    log.write(chunk)
                    log.flush()
        except Exception:
            pass  # the container was removed mid-stream: nothing more to log

    def _state(self) -> dict[str, Any] | None:
        import docker.errors

        if self._id is None:
            return None
        try:
            state: dict[str, Any] = docker_client().api.inspect_container(self._id)["State"]
        except docker.errors.NotFound:
            return None
        if state.get("Status") == "exited":
            self._exit_code = int(state.get("ExitCode", 0))
        return state

    def running(self) -> bool:
        """True while the container runs (paused counts: a SIGSTOPped process runs too).

        Docker reports a container's end some milliseconds after its process died (a
        failpoint's self-SIGKILL, for one); where the pid is visible here, /proc decides
        at once, as ``Popen.poll`` does for the process backend."""
        state = self._state()
        if state is None or state.get("Status") not in ("running", "paused", "restarting"):
            return False
        return self.start_time is None or _alive(self._pid or 0, self.start_time)

    def _settle(self, timeout: float = 5.0) -> None:
        """Wait (seconds) until Docker has recorded the exit code of a dead container."""
        deadline = time.monotonic() + timeout
        while self._exit_code is None and self._id is not None and time.monotonic() < deadline:
            if self._state() is None:
                break
            time.sleep(0.01)

    @property
    def returncode(self) -> int | None:
        if self.running():
            return None
        self._settle()
        return None if self._exit_code is None else exit_status(self._exit_code)

    def wait(self, timeout: float | None = None) -> int:
        """Wait for exit (seconds); the exit status, negative when killed by a signal."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.running():
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(self.argv, timeout or 0)
            time.sleep(0.05)
        self._settle()
        if self._exit_code is None:
            raise StackError(f"{self.name} has not been started")
        return exit_status(self._exit_code)

    def paused(self) -> bool:
        state = self._state()
        return state is not None and state.get("Status") == "paused"

    def signal(self, sig: int) -> None:
        """SIGSTOP: ``docker pause``; SIGCONT: ``docker unpause`` (or the signal when not
        paused); anything else: ``docker kill --signal`` (a paused container is resumed
        first, as a stopped process would act on the signal once continued)."""
        import docker.errors

        state = self._state()
        if state is None or state.get("Status") not in ("running", "paused"):
            raise StackError(f"cannot signal {self.name}: it is not running")
        api = docker_client().api
        paused = state.get("Status") == "paused"
        try:
            if sig == signal.SIGSTOP:
                if not paused:
                    api.pause(self._id)
                return
            if paused:
                api.unpause(self._id)
            if sig != signal.SIGCONT or not paused:
                api.kill(self._id, signal=int(sig))
        except docker.errors.APIError as exc:  # it ended in between
            raise StackError(f"cannot signal {self.name}: {exc.explanation}") from exc

    def _join_logs(self, timeout: float) -> None:
        if self._follower is not None:
            self._follower.join(timeout)

    def log_tail(self, lines: int = 40) -> str:
        if not self.running():
            self._join_logs(2.0)  # the last lines may still be in flight
        return tail(self.log_path, lines) if self.log_path else ""

    def log_size(self) -> int:
        return log_size(self.log_path)

    def log_since(self, offset: int, limit: int = 4 * 1024 * 1024) -> str:
        return log_since(self.log_path, offset, limit)

    def stop(self, grace: float = 3.0) -> None:
        """``docker stop`` (SIGTERM, SIGKILL after ``grace`` seconds), then remove the
        container. Safe to repeat."""
        import docker.errors

        if self._id is None:
            return
        state = self._state()
        api = docker_client().api
        try:
            if state is not None and state.get("Status") == "paused":
                api.unpause(self._id)
            if state is not None and state.get("Status") in ("running", "paused"):
                api.stop(self._id, timeout=math.ceil(grace))
                self._state()
        except docker.errors.NotFound:
            pass
        finally:
            self._remove()

    def _remove(self) -> None:
        import docker.errors

        if self._id is not None:
            with contextlib.suppress(docker.errors.NotFound):
                docker_client().api.remove_container(self._id, force=True)
            self._join_logs(5.0)
            self._id = None
        self._remove_named()

    def _remove_named(self) -> None:
        """A container of this name left by a failed create (the name must be free)."""
        import docker.errors

        with contextlib.suppress(docker.errors.NotFound):
            docker_client().api.remove_container(self.container_name, force=True)
