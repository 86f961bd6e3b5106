"""When a scheduled fault fires: one trigger evaluator and one interpreter of pending
events, shared by plain runs (:func:`~harness.experiment.schedule_run.run_schedule`) and
load runs (:func:`~harness.experiment.load.run_load`).

``At`` counts seconds from the start of the run's chaos phase (or of the load), as the
caller's ``elapsed`` clock says; ``OnFailpoint`` counts hits of this run's instances (id
prefix) since the Chaos began; ``OnCompleted`` counts this run's terminal instances, as
the caller's ``completed`` counter says.

A :class:`~harness.faults.raise_event.RaiseEvent` in a schedule is sent by the run's
workload (an :class:`EventSender`), in the background: the events stay pending (the run
goes on) until every raise got its answer or gave up.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from harness.errors import ConfigError, FaultError, HarnessError, WorkloadError
from harness.faults.raise_event import RaiseEvent
from harness.faults.schedule import At, FaultEvent, OnCompleted, OnFailpoint, Trigger
from harness.record.history import InstanceStatus

if TYPE_CHECKING:
    from harness.experiment.chaos import Chaos


RAISERS = 8  # raises sent at once: one waits out the app's absence, the others need not


@runtime_checkable
class EventSender(Protocol):
    """What sends a scheduled external event: a workflow workload
    (:class:`~harness.workload.workflows.Workflows`)."""

    def status(self, instance_id: str) -> InstanceStatus | None: ...

    def try_raise_event(
        self, instance_id: str, name: str, data: Any = None, *, resend_for: float = 0.0
    ) -> bool: ...


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
    hits are recorded. A raise-event is sent through ``sender`` to the run's instances
    (``accepted()``: the ids the run started and daprd took, so far); it counts as pending
    until its raises are answered."""

    def __init__(
        self,
        chaos: Chaos,
        events: Sequence[FaultEvent],
        triggers: Triggers,
        *,
        sender: EventSender | None = None,
        accepted: Callable[[], Sequence[str]] = lambda: (),
    ) -> None:
        self.chaos = chaos
        self.triggers = triggers
        self.events = list(events)
        self.sender = sender
        self.accepted = accepted
        self._sending: list[threading.Thread] = []
        self._errors: list[HarnessError] = []
        for event in self.events:
            trigger = event.trigger
            if isinstance(trigger, OnFailpoint) and trigger.name not in chaos.failpoints.armed:
                chaos.arm(trigger.name, "trace", count=None, instances=triggers.prefix)
            if isinstance(event.fault, RaiseEvent) and sender is None:
                raise ConfigError(
                    f"raise-event {event.fault.name!r} needs a workflow workload to send it "
                    "(the order API raises no event): run the scenario with workload.workflow"
                )

    def __bool__(self) -> bool:
        return bool(self.events) or any(t.is_alive() for t in self._sending)

    def __len__(self) -> int:
        return len(self.events)

    def fire_due(self) -> None:
        """Inject (send) every event whose trigger fired; raises the first error of a
        raise-event sent earlier (it reached no instance)."""
        if self._errors:
            raise self._errors[0]
        for event in list(self.events):
            if self.triggers.fired(event.trigger):
                self.events.remove(event)
                self.chaos.timeline.mark("trigger", event.describe())
                if isinstance(event.fault, RaiseEvent):
                    self._send(event.fault, event.trigger.describe())
                else:
                    self.chaos.inject(event.fault, duration=event.duration)

    def _send(self, step: RaiseEvent, when: str) -> None:
        ids = list(self.accepted())
        thread = threading.Thread(
            target=self._raise_all, args=(step, ids, when), name="raise-event", daemon=True
        )
        self._sending.append(thread)
        thread.start()

    def _raise_all(self, step: RaiseEvent, ids: list[str], when: str) -> None:
        sender = self.sender
        assert sender is not None  # refused at construction
        try:
            to = ids if step.instances == "all" else [i for i in ids if _running(sender, i)]
            if not to:
                raise FaultError(
                    f"raise-event {step.name!r} {when} found no {step.instances} instance of "
                    f"this run ({len(ids)} started so far), so it did nothing: trigger it "
                    "while instances wait for it"
                )
            self.chaos.timeline.mark(
                "raise-event", f"{step.name!r} sent to {len(to)} instance(s) ({when})"
            )
            with ThreadPoolExecutor(min(RAISERS, len(to))) as pool:
                taken = sum(
                    pool.map(
                        lambda i: sender.try_raise_event(
                            i, step.name, step.data, resend_for=step.resend_for
                        ),
                        to,
                    )
                )
            self.chaos.timeline.mark(
                "raise-event", f"{step.name!r}: daprd took {taken} of {len(to)} raise(s)"
            )
        except HarnessError as exc:
            self._errors.append(exc)

    def finish(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for raises still being sent, then raise the
        first error one of them met (FaultError: it reached no instance)."""
        for thread in self._sending:
            thread.join(timeout)
        if self._errors:
            raise self._errors[0]

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


def _running(sender: EventSender, instance_id: str) -> bool:
    """Whether an instance may still take an event: not terminal, or unreadable now
    (daprd down: it cannot be told)."""
    try:
        status = sender.status(instance_id)
    except WorkloadError:
        return True
    return status is not None and not status.terminal
