"""Chaos under load: a fault schedule runs while Locust loads the stack; the result shows
the dip and the recovery, and every accepted order is terminal and exactly-once."""

from __future__ import annotations

import pytest

from harness import At, Chaos, FaultError, FaultEvent, Kill, LoadProfile, Schedule, Stack, run_load


def test_an_app_kill_under_load_shows_a_dip_and_a_recovery(dapr_stack: Stack, chaos: Chaos) -> None:
    # The app stays down 4 s: faster crash/restart cycles meet a known dapr race (see
    # Chaos) more often. 28 s leave room for heal's 8 s probe plus a daprd restart
    # if it happens anyway, and then for the 3 s recovery window.
    schedule = Schedule((FaultEvent(At(5.0), Kill("app"), duration=4.0),))
    profile = LoadProfile(users=4, spawn_rate=4, duration=28)
    result = run_load(
        dapr_stack, profile, prefix="load-kill-", seed=21, chaos=chaos, schedule=schedule
    )

    kills = [w for w in result.fault_windows if (w.kind, w.target) == ("kill", "app")]
    assert len(kills) == 1 and 4.5 <= kills[0].start <= 7.5, result.fault_windows
    assert kills[0].end is not None and kills[0].end > kills[0].start + 4.0
    assert result.baseline_wps is not None and result.baseline_wps > 0
    assert result.dip is not None and result.dip.wps < result.baseline_wps, result.summary()
    assert result.recovery == "recovered", result.summary()
    assert isinstance(result.recovery_s, float) and result.recovery_s >= 0
    during = [s for s in result.series if kills[0].start <= s.t < kills[0].end - 1]
    assert any(s.http_errors for s in during), "the app was down: requests must have failed"

    assert result.verification is not None and result.verification.passed, result.summary()
    assert result.verification.result("exactly-once").passed
    assert result.verification.result("nothing-lost").passed
    assert result.unaccounted == [] and set(result.final_statuses) == {"COMPLETED"}
    accepted = set(result.accepted_ids)
    assert result.submitted == len(accepted) + len(result.refused) + len(result.uncertain)


def test_a_scheduled_fault_that_never_triggers_during_the_load_is_an_error(
    dapr_stack: Stack, chaos: Chaos
) -> None:
    schedule = Schedule((FaultEvent(At(60.0), Kill("daprd")),))
    with pytest.raises(FaultError, match="never triggered during the 2s load"):
        run_load(
            dapr_stack, LoadProfile(2, 2, 2), prefix="load-never-", chaos=chaos, schedule=schedule
        )
    assert dapr_stack.process("daprd").running()
