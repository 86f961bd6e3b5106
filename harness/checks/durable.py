"""Checks that daprd's durable waits kept their promise across restarts, read from the
recorded workflow histories.

``events-delivered``: every external event the workload raised and daprd took (the raise
call answered ok) is in its instance's history exactly once; one raised without an answer
(unknown) at most once; one never delivered (refused, connection refused) not at all. An
event raised while the app was down or mid-deploy must arrive once when it is back.
Only events the workload raised are judged: an instance that also receives the same
event name from elsewhere (the app itself) is not one to judge this way. VACUOUS when the
workload raised no event.

``timers-fired``: every durable timer fired at most once (a ``timerFired`` per
``timerCreated``, none for a timer never created), and none is overdue: an instance still
running whose timer's deadline passed more than ``TIMER_GRACE_S`` seconds before the
check, without its ``timerFired``, was forgotten (a daprd or app restart lost the
reminder). A finished instance may leave a timer unfired (the event won a ``when_any``).
VACUOUS when no instance created a timer.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from harness.checks.result import CheckResult, Verdict
from harness.record.history import History, Outcome
from harness.record.instances import event_kind
from harness.record.recorder import RecordedHistory, read_histories

TIMER_GRACE_S = 30.0  # how late a due timer may fire before it counts as forgotten
TERMINAL = ("COMPLETED", "FAILED", "TERMINATED")


def _recorded(history: History, name: str) -> dict[str, RecordedHistory] | CheckResult:
    """Each recorded instance's history by id, or the UNKNOWN result of a file that
    cannot be read."""
    read, unreadable = read_histories(history.histories)
    if unreadable:
        return CheckResult(
            name, Verdict.UNKNOWN, f"a recorded history cannot be read: {unreadable[0]}"
        )
    return read


def events_delivered(history: History) -> CheckResult:
    name = "events-delivered"
    if not history.raised:
        return CheckResult(name, Verdict.VACUOUS, "the workload raised no external event")
    recorded = _recorded(history, name)
    if isinstance(recorded, CheckResult):
        return recorded
    raised: dict[tuple[str, str], Counter[Outcome]] = {}
    for event in history.raised:
        raised.setdefault((event.instance_id, event.name), Counter())[event.outcome] += 1
    evidence: list[str] = []
    unknown: list[str] = []
    judged = 0
    for (instance_id, event_name), outcomes in sorted(raised.items()):
        ok, info, refused = outcomes[Outcome.OK], outcomes[Outcome.INFO], outcomes[Outcome.FAIL]
        events = recorded.get(instance_id)
        if events is None:
            unknown.append(f"{instance_id}: no history recorded (raised {event_name!r} {ok}x)")
            continue
        judged += 1
        delivered = sum(
            1
            for e in events.events
            if event_kind(e) == "eventRaised" and e.eventRaised.name == event_name
        )
        said = f"raised {ok}x taken" + (f", {info}x unanswered" if info else "")
        said += f", {refused}x refused" if refused else ""
        if delivered < ok:
            evidence.append(
                f"{instance_id}: event {event_name!r} lost: {said}, in its history {delivered}x"
            )
        elif delivered > ok + info:
            evidence.append(f"{instance_id}: event {event_name!r} delivered {delivered}x: {said}")
    if evidence:
        return CheckResult(
            name,
            Verdict.FAIL,
            f"{len(evidence)} of {judged} raised event(s) not delivered exactly once",
            evidence + unknown,
        )
    if unknown:
        return CheckResult(
            name,
            Verdict.UNKNOWN,
            f"{len(unknown)} instance(s) with raised events have no recorded history",
            unknown,
        )
    total = sum(sum(c.values()) for c in raised.values())
    return CheckResult(
        name,
        Verdict.PASS,
        f"{total} raise(s) on {judged} instance(s): each taken event is in its history once",
    )


def _fire_at(event: Any) -> float:
    return float(event.timerCreated.fireAt.ToMicroseconds()) / 1e6


def timers_fired(history: History, *, now: float | None = None) -> CheckResult:
    """``now``: the check's time in epoch seconds (default: the clock)."""
    name = "timers-fired"
    recorded = _recorded(history, name)
    if isinstance(recorded, CheckResult):
        return recorded
    now = time.time() if now is None else now
    evidence: list[str] = []
    timers = 0
    with_timers = 0
    for instance_id, events in sorted(recorded.items()):
        created = {e.eventId: e for e in events.events if event_kind(e) == "timerCreated"}
        fired = Counter(
            e.timerFired.timerId for e in events.events if event_kind(e) == "timerFired"
        )
        if not created and not fired:
            continue
        with_timers += 1
        timers += len(created)
        status = history.statuses.get(instance_id)
        runtime = status.runtime_status if status is not None else "unknown"
        for timer_id, n in sorted(fired.items()):
            if timer_id not in created:
                evidence.append(f"{instance_id}: timer #{timer_id} fired but was never created")
            elif n > 1:
                evidence.append(f"{instance_id}: timer #{timer_id} fired {n} times")
        if runtime in TERMINAL:
            continue
        for timer_id, event in sorted(created.items()):
            late = now - _fire_at(event)
            if timer_id not in fired and late > TIMER_GRACE_S:
                evidence.append(
                    f"{instance_id} ({runtime}): timer #{timer_id} was due {late:.0f}s ago "
                    "and never fired"
                )
    if not with_timers:
        return CheckResult(name, Verdict.VACUOUS, "no recorded instance created a durable timer")
    if evidence:
        return CheckResult(
            name,
            Verdict.FAIL,
            f"{len(evidence)} timer fault(s) in {with_timers} instance(s) with timers",
            evidence,
        )
    return CheckResult(
        name,
        Verdict.PASS,
        f"{timers} timer(s) in {with_timers} instance(s): none fired twice, none overdue",
    )
