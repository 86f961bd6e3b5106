"""Online determinism: the same order, run once without faults and once with the app
crashed after every activity, must end the same way.

A crash after an activity's effect forces the next turn to run in a fresh process that
rebuilds the workflow's state by replaying its history. Code that depends on anything
but the history (process memory, the wall clock, random numbers) then takes another path
or returns another result. The baseline run shows which activities an order runs; the
crash run arms ``<activity>.after_effect`` with ``crash`` for each of them (the app must
call :func:`harness.app.failpoint` there, as the reference app does), heals after every
crash, and the two runs' runtime status, output and business effects (kinds and details)
are compared, with the order id abstracted away.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, replace

from harness.checks.result import CheckResult, Verdict
from harness.errors import FaultError, StackError, WorkloadError
from harness.experiment.chaos import Chaos
from harness.workload.order_api import Order, OrderStatus
from harness.workload.orders import Orders

NAME = "determinism"
ORDER = "<order>"


@dataclass(frozen=True)
class OrderRun:
    """One run of an order: its final status, and its effects as a multiset of
    (kind, details as JSON) with the order id replaced by ``<order>``."""

    order_id: str
    status: OrderStatus
    effects: Counter[tuple[str, str]]
    activities: tuple[str, ...]

    def shape(self) -> str:
        """Status and output, with the order id abstracted."""
        text = json.dumps(
            {"status": self.status.runtime_status, "output": self.status.output}, sort_keys=True
        )
        return text.replace(self.order_id, ORDER)


def _outcome(chaos: Chaos, orders: Orders, order_id: str, status: OrderStatus) -> OrderRun:
    ledger = chaos.ledger(orders.prefix)
    effects = Counter(
        (e.kind, json.dumps(e.details, sort_keys=True).replace(order_id, ORDER))
        for e in ledger.effects
        if e.workflow_id == order_id
    )
    activities = []
    for invocation in ledger.invocations:
        if invocation.workflow_id == order_id and invocation.activity not in activities:
            activities.append(invocation.activity)
    return OrderRun(order_id, status, effects, tuple(activities))


def _crashed_again(chaos: Chaos, orders: Orders, order_id: str) -> bool:
    fired = [f for f in chaos.ledger(orders.prefix).fired() if f.workflow_id == order_id]
    return bool(fired) and fired[-1].pid == chaos.stack.process("app").pid


def _wait_healing(chaos: Chaos, orders: Orders, order: Order, deadline: float) -> OrderStatus:
    """Wait until ``order`` is terminal, healing (restarting the app) after every crash;
    submit it again if the app died before scheduling it. ``deadline`` in seconds."""
    order_id = order.order_id
    app = chaos.stack.process("app")
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if not app.running():
            try:
                chaos.heal()
            except StackError:
                # The restarted app can reach the next armed failpoint before heal sees
                # its worker: that crash is the point; anything else is not.
                if app.running() or not _crashed_again(chaos, orders, order_id):
                    raise
            continue
        try:
            status = orders.api.status(order_id)
        except WorkloadError:  # the app is starting, or crashed again
            time.sleep(0.05)
            continue
        if status is not None and status.terminal:
            return status
        if status is None and order_id in orders.uncertain:
            # 404 after an unanswered POST: the crash came before the workflow was
            # scheduled. Submit it again (unanswered again: it stays uncertain).
            orders.uncertain.pop(order_id)
            orders.try_submit(order)
            if order_id in orders.refused:
                raise WorkloadError(
                    f"resubmitting {order_id} was refused: {orders.refused[order_id]}"
                )
        time.sleep(0.05)
    raise WorkloadError(f"order {order_id} is not terminal {deadline:.0f}s into its crash run")


def _crash_run(
    chaos: Chaos, orders: Orders, order: Order, baseline: OrderRun, deadline: float
) -> OrderRun:
    names = [f"{activity}.after_effect" for activity in baseline.activities]
    for name in names:
        # nth: the next hit from now, so hits of earlier runs do not count.
        chaos.arm(
            name, "crash", nth=chaos.failpoints.hits(name) + 1, count=1, instances=orders.prefix
        )
    try:
        # The first crash can come before the app finished answering the POST: no answer
        # is not a refusal. The order id is the instance id.
        instance = orders.try_submit(order) or order.order_id
        if instance in orders.refused:
            raise WorkloadError(f"the crash run's order was refused: {orders.refused[instance]}")
        status = _wait_healing(chaos, orders, order, deadline)
    finally:
        for name in names:
            chaos.disarm(name)
    fired = {f.name for f in chaos.ledger(orders.prefix).fired() if f.workflow_id == instance}
    idle = sorted(set(names) - fired)
    if idle:
        raise FaultError(
            f"the crash run of {instance} never fired {', '.join(idle)}: the app must call "
            "failpoint('<activity>.after_effect') in each activity for this check"
        )
    chaos.heal()
    return _outcome(chaos, orders, instance, status)


def determinism(
    chaos: Chaos, orders: Orders, count: int = 1, *, deadline: float = 120.0
) -> CheckResult:
    """Run ``count`` orders twice each (baseline; crash after every activity) and compare.
    FAIL names each order whose two runs differ, with both sides. ``deadline``: seconds
    per run."""
    templates = [orders.make(quantity=1) for _ in range(count)]
    pairs: list[tuple[OrderRun, OrderRun]] = []
    for template in templates:
        baseline_order = replace(template, order_id=f"{template.order_id}-baseline")
        instance = orders.submit(baseline_order)
        status = orders.wait_terminal([instance], timeout=deadline)[instance]
        baseline = _outcome(chaos, orders, instance, status)
        crashed_order = replace(template, order_id=f"{template.order_id}-crashed")
        pairs.append((baseline, _crash_run(chaos, orders, crashed_order, baseline, deadline)))
    evidence: list[str] = []
    for baseline, crashed in pairs:
        if baseline.shape() != crashed.shape():
            evidence.append(
                f"order {crashed.order_id} ended differently after replays: {crashed.shape()}; "
                f"without faults ({baseline.order_id}): {baseline.shape()}"
            )
        if baseline.effects != crashed.effects:
            evidence.append(
                f"order {crashed.order_id} had other effects after replays: "
                f"{_effects(crashed.effects)}; without faults: {_effects(baseline.effects)}"
            )
    crashes = sum(len(b.activities) for b, _ in pairs)
    if not crashes:
        return CheckResult(
            NAME,
            Verdict.VACUOUS,
            "the baseline runs recorded no activity, so no crash after one was made (does the "
            "app record invocations, harness.app.recorded_activity?)",
        )
    if evidence:
        return CheckResult(
            NAME,
            Verdict.FAIL,
            f"{len(evidence)} difference(s) between baseline and crash-after-every-activity runs",
            evidence,
        )
    return CheckResult(
        NAME,
        Verdict.PASS,
        f"{len(pairs)} order(s) ended the same with and without a crash after each of "
        f"{crashes} activities",
        [f"order {c.order_id}: {c.shape()}" for _, c in pairs],
    )


def _effects(effects: Counter[tuple[str, str]]) -> str:
    return ", ".join(f"{k} {d} x{n}" for (k, d), n in sorted(effects.items())) or "none"
