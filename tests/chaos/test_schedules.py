"""Fault schedules: triggers by time, by failpoint hit and by completions; three phases;
a trigger that never fires is an error."""

from __future__ import annotations

import pytest

from harness import (
    At,
    Chaos,
    FaultError,
    FaultEvent,
    Kill,
    LinkDown,
    LinkToxic,
    OnCompleted,
    OnFailpoint,
    Orders,
    Pause,
    Schedule,
    Toxic,
    run_schedule,
)


def test_a_schedule_of_event_and_time_triggers_runs_three_phases(
    chaos: Chaos, orders: Orders
) -> None:
    schedule = Schedule(
        (
            FaultEvent(
                OnFailpoint("charge_payment.after_effect", nth=3), Kill("app"), duration=1.0
            ),
            FaultEvent(
                OnCompleted(5), LinkToxic("daprd->valkey", Toxic.latency(200)), duration=1.0
            ),
            FaultEvent(At(0.5), Pause("scheduler"), duration=0.5),
        )
    )
    verification = run_schedule(chaos, schedule, orders, count=20, concurrency=4)
    assert verification.passed, verification.report()
    # Heal may add windows of its own when it meets the known registration race (the
    # daprd restart, and the time the runtime had no worker); the scheduled faults are
    # the others.
    scheduled = [
        w
        for w in chaos.timeline.windows
        if w.kind != "upstream" and not w.detail.startswith("heal:")
    ]
    kinds = [(w.kind, w.target) for w in scheduled]
    assert sorted(kinds) == [("kill", "app"), ("latency", "daprd->valkey"), ("pause", "scheduler")]
    assert all(w.end is not None for w in chaos.timeline.windows)
    healing = [w for w in chaos.timeline.windows if w.detail.startswith("heal:")]
    assert len(healing) <= len(chaos.known_findings)
    phases = [m.text for m in chaos.timeline.marks if m.kind == "phase"]
    assert phases[:2] == ["chaos", "heal"] and phases[-1] == "verify"
    assert len(orders.accepted) + len(orders.uncertain) + len(orders.refused) == 20


def test_a_trigger_that_never_fires_is_an_error(chaos: Chaos, orders: Orders) -> None:
    schedule = Schedule(
        (FaultEvent(OnFailpoint("no_such.failpoint"), LinkDown("app->daprd")),), chaos_timeout=2.0
    )
    with pytest.raises(FaultError, match="never triggered within the 2s chaos phase"):
        run_schedule(chaos, schedule, orders, count=2)
