"""Process faults on stack members: kill, pause, restart, daprd soft restart."""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.errors import ConfigError, FaultError
from harness.faults.fault import MEMBERS

if TYPE_CHECKING:
    from harness.stack.stack import Stack


def _check_member(target: str) -> None:
    if target not in MEMBERS:
        raise ConfigError(
            f"unknown process fault target {target!r}; choose one of " + ", ".join(MEMBERS)
        )


def _running(stack: Stack, target: str, what: str) -> None:
    member = stack.members.get(target)
    if member is None or not member.process.running():
        raise FaultError(
            f"cannot {what} {target}: it is not running (a fault that hits nothing is an error)"
        )


@dataclass(frozen=True)
class Kill:
    """Send ``sig`` (default SIGKILL) to the member's whole process group and wait (up to
    5 s) until it is gone, whatever the signal: a member that survives it was not killed,
    and that is a FaultError. The stack-wide heal starts it again."""

    target: str
    sig: int = signal.SIGKILL
    kind: str = "kill"

    def __post_init__(self) -> None:
        _check_member(self.target)

    def detail(self) -> str:
        return signal.Signals(self.sig).name

    def inject(self, stack: Stack) -> None:
        _running(stack, self.target, "kill")
        process = stack.process(self.target)
        process.signal(self.sig)
        deadline = time.monotonic() + 5
        while process.running() and time.monotonic() < deadline:
            time.sleep(0.01)
        if process.running():
            raise FaultError(
                f"{self.target} (pid {process.pid}) survived {self.detail()} for 5 s: it "
                "handles the signal, so the kill did nothing; use KILL or TERM"
            )

    def heal(self, stack: Stack) -> None:
        pass  # restarting what is down is the stack-wide heal's job


@dataclass(frozen=True)
class Pause:
    """SIGSTOP the member's process group; heal sends SIGCONT."""

    target: str
    kind: str = "pause"

    def __post_init__(self) -> None:
        _check_member(self.target)

    def detail(self) -> str:
        return "SIGSTOP"

    def inject(self, stack: Stack) -> None:
        _running(stack, self.target, "pause")
        process = stack.process(self.target)
        if process.paused():
            raise FaultError(
                f"cannot pause {self.target}: it is paused already, so a second pause would "
                "do nothing"
            )
        process.signal(signal.SIGSTOP)

    def heal(self, stack: Stack) -> None:
        process = stack.process(self.target)
        if process.running():
            process.signal(signal.SIGCONT)


@dataclass(frozen=True)
class Restart:
    """Stop the member (SIGTERM, then SIGKILL after the grace) and start it on the same
    ports with the same data; returns once it is ready again."""

    target: str
    kind: str = "restart"

    def __post_init__(self) -> None:
        _check_member(self.target)

    def detail(self) -> str:
        return "same ports, same data"

    def inject(self, stack: Stack) -> None:
        _running(stack, self.target, "restart")
        stack.restart_member(self.target)

    def heal(self, stack: Stack) -> None:
        pass


# What daprd logs when SIGHUP restarts its runtime, and once the new runtime runs.
_HANGUP = "Received signal 'hangup'; restarting"
_INITIALIZED = "dapr initialized"


@dataclass(frozen=True)
class SoftRestart:
    """SIGHUP to daprd: it restarts its runtime in-process (same pid). Confirmed by
    daprd's log (the restart, then a new "dapr initialized") within 10 s, or FaultError."""

    target: str = "daprd"
    kind: str = "soft-restart"

    def __post_init__(self) -> None:
        if self.target != "daprd":
            raise ConfigError(f"soft restart only applies to daprd, not {self.target!r}")

    def detail(self) -> str:
        return "SIGHUP"

    def inject(self, stack: Stack) -> None:
        _running(stack, "daprd", "soft-restart")
        process = stack.process("daprd")
        offset = process.log_size()
        process.signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            logged = process.log_since(offset)
            restarted = logged.find(_HANGUP)
            if restarted >= 0 and _INITIALIZED in logged[restarted:]:
                return
            time.sleep(0.05)
        raise FaultError(
            "daprd got SIGHUP but did not log a runtime restart within 10 s (no "
            f"{_HANGUP!r} then {_INITIALIZED!r}): the soft restart may have done nothing"
        )

    def heal(self, stack: Stack) -> None:
        pass
