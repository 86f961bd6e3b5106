"""Exactly-once business effects.

Activities are at-least-once; effects must not be. Per (kind, subject) at most one
applied effect: a second is a FAIL naming the order, both applications and the fault
that preceded the second one. For every COMPLETED order the expected effects must each be
there exactly once; a missing one is FAIL, or UNKNOWN when an invocation of that order
died mid-activity (its effect may have been applied unrecorded). Re-executed activities
are counted and reported: they are allowed.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable

from harness.checks.result import CheckResult, Verdict
from harness.record.history import History, InstanceStatus
from harness.record.ledger import Effect
from harness.record.order_shape import REFERENCE, OrderShape

# (status, kinds observed for the order) -> (required kinds, forbidden kinds)
Expectation = Callable[[InstanceStatus, set[str]], tuple[set[str], set[str]]]

APPROVED_EFFECTS = {"payment.charged", "stock.reserved", "customer.notified"}


def order_expectation(order_api: OrderShape) -> Expectation:
    """An order app whose outputs ``order_api`` reads: approved orders are charged,
    reserved, notified; any other order is charged nothing, or charged and refunded (out
    of stock at reservation)."""

    def expectation(status: InstanceStatus, observed: set[str]) -> tuple[set[str], set[str]]:
        if order_api.is_approved(status):
            return APPROVED_EFFECTS, {"payment.refunded"}
        if "payment.charged" in observed or "payment.refunded" in observed:
            return {"payment.charged", "payment.refunded"}, {"stock.reserved", "customer.notified"}
        return set(), {"stock.reserved", "customer.notified"}

    return expectation


reference_expectation = order_expectation(REFERENCE)
"""The reference order app's expectation (:func:`order_expectation`)."""


def _clock(ts: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ts)) + f".{int(ts % 1 * 1000):03d}"


def _cause(history: History, ts: float) -> str:
    """The most recent fault or fired failpoint before ``ts``."""
    window = history.timeline.preceding(ts)
    fired = [f for f in history.ledger.fired() if f.ts <= ts]
    last_fp = max(fired, key=lambda f: f.ts) if fired else None
    if last_fp and (window is None or last_fp.ts >= window.start):
        return (
            f"after failpoint {last_fp.name} fired ({last_fp.action}, hit {last_fp.hit}) "
            f"at {_clock(last_fp.ts)}"
        )
    if window:
        return f"after fault {window.describe()}"
    return "with no fault before it"


SAME_TASK = "same task_execution_id: the effect is not idempotent"
NEW_TASK = (
    "different task_execution_ids from one activity of one workflow: the runtime "
    "scheduled the activity again under a new id, so an idempotency key built on "
    "task_execution_id could not catch it"
)


def duplicate_kind(applied: list[Effect]) -> str:
    """Why an effect was applied twice, as far as the ledger can tell."""
    tasks = {e.task_execution_id for e in applied}
    activities = {(e.workflow_id, e.activity) for e in applied}
    if len(tasks) < len(applied):
        return SAME_TASK
    if len(activities) == 1:
        return NEW_TASK
    return "applied by different activities"


def exactly_once(history: History, expectation: Expectation | None = None) -> CheckResult:
    """``expectation``: which effects each COMPLETED instance must have (and must not);
    default: the order app's (:func:`order_expectation` with the history's order API
    shape) for an order workload, none for any other (then only duplicates are judged,
    and an app that records no effects is VACUOUS)."""
    if expectation is None and history.kind == "orders":
        expectation = order_expectation(history.order_api)
    if expectation is None and not history.ledger.effects:
        return CheckResult(
            "exactly-once",
            Verdict.VACUOUS,
            "the app records no effects (declare them with harness.app.effect or the "
            "protocol's effect record): no duplicate to look for",
        )
    by_key: dict[tuple[str, str], list[Effect]] = defaultdict(list)
    for effect in history.ledger.effects:
        by_key[(effect.kind, effect.subject)].append(effect)
    failures: list[str] = []
    unknown: list[str] = []
    for (kind, subject), applied in sorted(by_key.items()):
        if len(applied) > 1:
            second = sorted(applied, key=lambda e: e.ts)[1]
            times = ", ".join(
                f"{_clock(e.ts)} by pid {e.pid} (task {e.task_execution_id})"
                for e in sorted(applied, key=lambda e: e.ts)
            )
            # An order's effects are keyed by the order; any other app names its subject.
            what = "order" if history.kind == "orders" else "subject"
            failures.append(
                f"{what} {subject}: {kind} applied {len(applied)} times: {times}; "
                f"the second {_cause(history, second.ts)}; "
                f"{duplicate_kind(applied)}"
            )
    # A missing effect is unknown (not a failure) only when the activity that applies it
    # died mid-execution for that order: its effect may be applied but unrecorded.
    # Which activity applies a kind, the ledger tells from any order that had the effect.
    applied_by = {e.kind: e.activity for e in history.ledger.effects if e.activity}
    open_calls = {(inv.workflow_id, inv.activity) for inv in history.ledger.unfinished()}
    open_orders = {workflow for workflow, _activity in open_calls}
    result = history.order_api.result
    judged = 0
    for order_id, status in sorted(history.existing.items()):
        if expectation is None or status.runtime_status != "COMPLETED":
            continue
        judged += 1
        observed = {kind for (kind, subject) in by_key if subject == order_id}
        required, forbidden = expectation(status, observed)
        for kind in sorted(required - observed):
            line = f"{history.noun} {order_id} ({result(status)}): no {kind} effect recorded"
            activity = applied_by.get(kind)
            died = (
                (order_id, activity) in open_calls
                if activity is not None
                else order_id in open_orders
            )
            if died:
                unknown.append(
                    line + " (an invocation died mid-activity: it may have been applied unrecorded)"
                )
            else:
                failures.append(line)
        for kind in sorted(observed & forbidden):
            failures.append(
                f"{history.noun} {order_id} ({result(status)}): unexpected {kind} effect"
            )
    reexec = history.ledger.reexecutions()
    extra = sum(reexec.values())
    summary = (
        f"{len(history.ledger.effects)} effects for {len(history.statuses)} {history.noun}s; "
        f"{extra} activity re-execution(s) (allowed)"
    )
    if failures:
        return CheckResult(
            "exactly-once",
            Verdict.FAIL,
            f"{len(failures)} violation(s); " + summary,
            failures + unknown,
        )
    if unknown:
        return CheckResult("exactly-once", Verdict.UNKNOWN, summary, unknown)
    if expectation is not None and not judged and not history.ledger.effects:
        return CheckResult(
            "exactly-once", Verdict.VACUOUS, "no order completed and no effect was recorded"
        )
    evidence = [f"{wf}: {act} re-executed {n}x" for (wf, act), n in sorted(reexec.items())]
    return CheckResult("exactly-once", Verdict.PASS, summary, evidence)
