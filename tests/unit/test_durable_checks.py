"""events-delivered and timers-fired over hand-made histories (protobuf events written
as the recorder writes them): every verdict is reachable, FAIL included."""

from __future__ import annotations

from pathlib import Path

from dapr.ext.workflow._durabletask.internal import history_events_pb2 as ev

from harness import Verdict
from harness.checks.durable import TIMER_GRACE_S, events_delivered, timers_fired
from harness.record.history import Attempt, History, InstanceStatus, Outcome, RaisedEvent
from harness.record.ledger import Ledger
from harness.record.recorder import write_history
from harness.record.timeline import Timeline

NOW = 1_000_000.0


def started(instance_id: str) -> ev.HistoryEvent:
    event = ev.HistoryEvent(eventId=-1)
    event.executionStarted.CopyFrom(ev.ExecutionStartedEvent(name="await_signal"))
    event.executionStarted.workflowInstance.instanceId = instance_id
    return event


def raised(name: str) -> ev.HistoryEvent:
    event = ev.HistoryEvent(eventId=-1)
    event.eventRaised.CopyFrom(ev.EventRaisedEvent(name=name))
    return event


def timer(event_id: int, fire_at: float) -> ev.HistoryEvent:
    event = ev.HistoryEvent(eventId=event_id)
    event.timerCreated.CopyFrom(ev.TimerCreatedEvent())
    event.timerCreated.fireAt.FromMicroseconds(int(fire_at * 1e6))
    return event


def fired(timer_id: int) -> ev.HistoryEvent:
    event = ev.HistoryEvent(eventId=-1)
    event.timerFired.CopyFrom(ev.TimerFiredEvent(timerId=timer_id))
    return event


def history(
    tmp: Path,
    runs: dict[str, tuple[str, list[ev.HistoryEvent]]],
    raises: list[RaisedEvent] | None = None,
) -> History:
    files = [write_history(tmp, i, [started(i), *events]) for i, (_, events) in runs.items()]
    return History(
        attempts={i: Attempt(i, Outcome.OK, None) for i in runs},
        statuses={i: InstanceStatus(i, status) for i, (status, _) in runs.items()},
        ledger=Ledger([], []),
        timeline=Timeline(),
        histories=files,
        kind="workflows",
        raised=raises or [],
    )


def raise_of(instance_id: str, outcome: Outcome = Outcome.OK) -> RaisedEvent:
    return RaisedEvent(instance_id, "go", outcome, NOW)


def test_an_event_taken_once_and_in_the_history_once_passes(tmp_path: Path) -> None:
    runs = {"e-1": ("COMPLETED", [raised("go")]), "e-2": ("COMPLETED", [raised("go")])}
    raises = [raise_of("e-1"), raise_of("e-2", Outcome.FAIL), raise_of("e-2")]
    result = events_delivered(history(tmp_path, runs, raises))
    assert result.verdict is Verdict.PASS, result


def test_a_taken_event_missing_from_the_history_is_lost(tmp_path: Path) -> None:
    runs = {"e-1": ("RUNNING", [])}
    result = events_delivered(history(tmp_path, runs, [raise_of("e-1")]))
    assert result.verdict is Verdict.FAIL
    assert result.evidence == ["e-1: event 'go' lost: raised 1x taken, in its history 0x"]


def test_an_event_delivered_twice_fails_and_an_unanswered_one_may_arrive_once(
    tmp_path: Path,
) -> None:
    runs = {"e-1": ("COMPLETED", [raised("go"), raised("go")])}
    twice = events_delivered(history(tmp_path / "a", runs, [raise_of("e-1")]))
    assert twice.verdict is Verdict.FAIL and "delivered 2x" in twice.evidence[0]
    unanswered = [raise_of("e-1"), raise_of("e-1", Outcome.INFO)]
    assert events_delivered(history(tmp_path / "b", runs, unanswered)).verdict is Verdict.PASS
    refused = [raise_of("e-1"), raise_of("e-1", Outcome.FAIL)]
    assert events_delivered(history(tmp_path / "c", runs, refused)).verdict is Verdict.FAIL


def test_raised_events_without_a_recorded_history_are_unknown(tmp_path: Path) -> None:
    result = events_delivered(history(tmp_path, {}, [raise_of("e-1")]))
    assert result.verdict is Verdict.UNKNOWN


def test_timers_that_fired_once_pass_and_an_unfired_one_of_a_finished_instance_is_fine(
    tmp_path: Path,
) -> None:
    runs = {
        "t-1": ("COMPLETED", [timer(3, NOW - 100), fired(3)]),
        "t-2": ("COMPLETED", [timer(1, NOW - 100)]),  # the event won a when_any
        "t-3": ("RUNNING", [timer(1, NOW - 1)]),  # due a second ago: not overdue yet
    }
    result = timers_fired(history(tmp_path, runs), now=NOW)
    assert result.verdict is Verdict.PASS, result


def test_a_timer_fired_twice_or_never_created_fails(tmp_path: Path) -> None:
    runs = {"t-1": ("COMPLETED", [timer(3, NOW - 100), fired(3), fired(3), fired(9)])}
    result = timers_fired(history(tmp_path, runs), now=NOW)
    assert result.verdict is Verdict.FAIL
    assert result.evidence == [
        "t-1: timer #3 fired 2 times",
        "t-1: timer #9 fired but was never created",
    ]


def test_an_overdue_timer_of_a_running_instance_was_forgotten(tmp_path: Path) -> None:
    late = TIMER_GRACE_S + 10
    runs = {"t-1": ("RUNNING", [timer(2, NOW - late)])}
    result = timers_fired(history(tmp_path, runs), now=NOW)
    assert result.verdict is Verdict.FAIL
    assert result.evidence == [f"t-1 (RUNNING): timer #2 was due {late:.0f}s ago and never fired"]


def test_no_timer_is_vacuous(tmp_path: Path) -> None:
    runs = {"t-1": ("COMPLETED", [raised("go")])}
    assert timers_fired(history(tmp_path, runs), now=NOW).verdict is Verdict.VACUOUS
