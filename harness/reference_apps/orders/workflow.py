"""The order-processing workflow: check inventory → charge payment → reserve stock →
notify customer.

Idempotency keys are the workflow instance id plus the activity's name: each activity
runs once per order, so that names one logical call. It holds across RetryPolicy retries,
crash re-dispatch, and a daprd crash mid-turn (which re-schedules an activity under a new
task_execution_id; see harness.app.idempotency_key).

Out of stock at the check: "Rejected: out of stock", nothing charged. Out of stock at
reservation (another order took the last units in between): the charge is refunded and
the order is rejected the same way. Every activity is at-least-once; every business
effect is applied once per idempotency key (workflow instance id + activity name).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from dapr.ext.workflow import (
    DaprWorkflowContext,
    RetryPolicy,
    WorkflowActivityContext,
    WorkflowRuntime,
)

from harness.app import effect, failpoint, idempotency_key, recorded_activity
from harness.reference_apps.orders.store import OrderStore

WORKFLOW_NAME = "order_processing"
APPROVED = "Approved"
REJECTED = "Rejected: out of stock"

# Activities fail while Valkey is unreachable; retry long enough to ride out a restart.
RETRY = RetryPolicy(
    first_retry_interval=timedelta(milliseconds=500),
    max_number_of_attempts=12,
    backoff_coefficient=1.5,
    max_retry_interval=timedelta(seconds=5),
)

_store: OrderStore | None = None


def bind_store(store: OrderStore) -> None:
    """Give the activities their business store (once, at app start)."""
    global _store
    _store = store


def store() -> OrderStore:
    if _store is None:
        raise RuntimeError("the order store is not bound; call bind_store() at start")
    return _store


def cents(amount: float) -> int:
    return round(float(amount) * 100)


@recorded_activity
def check_inventory(ctx: WorkflowActivityContext, order: dict[str, Any]) -> bool:
    failpoint("check_inventory.before_effect")
    available = store().in_stock(order["productId"], int(order["quantity"]))
    failpoint("check_inventory.after_effect")
    return available


@recorded_activity
def charge_payment(ctx: WorkflowActivityContext, order: dict[str, Any]) -> int:
    amount = cents(order["totalAmount"])
    failpoint("charge_payment.before_effect")
    charge = store().charge(idempotency_key(), order["orderId"], amount)
    # Recorded on every execution, applied or found applied: a crash between the commit
    # and this record must not lose the record. The ledger dedups by application.
    effect("payment.charged", order["orderId"], application=charge.application, cents=amount)
    failpoint("charge_payment.after_effect")
    return amount


@recorded_activity
def reserve_stock(ctx: WorkflowActivityContext, order: dict[str, Any]) -> bool:
    failpoint("reserve_stock.before_effect")
    reservation = store().reserve(
        idempotency_key(), order["orderId"], order["productId"], int(order["quantity"])
    )
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


@recorded_activity
def refund_payment(ctx: WorkflowActivityContext, order: dict[str, Any]) -> int:
    amount = cents(order["totalAmount"])
    failpoint("refund_payment.before_effect")
    refund = store().refund(idempotency_key(), order["orderId"], amount)
    effect("payment.refunded", order["orderId"], application=refund.application, cents=amount)
    failpoint("refund_payment.after_effect")
    return amount


@recorded_activity
def notify_customer(ctx: WorkflowActivityContext, order: dict[str, Any]) -> bool:
    failpoint("notify_customer.before_effect")
    note = store().notify(idempotency_key(), order["orderId"])
    effect(
        "customer.notified",
        order["orderId"],
        application=note.application,
        customer=order["customerId"],
    )
    failpoint("notify_customer.after_effect")
    return True


def order_processing(ctx: DaprWorkflowContext, order: dict[str, Any]) -> Any:
    """The workflow. Output: ``{"orderId", "result", "charged"}`` (charged in cents)."""
    available = yield ctx.call_activity(check_inventory, input=order, retry_policy=RETRY)
    if not available:
        return {"orderId": order["orderId"], "result": REJECTED, "charged": 0}
    charged = yield ctx.call_activity(charge_payment, input=order, retry_policy=RETRY)
    reserved = yield ctx.call_activity(reserve_stock, input=order, retry_policy=RETRY)
    if not reserved:
        yield ctx.call_activity(refund_payment, input=order, retry_policy=RETRY)
        return {"orderId": order["orderId"], "result": REJECTED, "charged": 0}
    yield ctx.call_activity(notify_customer, input=order, retry_policy=RETRY)
    return {"orderId": order["orderId"], "result": APPROVED, "charged": charged}


ACTIVITIES = (check_inventory, charge_payment, reserve_stock, refund_payment, notify_customer)


def register(runtime: WorkflowRuntime) -> None:
    """Register the workflow and its activities under their plain names."""
    runtime.register_workflow(order_processing, name=WORKFLOW_NAME)
    for activity in ACTIVITIES:
        runtime.register_activity(activity, name=activity.__name__)
