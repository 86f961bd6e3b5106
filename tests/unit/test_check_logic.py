"""Pure-logic checks over hand-made histories: each verdict, including FAIL, is reachable."""

from __future__ import annotations

from harness import Order, OrderStatus, Verdict
from harness.checks.exactly_once import NEW_TASK, SAME_TASK, exactly_once
from harness.checks.nothing_lost import completed, nothing_lost
from harness.checks.worker_health import worker_health
from harness.record.history import Attempt, History, Outcome
from harness.record.ledger import Effect, Invocation, Ledger
from harness.record.timeline import Timeline

ORDER = Order("o-1", "c", "p-001", 1, 10.0)
APPROVED = OrderStatus("o-1", "COMPLETED", {"result": "Approved"})


def effect(kind: str, task: str, ts: float, application: str | None = None) -> Effect:
    return Effect(kind, "o-1", ts, 1, kind.split(".")[0], "o-1", task, {}, application)


def history(
    effects: list[Effect],
    status: OrderStatus | None = APPROVED,
    invocations: list[Invocation] | None = None,
    **kw: object,
) -> History:
    kw.setdefault("worker_probed", True)  # as after a heal that waited for the worker
    return History(
        attempts={"o-1": Attempt("o-1", Outcome.OK, ORDER.as_json())},
        statuses={"o-1": status},
        ledger=Ledger(effects, invocations or []),
        timeline=Timeline(),
        **kw,
    )  # type: ignore[arg-type]


ALL3 = [
    effect("payment.charged", "t1", 1),
    effect("stock.reserved", "t2", 2),
    effect("customer.notified", "t3", 3),
]


def test_exactly_once_passes_and_tells_duplicate_kinds_apart() -> None:
    assert exactly_once(history(ALL3)).verdict is Verdict.PASS
    same = exactly_once(history([*ALL3, effect("payment.charged", "t1", 4)]))
    assert same.verdict is Verdict.FAIL and SAME_TASK in same.evidence[0]
    new = exactly_once(history([*ALL3, effect("payment.charged", "t9", 4)]))
    assert new.verdict is Verdict.FAIL and NEW_TASK in new.evidence[0]


def test_a_missing_effect_is_fail_or_unknown_after_a_crash_mid_activity() -> None:
    assert exactly_once(history(ALL3[:2])).verdict is Verdict.FAIL
    crashed = Invocation("customer", "o-1", "t3", 4, 3.0, 1)  # no end record: died inside
    assert exactly_once(history(ALL3[:2], invocations=[crashed])).verdict is Verdict.UNKNOWN


def test_nothing_lost_and_completed_fail_on_lost_stuck_and_failed_orders() -> None:
    assert nothing_lost(history(ALL3, status=None)).verdict is Verdict.FAIL
    stuck = nothing_lost(
        history(
            [],
            status=OrderStatus("o-1", "RUNNING"),
            last_events={"o-1": "#4 taskScheduled notify_customer"},
        )
    )
    assert stuck.verdict is Verdict.FAIL and "taskScheduled notify_customer" in stuck.evidence[0]
    failed = history([], status=OrderStatus("o-1", "FAILED", failure="boom"))
    assert nothing_lost(failed).verdict is Verdict.PASS
    assert completed(failed).verdict is Verdict.FAIL


def test_worker_health_fails_on_a_lost_worker_and_lists_known_races() -> None:
    assert worker_health(history(ALL3)).verdict is Verdict.PASS
    lost = worker_health(history(ALL3, worker_findings=["no workflow worker connected"]))
    assert lost.verdict is Verdict.FAIL
    known = worker_health(history(ALL3, known_findings=["known upstream race ..."]))
    assert known.verdict is Verdict.PASS and known.evidence == ["known upstream race ..."]
