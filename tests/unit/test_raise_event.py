"""``action: raise-event``: what a scenario file builds, one clear error per bad input,
and how a schedule sends it (a fake sender: which instances get it, and that one reaching
no instance is an error, not a pass)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from harness.errors import ConfigError, FaultError, WorkloadError
from harness.experiment.triggers import PendingEvents, Triggers
from harness.faults.raise_event import RaiseEvent
from harness.faults.schedule import At, FaultEvent
from harness.record.history import InstanceStatus
from harness.record.timeline import Timeline
from harness.scenario.parse import parse_scenario

HEAD = """
name: events
app: {workflows: "tests.apps.python.signals:wfr"}
workload:
  workflow: await_signal
  instances: 3
checks: [events-delivered, nothing-lost]
faults:
"""


def parse(fault: str, head: str = HEAD) -> Any:
    return parse_scenario(head + f"  - {fault}\n", "s.yaml")


def test_a_raise_event_builds_the_step_and_writes_back() -> None:
    sc = parse(
        "{action: raise-event, trigger: {failpoint: prepare.after, nth: 3}, "
        "params: {event: go, data: {approved: true}, instances: all, resend_for: 5}}"
    )
    (event,) = sc.schedule.events
    assert event.fault == RaiseEvent("go", {"approved": True}, instances="all", resend_for=5.0)
    assert parse_scenario(sc.as_yaml(), "b.yaml") == sc
    plain = parse("{action: raise-event, trigger: {at: 1}, params: {event: go}}")
    assert plain.schedule.events[0].fault == RaiseEvent("go")  # running, no data


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("{action: raise-event, trigger: {at: 1}}", "raise-event needs params: event"),
        ("{action: raise-event, trigger: {at: 1}, params: {data: 1}}", "event"),
        (
            "{action: raise-event, trigger: {at: 1}, params: {event: go, instances: some}}",
            "raise-event instances 'some' is unknown; allowed: running, all",
        ),
        ("{action: raise-event, target: app, trigger: {at: 1}, params: {event: go}}", "target"),
        (
            "{action: raise-event, trigger: {at: 1}, duration: 2, params: {event: go}}",
            "has no duration",
        ),
        (
            "{action: raise-event, trigger: {at: 1}, params: {event: go, resend_for: -1}}",
            "resend_for",
        ),
        ("{action: raise-event, params: {event: go}}", "needs a trigger"),
    ],
)
def test_bad_raise_events_are_one_error_with_file_and_line(fault: str, message: str) -> None:
    with pytest.raises(ConfigError, match=r"s\.yaml:\d+: ") as err:
        parse(fault)
    assert message in str(err.value)


def test_a_raise_event_needs_a_workflow_workload() -> None:
    orders = "name: events\nworkload: {orders: 3}\nfaults:\n"
    with pytest.raises(ConfigError, match=r"needs workload\.workflow"):
        parse("{action: raise-event, trigger: {at: 1}, params: {event: go}}", orders)


# -- sending it --------------------------------------------------------------------------


@dataclass
class Sender:
    """Instances by id → runtime status; ``down`` ids cannot be read (daprd is down)."""

    statuses: dict[str, str]
    down: set[str] = field(default_factory=set)
    raised: list[tuple[str, str, Any]] = field(default_factory=list)

    def status(self, instance_id: str) -> InstanceStatus | None:
        if instance_id in self.down:
            raise WorkloadError("daprd is down")
        return InstanceStatus(instance_id, self.statuses[instance_id])

    def try_raise_event(
        self, instance_id: str, name: str, data: Any = None, *, resend_for: float = 0.0
    ) -> bool:
        self.raised.append((instance_id, name, data))
        return True


@dataclass
class Armed:
    armed: dict[str, Any] = field(default_factory=dict)


@dataclass
class FakeChaos:
    timeline: Timeline = field(default_factory=Timeline)
    failpoints: Armed = field(default_factory=Armed)


def pending(step: RaiseEvent, sender: Sender | None) -> tuple[PendingEvents, FakeChaos]:
    chaos = FakeChaos()
    triggers = Triggers(chaos, prefix="e-", elapsed=lambda: 1.0, completed=lambda: 0)  # type: ignore[arg-type]
    events = [FaultEvent(At(0), step)]
    return (
        PendingEvents(
            chaos,  # type: ignore[arg-type]
            events,
            triggers,
            sender=sender,
            accepted=lambda: sorted(sender.statuses) if sender else [],
        ),
        chaos,
    )


def sent(p: PendingEvents) -> None:
    p.fire_due()
    deadline = time.monotonic() + 5
    while p and time.monotonic() < deadline:
        time.sleep(0.01)
    p.finish(timeout=5)


def test_an_event_goes_to_the_running_instances_and_stays_pending_until_answered() -> None:
    sender = Sender({"e-1": "RUNNING", "e-2": "COMPLETED", "e-3": "RUNNING"}, down={"e-3"})
    p, chaos = pending(RaiseEvent("go", {"n": 1}), sender)
    sent(p)
    # e-3 cannot be read now (daprd down): it may still wait, so it gets the event too.
    assert sorted(sender.raised) == [("e-1", "go", {"n": 1}), ("e-3", "go", {"n": 1})]
    marks = [m.text for m in chaos.timeline.marks if m.kind == "raise-event"]
    assert marks[0].startswith("'go' sent to 2 instance(s)")
    assert marks[1] == "'go': daprd took 2 of 2 raise(s)"
    every = Sender({"e-1": "RUNNING", "e-2": "COMPLETED"})
    p, _ = pending(RaiseEvent("go", instances="all"), every)
    sent(p)
    assert [i for i, _, _ in every.raised] == ["e-1", "e-2"]


def test_an_event_that_reaches_no_instance_is_an_error_not_a_pass() -> None:
    sender = Sender({"e-1": "COMPLETED"})
    p, _ = pending(RaiseEvent("go"), sender)
    with pytest.raises(FaultError, match="found no running instance of this run"):
        sent(p)
    assert sender.raised == []


def test_an_event_without_a_workflow_workload_to_send_it_is_refused() -> None:
    with pytest.raises(ConfigError, match="needs a workflow workload"):
        pending(RaiseEvent("go"), None)
    with pytest.raises(FaultError, match="sent by the run's workload"):
        RaiseEvent("go").inject(None)  # type: ignore[arg-type]
