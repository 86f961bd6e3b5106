"""A managed child process: own process group, output to a log file, reliable stop.

Each member runs in a new session (its own process group), so stopping it reaches every
process it forked. On Linux the direct child also gets ``PR_SET_PDEATHSIG=SIGKILL`` when
started from the main thread: if the harness is SIGKILLed, the kernel kills the child at
once; anything the child forked is reaped by the run registry on the next run.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from harness.errors import StackError

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except OSError:
        pass


def log_size(path: Path | None) -> int:
    """Size of a log file in bytes (0 when there is none yet)."""
    try:
        return path.stat().st_size if path else 0
    except OSError:
        return 0


def log_since(path: Path | None, offset: int, limit: int = 4 * 1024 * 1024) -> str:
    """What was written to ``path`` after ``offset`` bytes (at most ``limit`` bytes)."""
    if path is None:
        return ""
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            return handle.read(limit).decode("utf-8", "replace")
    except OSError:
        return ""


def tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a text file ("" if it does not exist)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            data = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


def process_start_time(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot (None if gone): tells reused pids apart."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            stat = handle.read()
    except OSError:
        return None
    # The command name may contain spaces and parentheses: split after the last ')'.
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[19])


def process_state(pid: int) -> str | None:
    """The state letter of ``pid`` from /proc (R, S, D, T for stopped, ...; None if gone)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def group_members(pgid: int) -> list[int]:
    """Pids of live processes whose process group is ``pgid``."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry))
    return members


class MemberProcess(Protocol):
    """What the stack, the faults and the checks need of a member's process, whatever runs
    it: :class:`ManagedProcess` (a local process group) or
    :class:`~harness.stack.container.ContainerProcess` (a container).

    ``signal`` delivers a signal (SIGSTOP/SIGCONT pause and resume it); ``stop`` ends it
    (SIGTERM, SIGKILL after ``grace`` seconds) and is safe to repeat; the log methods read
    the member's output, which is appended to ``log_path``.
    """

    name: str
    argv: list[str]
    log_path: Path | None
    start_time: int | None
    started_at: float | None  # epoch seconds of the last start (None: never started)

    @property
    def pid(self) -> int: ...

    @property
    def returncode(self) -> int | None: ...

    def start(self) -> None: ...

    def running(self) -> bool: ...

    def paused(self) -> bool:
        """Whether it is stopped by SIGSTOP (a pause), as far as its runtime tells."""
        ...

    def wait(self, timeout: float | None = None) -> int: ...

    def signal(self, sig: int) -> None: ...

    def stop(self, grace: float = 3.0) -> None: ...

    def log_tail(self, lines: int = 40) -> str: ...

    def log_size(self) -> int: ...

    def log_since(self, offset: int, limit: int = 4 * 1024 * 1024) -> str: ...


class ManagedProcess:
    """One stack member's process. Not started until :meth:`start`."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path | None,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        """``log_path=None``: the process writes to this process's stdout and stderr (the
        foreground command of ``dapr-chaos exec``)."""
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self._popen: subprocess.Popen[bytes] | None = None
        self.start_time: int | None = None
        self.started_at: float | None = None

    @property
    def pid(self) -> int:
        if self._popen is None:
            raise StackError(f"{self.name} has not been started")
        return self._popen.pid

    @property
    def pgid(self) -> int:
        return self.pid  # start_new_session makes the child its group's leader

    def start(self) -> None:
        """Spawn the process; output is appended to ``log_path``. Not thread-safe: a
        stack (re)starts its members through ``Stack.start_member``, which serialises."""
        if self.running():
            raise StackError(f"{self.name} is already running (pid {self.pid})")
        in_main = threading.current_thread() is threading.main_thread()
        if self.log_path is None:
            self._spawn(None, in_main)
        else:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.log_path, "ab") as log:
                stamp = f"=== {time.strftime('%H:%M:%S')} start: {' '.join(self.argv)}\n"
                log.write(stamp.encode())
                log.flush()
                self._spawn(log, in_main)
        assert self._popen is not None
        self.start_time = process_start_time(self._popen.pid)
        self.started_at = time.time()

    def _spawn(self, log: Any, in_main: bool) -> None:
        try:
            self._popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL if log is not None else None,
                stdout=log,
                stderr=subprocess.STDOUT if log is not None else None,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
                preexec_fn=_die_with_parent if in_main else None,
            )
        except OSError as exc:
            raise StackError(f"cannot start {self.name} ({self.argv[0]}): {exc.strerror}") from exc

    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def paused(self) -> bool:
        return self.running() and process_state(self.pid) in ("T", "t")

    @property
    def returncode(self) -> int | None:
        return None if self._popen is None else self._popen.poll()

    def wait(self, timeout: float | None = None) -> int:
        """Wait for exit (seconds); returns the exit status (negative: killed by signal)."""
        if self._popen is None:
            raise StackError(f"{self.name} has not been started")
        return self._popen.wait(timeout)

    def signal(self, sig: int) -> None:
        """Send ``sig`` to the whole process group; an exited member is an error."""
        if not self.running():
            raise StackError(f"cannot signal {self.name}: it is not running")
        os.killpg(self.pgid, sig)
        if sig == signal.SIGSTOP:
            # Delivery is asynchronous: return once the process has really stopped, so a
            # pause is in force when the fault says it is (as `docker pause` is).
            deadline = time.monotonic() + 2.0
            while process_state(self.pid) not in ("T", "t", None):
                if time.monotonic() > deadline:
                    raise StackError(f"{self.name} (pid {self.pid}) did not stop within 2 s")
                time.sleep(0.002)

    def log_tail(self, lines: int = 40) -> str:
        return tail(self.log_path, lines) if self.log_path else ""

    def log_size(self) -> int:
        """Current size of the log in bytes (a bookmark for :meth:`log_since`)."""
        return log_size(self.log_path)

    def log_since(self, offset: int, limit: int = 4 * 1024 * 1024) -> str:
        """What the process logged after ``offset`` bytes (at most ``limit`` bytes)."""
        return log_since(self.log_path, offset, limit)

    def stop(self, grace: float = 3.0) -> None:
        """SIGTERM the group, SIGKILL after ``grace`` seconds; returns when all are gone."""
        if self._popen is None:
            return
        pgid = self.pgid
        if self._popen.poll() is None or group_members(pgid):
            try:
                os.killpg(pgid, signal.SIGCONT)  # a paused group cannot act on SIGTERM
                os.killpg(pgid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline:
                self._popen.poll()
                if self._popen.returncode is not None and not group_members(pgid):
                    break
                time.sleep(0.02)
            else:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pgid, signal.SIGKILL)
        try:
            self._popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._popen.kill()
            self._popen.wait()
        deadline = time.monotonic() + 5
        while group_members(pgid) and time.monotonic() < deadline:
            time.sleep(0.02)
