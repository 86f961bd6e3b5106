"""When a scheduled fault fires: one trigger evaluator and one interpreter of pending
events, shared by plain runs (:func:`~harness.experiment.schedule_run.run_schedule`) and
load runs (:func:`~harness.experiment.load.run_load`).

``At`` counts seconds from the start of the run's chaos phase (or of the load), as the
caller's ``elapsed`` clock says; ``OnFailpoint`` counts hits of this run's instances (id
prefix) since the Chaos began; ``OnCompleted`` counts this run's terminal instances, as
the caller's ``completed`` counter says.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from harness.errors import ConfigError, FaultError
from harness.faults.schedule import At, FaultEvent, OnCompleted, OnFailpoint, Trigger

if TYPE_CHECKING:
    from harness.experiment.chaos import Chaos


class Triggers:
    """Evaluates triggers for one run of ``chaos`` on instances ``<prefix>*``."""

    def __init__(
        self,
        chaos: Chaos,
        *,
        prefix: str,
        elapsed: Callable[[], float],
        completed: Callable[[], int],
    ) -> None:
        self.chaos = chaos
        self.prefix = prefix
        self.elapsed = elapsed
        self.completed = completed

    def fired(self, trigger: Trigger) -> bool:
        if isinstance(trigger, At):
            return self.elapsed() >= trigger.seconds
        if isinstance(trigger, OnFailpoint):
            hits = [
                h
                for h in self.chaos.hits.hits(self.prefix)
                if h.name == trigger.name and h.ts >= self.chaos.started
            ]
            return len(hits) >= trigger.nth
        if isinstance(trigger, OnCompleted):
            return self.completed() >= trigger.count
        raise ConfigError(f"unknown trigger {trigger!r}")


class PendingEvents:
    """A schedule's events not fired yet; :meth:`fire_due` injects those whose trigger
    fired. Before the run, a failpoint that is only a trigger is armed to ``trace`` so its
    hits are recorded."""

    def __init__(self, chaos: Chaos, events: Sequence[FaultEvent], triggers: Triggers) -> None:
        self.chaos = chaos
        self.triggers = triggers
        self.events = list(events)
        for event in self.events:
            trigger = event.trigger
            if isinstance(trigger, OnFailpoint) and trigger.name not in chaos.failpoints.armed:
                chaos.arm(trigger.name, "trace", count=None, instances=triggers.prefix)

    def __bool__(self) -> bool:
        return bool(self.events)

    def __len__(self) -> int:
        return len(self.events)

    def fire_due(self) -> None:
        for event in list(self.events):
            if self.triggers.fired(event.trigger):
                self.events.remove(event)
                self.chaos.timeline.mark("trigger", event.describe())
                self.chaos.inject(event.fault, duration=event.duration)

    def never_fired(self, span: str) -> FaultError | None:
        """The error for events still pending at the end (None: all fired): a scheduled
        fault that never triggered did nothing. ``span`` says over what time, e.g.
        "within the 30s chaos phase"."""
        if not self.events:
            return None
        return FaultError(
            f"{len(self.events)} scheduled fault(s) never triggered {span}, so they did "
            "nothing: " + "; ".join(e.describe() for e in self.events)
        )
