"""Deduplicates charges in process memory, which a crash forgets.

A set of the idempotency keys this process has charged makes the charge idempotent
across retries, until a crash restarts the process.

Caught by: exactly-once (``payment.charged applied 2 times``) and conservation (charged
twice the total); in app-crash-after-payment, where the app dies right after a charge
and the re-executed activity runs in a fresh process.
"""

from __future__ import annotations

from typing import Any

from dapr.ext.workflow import WorkflowActivityContext

from harness.app import effect, failpoint, idempotency_key, recorded_activity
from harness.reference_apps.orders import workflow
from harness.reference_apps.orders.store import CHARGES
from harness.reference_apps.orders.variants import replace_activity
from harness.reference_apps.orders.variants.payment_not_idempotent import apply_every_time

WORKFLOWS = (workflow.order_processing,)

# idempotency key -> the application it charged: correct in one process, empty in the next
_charged: dict[str, str] = {}


@recorded_activity
def charge_payment(ctx: WorkflowActivityContext, order: dict[str, Any]) -> int:
    amount = workflow.cents(order["totalAmount"])
    failpoint("charge_payment.before_effect")
    key = idempotency_key()
    application = _charged.get(key)
    if application is None:
        application = apply_every_time(
            workflow.store(), "charge", key, CHARGES, order["orderId"], amount
        ).application
        _charged[key] = application
    effect("payment.charged", order["orderId"], application=application, cents=amount)
    failpoint("charge_payment.after_effect")
    return amount


def install() -> None:
    replace_activity(charge_payment)
