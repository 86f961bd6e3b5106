"""Compensates without idempotency: the refund applies on every execution.

A re-executed refund_payment pays the customer back twice.

Caught by: exactly-once (``payment.refunded applied 2 times``) and conservation (a
rejected order charged a negative net); in app-crash-after-refund, which crashes the app
right after the first refund, and by ``dapr-chaos explore --profile ci``, whose sweep
does the same.
"""

from __future__ import annotations

from typing import Any

from dapr.ext.workflow import WorkflowActivityContext

from harness.app import effect, failpoint, idempotency_key, recorded_activity
from harness.reference_apps.orders import workflow
from harness.reference_apps.orders.store import REFUNDS
from harness.reference_apps.orders.variants import replace_activity
from harness.reference_apps.orders.variants.payment_not_idempotent import apply_every_time

WORKFLOWS = (workflow.order_processing,)


@recorded_activity
def refund_payment(ctx: WorkflowActivityContext, order: dict[str, Any]) -> int:
    amount = workflow.cents(order["totalAmount"])
    failpoint("refund_payment.before_effect")
    refund = apply_every_time(
        workflow.store(), "refund", idempotency_key(), REFUNDS, order["orderId"], amount
    )
    effect("payment.refunded", order["orderId"], application=refund.application, cents=amount)
    failpoint("refund_payment.after_effect")
    return amount


def install() -> None:
    replace_activity(refund_payment)
