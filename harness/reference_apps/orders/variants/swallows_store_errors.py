"""Swallows errors: reserve_stock reports success when the store's call failed.

It catches the error, logs it and returns "reserved", so the order is approved with
nothing held for it.

Caught by: exactly-once (``no stock.reserved effect recorded`` for an approved order) and
conservation (``reserved 0 units``); in activity-errors, whose third reservation raises
as a store error would. A store that dies under a reservation (valkey-kill) shows it
only when the kill lands on one.
"""

from __future__ import annotations

import logging
from typing import Any

from dapr.ext.workflow import WorkflowActivityContext

from harness.app import effect, failpoint, idempotency_key, recorded_activity
from harness.reference_apps.orders import workflow
from harness.reference_apps.orders.variants import replace_activity

WORKFLOWS = (workflow.order_processing,)
log = logging.getLogger("orders.reserve")


@recorded_activity
def reserve_stock(ctx: WorkflowActivityContext, order: dict[str, Any]) -> bool:
    try:
        failpoint("reserve_stock.before_effect")
        reservation = workflow.store().reserve(
            idempotency_key(), order["orderId"], order["productId"], int(order["quantity"])
        )
    except Exception as exc:
        log.warning("reserving stock for %s failed (%s); carrying on", order["orderId"], exc)
        return True
    if reservation is not None:
        effect(
            "stock.reserved",
            order["orderId"],
            application=reservation.application,
            product=order["productId"],
            quantity=int(order["quantity"]),
        )
    failpoint("reserve_stock.after_effect")
    return reservation is not None


def install() -> None:
    replace_activity(reserve_stock)
