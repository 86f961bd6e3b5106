"""Fault schedules: which faults happen when, in a run of three phases.

chaos   the workload runs; each event's fault is injected when its trigger fires (at a
        time since the phase began, on the Nth hit of a failpoint, or once N orders are
        terminal) and healed after its duration (or left until the heal phase);
heal    every fault is removed and every member that is down is started again;
verify  every accepted order must become terminal before the deadline, then the checks.

All durations are seconds. Event triggers are preferred to times where possible: they
make a run reproducible whatever the machine's speed.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.errors import ConfigError
from harness.faults.fault import Fault


@dataclass(frozen=True)
class At:
    """``seconds`` after the chaos phase began."""

    seconds: float

    def __post_init__(self) -> None:
        if self.seconds < 0:
            raise ConfigError(f"trigger time must be >= 0 seconds, got {self.seconds}")

    def describe(self) -> str:
        return f"at {self.seconds:g}s"


@dataclass(frozen=True)
class OnFailpoint:
    """The ``nth`` hit of failpoint ``name`` in this run (traced if not armed)."""

    name: str
    nth: int = 1

    def __post_init__(self) -> None:
        if self.nth < 1:
            raise ConfigError(f"failpoint trigger nth must be >= 1, got {self.nth}")

    def describe(self) -> str:
        return f"on hit {self.nth} of failpoint {self.name}"


@dataclass(frozen=True)
class OnCompleted:
    """Once ``count`` instances of this run (orders, or workflow instances) are terminal."""

    count: int

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ConfigError(f"completion trigger count must be >= 1, got {self.count}")

    def describe(self) -> str:
        return f"once {self.count} instances are terminal"  # orders are instances too


Trigger = At | OnFailpoint | OnCompleted
# Faults that act once and are over (nothing is healed afterwards).
INSTANT_KINDS = ("restart", "soft-restart", "deploy", "raise-event")


@dataclass(frozen=True)
class FaultEvent:
    """Inject ``fault`` when ``trigger`` fires; heal it after ``duration`` seconds, or
    (``duration=None``) at the heal phase."""

    trigger: Trigger
    fault: Fault
    duration: float | None = None

    def __post_init__(self) -> None:
        if self.duration is not None and self.duration <= 0:
            raise ConfigError(f"fault duration must be > 0 seconds, got {self.duration}")

    def describe(self) -> str:
        span = f" for {self.duration:g}s" if self.duration else " until heal"
        if self.fault.kind in INSTANT_KINDS:
            span = ""
        return f"{self.fault.kind} {self.fault.target} {self.trigger.describe()}{span}"


@dataclass(frozen=True)
class Schedule:
    """Events of the chaos phase. ``chaos_timeout``: the longest the chaos phase may
    last; an event not triggered by then is an error (it would have done nothing).
    ``verify_deadline``: how long accepted orders get to become terminal."""

    events: tuple[FaultEvent, ...]
    chaos_timeout: float = 60.0
    verify_deadline: float = 60.0

    def __post_init__(self) -> None:
        if self.chaos_timeout <= 0 or self.verify_deadline <= 0:
            raise ConfigError("chaos_timeout and verify_deadline must be > 0 seconds")
