"""Compensates with the wrong amount: one unit's price instead of the total.

A customer whose multi-unit order was rejected at the reservation keeps paying for the
rest.

Caught by: conservation (``rejected ... but is charged N cents net``; exactly-once passes:
each effect happened once); in baseline and every scenario whose orders race for a scarce
product (the compensation path).
"""

from __future__ import annotations

from typing import Any

from dapr.ext.workflow import WorkflowActivityContext

from harness.app import effect, failpoint, idempotency_key, recorded_activity
from harness.reference_apps.orders import workflow
from harness.reference_apps.orders.variants import replace_activity

WORKFLOWS = (workflow.order_processing,)


@recorded_activity
def refund_payment(ctx: WorkflowActivityContext, order: dict[str, Any]) -> int:
    amount = workflow.cents(float(order["totalAmount"]) / int(order["quantity"]))
    failpoint("refund_payment.before_effect")
    refund = workflow.store().refund(idempotency_key(), order["orderId"], amount)
    effect("payment.refunded", order["orderId"], application=refund.application, cents=amount)
    failpoint("refund_payment.after_effect")
    return amount


def install() -> None:
    replace_activity(refund_payment)
