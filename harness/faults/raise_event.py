"""A scheduled client step: raise an external event on the run's workflow instances.

Not a fault of the stack: the event is what a client sends while the schedule breaks
things around it (the app down, mid-deploy, daprd restarting), so that the
``events-delivered`` check can judge that daprd delivered each one exactly once when the
instance could take it again. It is scheduled like a fault (the same triggers, in the
same list), but the run's workload sends it (:class:`~harness.experiment.triggers.PendingEvents`),
never the nemesis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.errors import ConfigError, FaultError

if TYPE_CHECKING:
    from harness.stack.stack import Stack

# Which instances get the event: those of the run not known to be terminal when the
# trigger fires, or every one the run started (a finished instance ignores it).
RECIPIENTS = ("running", "all")
RESEND_S = 40.0  # seconds a raise that daprd did not take is sent again (the app is down)


@dataclass(frozen=True)
class RaiseEvent:
    """Raise external event ``name`` with ``data`` (JSON) on ``instances`` (one of
    :data:`RECIPIENTS`) of the run; each raise is sent again for up to ``resend_for``
    seconds while daprd does not take it (as a client retries), in the background, so
    the schedule goes on meanwhile."""

    name: str
    data: Any = None
    instances: str = "running"
    resend_for: float = RESEND_S
    target: str = "workload"
    kind: str = "raise-event"

    def __post_init__(self) -> None:
        if not self.name:
            raise ConfigError("raise-event needs an event name")
        if self.instances not in RECIPIENTS:
            raise ConfigError(
                f"raise-event instances {self.instances!r} is unknown; use running or all"
            )
        if not self.resend_for >= 0:
            raise ConfigError(f"raise-event resend_for must be >= 0 seconds, got {self.resend_for}")

    def detail(self) -> str:
        return f"event {self.name!r} to the {self.instances} instances"

    def inject(self, stack: Stack) -> None:
        raise FaultError(
            f"raise-event {self.name!r} is sent by the run's workload, not injected into "
            "the stack: schedule it in a run (run_schedule, run_load, a scenario), or call "
            "Workflows.raise_event"
        )

    def heal(self, stack: Stack) -> None:
        return None
