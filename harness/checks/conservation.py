"""Conservation of the order app's business state.

For the orders given (a test's orders, isolated by id prefix): every approved order is
charged its total, reserved its quantity and notified once; a rejected order is charged
nothing net (a charge refunded in full is fine). Across the whole store: initial stock -
reserved = remaining, for every product.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.checks.orders import order_fields
from harness.checks.result import CheckResult, Verdict
from harness.record.history import History, InstanceStatus
from harness.record.order_shape import REFERENCE, OrderShape


def conservation(
    orders: Mapping[str, Any],
    statuses: Mapping[str, InstanceStatus],
    state: Mapping[str, Mapping[str, int]],
    *,
    order_api: OrderShape = REFERENCE,
) -> CheckResult:
    """``orders``: order id → the order (an :class:`~harness.Order`, or its JSON fields);
    ``state`` is the app's ``GET /state`` snapshot (cents and units); ``order_api`` how
    the app's outputs mark an order approved (anything else is judged as rejected)."""
    problems: list[str] = []
    charges, refunds = state["charges"], state["refunds"]
    reservations, notifications = state["reservations"], state["notifications"]
    expected_cents = 0
    for order_id, order in orders.items():
        status = statuses.get(order_id)
        if status is None or status.runtime_status != "COMPLETED":
            continue  # nothing-lost and terminal checks judge these
        fields = order_fields(order)
        net = charges.get(order_id, 0) - refunds.get(order_id, 0)
        total = round(float(fields["totalAmount"]) * 100)
        quantity = int(fields["quantity"])
        result = order_api.result(status)
        if order_api.is_approved(status):
            expected_cents += total
            if net != total:
                problems.append(f"order {order_id}: charged {net} cents net, total is {total}")
            if reservations.get(order_id, 0) != quantity:
                problems.append(
                    f"order {order_id}: reserved {reservations.get(order_id, 0)} "
                    f"units, ordered {quantity}"
                )
            if notifications.get(order_id, 0) != 1:
                problems.append(
                    f"order {order_id}: customer notified "
                    f"{notifications.get(order_id, 0)} times, expected 1"
                )
        else:
            if net != 0:
                problems.append(
                    f"order {order_id} was rejected ({result}) but is charged {net} cents net"
                )
            if reservations.get(order_id, 0):
                problems.append(
                    f"order {order_id} was rejected but holds "
                    f"{reservations[order_id]} reserved units"
                )
    # Store-wide invariant, true whatever other tests run on the same stack.
    total_reserved = sum(reservations.values())
    total_taken = sum(state["initial_stock"].get(p, 0) - left for p, left in state["stock"].items())
    if total_reserved != total_taken:
        problems.append(
            f"store-wide: {total_taken} units left the shelves but {total_reserved} are reserved"
        )
    negative = [p for p, left in state["stock"].items() if left < 0]
    if negative:
        problems.append(f"negative stock for {', '.join(negative)}")
    if problems:
        return CheckResult("conservation", Verdict.FAIL, f"{len(problems)} violation(s)", problems)
    judged = sum(
        1
        for order_id in orders
        if (status := statuses.get(order_id)) is not None and status.runtime_status == "COMPLETED"
    )
    if not judged:
        return CheckResult(
            "conservation",
            Verdict.VACUOUS,
            f"no order of the {len(orders)} completed: no money or stock to add up "
            "(the store-wide invariant holds)",
        )
    return CheckResult(
        "conservation",
        Verdict.PASS,
        f"{judged} completed orders, {expected_cents} cents charged for approved orders",
    )


def business_state_from(raw: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    return {k: {kk: int(vv) for kk, vv in v.items()} for k, v in raw.items()}


def conservation_of(history: History) -> CheckResult:
    """:func:`conservation` over a run's history (UNKNOWN without a business state,
    VACUOUS when no order completed)."""
    if history.business_state is None:
        return CheckResult("conservation", Verdict.UNKNOWN, "no business state was captured")
    # Unanswered submissions that did create an order are judged like accepted ones.
    orders = {k: history.attempts[k].input for k in history.existing}
    return conservation(
        orders, history.existing, history.business_state, order_api=history.order_api
    )
