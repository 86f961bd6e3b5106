"""No pass without evidence: every check FAILS on a bad history and says VACUOUS or
UNKNOWN (never PASS) on one with nothing to judge; verdicts combine as documented."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from harness.checks.activities import activities
from harness.checks.conservation import conservation_of
from harness.checks.coverage import coverage
from harness.checks.differential import same_as_fault_free
from harness.checks.durable import events_delivered, timers_fired
from harness.checks.exactly_once import exactly_once
from harness.checks.nothing_lost import completed, nothing_lost
from harness.checks.output import output
from harness.checks.replay import replay
from harness.checks.result import CheckResult, Verdict, combine
from harness.checks.rollout import paths, stalled, stalls_resumed
from harness.checks.verification import CHECKS, Verification, run_checks
from harness.checks.worker_health import worker_health
from harness.record.history import Attempt, History, InstanceStatus, Outcome
from harness.record.ledger import Effect, Invocation, Ledger
from harness.record.timeline import Timeline

Check = Callable[[History], CheckResult]
STATE = {
    "stock": {"p-001": 100},
    "initial_stock": {"p-001": 100},
    "charges": {},
    "refunds": {},
    "reservations": {},
    "notifications": {},
}


def empty(kind: str = "orders", **kw: object) -> History:
    """A run in which every start was refused: nothing exists, nothing ran."""
    attempts = {"o-1": Attempt("o-1", Outcome.FAIL, None, None, "503")}
    return History(
        attempts=attempts,
        statuses={},
        ledger=Ledger([], []),
        timeline=Timeline(),
        business_state=STATE,
        kind=kind,
        **kw,  # type: ignore[arg-type]
    )


def one(status: InstanceStatus | None, kind: str = "workflows", **kw: object) -> History:
    return History(
        attempts={"w-1": Attempt("w-1", Outcome.OK, "x", "chain")},
        statuses={"w-1": status},
        ledger=kw.pop("ledger", Ledger([], [])),  # type: ignore[arg-type]
        timeline=Timeline(),
        kind=kind,
        worker_probed=True,
        **kw,  # type: ignore[arg-type]
    )


DONE = InstanceStatus("w-1", "COMPLETED", output="x-1")


@pytest.mark.parametrize(
    "check",
    [
        nothing_lost,
        completed,
        exactly_once,
        conservation_of,
        worker_health,
        replay,
        output,
        same_as_fault_free,
        activities,
        coverage,
        stalled,
        stalls_resumed,
        paths,
        events_delivered,
        timers_fired,
    ],
)
def test_a_check_with_nothing_to_judge_never_passes(check: Check) -> None:
    for kind in ("orders", "workflows"):
        result = check(empty(kind))
        assert result.verdict in (Verdict.VACUOUS, Verdict.UNKNOWN), (kind, result)
        assert result.summary  # it says why


def test_every_registered_check_is_covered_here() -> None:
    covered = {
        "nothing-lost",
        "completed",
        "exactly-once",
        "conservation",
        "worker-health",
        "replay",
        "output",
        "same-as-fault-free",
        "activities",
        "coverage",
        "stalled",
        "stalls-resumed",
        "paths",
        "events-delivered",
        "timers-fired",
    }
    assert set(CHECKS) == covered


def test_the_new_checks_fail_on_a_bad_history(tmp_path: Path) -> None:
    wrong = one(DONE, expected_outputs={"w-1": "x-9"})
    assert output(wrong).verdict is Verdict.FAIL
    assert "expected" in output(wrong).evidence[0]
    base = InstanceStatus("w-base", "COMPLETED", output="x-2")
    differs = one(DONE, baseline={"w-1": base})
    assert same_as_fault_free(differs).verdict is Verdict.FAIL
    unknown = one(DONE, baseline={"w-1": None})
    assert same_as_fault_free(unknown).verdict is Verdict.UNKNOWN
    ran = Ledger([], [Invocation("step9", "w-1", "t1", 1, 1.0, 1)])
    never_scheduled = one(DONE, ledger=ran)
    # No history was recorded: nothing to compare the execution with.
    assert activities(never_scheduled).verdict is Verdict.VACUOUS


def test_exactly_once_for_any_workflow_judges_duplicates_only() -> None:
    twice = [
        Effect("mail.sent", "w-1", 1.0, 1, "send", "w-1", "t1"),
        Effect("mail.sent", "w-1", 2.0, 2, "send", "w-1", "t1"),
    ]
    assert exactly_once(one(DONE, ledger=Ledger(twice, []))).verdict is Verdict.FAIL
    assert exactly_once(one(DONE, ledger=Ledger(twice[:1], []))).verdict is Verdict.PASS
    assert exactly_once(one(DONE)).verdict is Verdict.VACUOUS


def test_an_unreadable_status_is_unknown_not_lost() -> None:
    history = one(None, unreadable={"w-1": "GET /orders/w-1 failed: connection reset"})
    result = nothing_lost(history)
    assert result.verdict is Verdict.UNKNOWN and "could not be read" in result.evidence[0]
    assert nothing_lost(one(None)).verdict is Verdict.FAIL  # read fine: it does not exist


def test_worker_health_without_a_probe_is_vacuous() -> None:
    history = one(DONE)
    history.worker_probed = False
    assert worker_health(history).verdict is Verdict.VACUOUS


def test_a_verification_with_no_instance_or_no_check_is_never_a_pass() -> None:
    nothing = run_checks(empty())
    assert nothing.verdict is Verdict.VACUOUS and not nothing.passed
    no_checks = Verification([], one(DONE))
    assert no_checks.verdict is Verdict.VACUOUS and not no_checks.passed
    assert run_checks(one(DONE), ["nothing-lost", "completed"]).passed


@pytest.mark.parametrize(
    ("verdicts", "combined"),
    [
        ([], Verdict.VACUOUS),
        ([Verdict.VACUOUS, Verdict.VACUOUS], Verdict.VACUOUS),
        ([Verdict.PASS, Verdict.VACUOUS], Verdict.PASS),
        ([Verdict.PASS, Verdict.KNOWN_UPSTREAM], Verdict.KNOWN_UPSTREAM),
        ([Verdict.KNOWN_UPSTREAM, Verdict.UNKNOWN], Verdict.UNKNOWN),
        ([Verdict.UNKNOWN, Verdict.FAIL, Verdict.PASS], Verdict.FAIL),
        ([Verdict.FAIL, Verdict.ERROR], Verdict.ERROR),
    ],
)
def test_verdicts_combine_strongest_first(verdicts: list[Verdict], combined: Verdict) -> None:
    assert combine(verdicts) is combined


def test_only_pass_and_known_upstream_pass() -> None:
    assert CheckResult("x", Verdict.PASS, "").passed
    assert CheckResult("x", Verdict.KNOWN_UPSTREAM, "").passed
    for verdict in (Verdict.FAIL, Verdict.UNKNOWN, Verdict.VACUOUS, Verdict.ERROR):
        assert not CheckResult("x", verdict, "").passed


UNLOADABLE = (
    "reading w-1 on daprd 127.0.0.1:1 failed: UNKNOWN: workflow 'w-1': inbox key "
    "'inbox-000000' declared in metadata (inboxLength=1) but missing from state store "
    "(transient store read failure or partial save?)"
)


def test_an_instance_daprd_cannot_load_is_the_known_upstream_defect_not_lost() -> None:
    result = nothing_lost(one(None, unreadable={"w-1": UNLOADABLE}))
    assert result.verdict is Verdict.KNOWN_UPSTREAM, result
    assert "dapr/dapr#10242" in result.evidence[0] and "w-1" in result.evidence[1]
    # Beside a real loss it stays apart and the loss fails.
    both = one(None, unreadable={"w-1": UNLOADABLE})
    both.attempts["w-2"] = Attempt("w-2", Outcome.OK, None)
    both.statuses["w-2"] = InstanceStatus("w-2", "RUNNING")
    failed = nothing_lost(both)
    assert failed.verdict is Verdict.FAIL
    assert any(line.startswith("known upstream, apart: ") for line in failed.evidence)
