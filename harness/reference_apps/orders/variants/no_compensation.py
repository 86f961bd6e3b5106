"""Does not compensate: a failed reservation rejects the order but keeps the charge.

The charge taken a step earlier is never refunded.

Caught by: exactly-once (``no payment.refunded effect recorded`` for a charged, rejected
order) and conservation (``rejected ... but is charged N cents net``); in baseline and
every scenario whose orders race for a scarce product (the compensation path).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from dapr.ext.workflow import DaprWorkflowContext

from harness.reference_apps.orders import workflow
from harness.reference_apps.orders.variants import replace_workflow


def order_processing(ctx: DaprWorkflowContext, order: dict[str, Any]) -> Generator[Any, Any, Any]:
    """The correct workflow without its refund_payment step."""
    retry = workflow.RETRY
    available = yield ctx.call_activity(workflow.check_inventory, input=order, retry_policy=retry)
    if not available:
        return {"orderId": order["orderId"], "result": workflow.REJECTED, "charged": 0}
    charged = yield ctx.call_activity(workflow.charge_payment, input=order, retry_policy=retry)
    reserved = yield ctx.call_activity(workflow.reserve_stock, input=order, retry_policy=retry)
    if not reserved:
        return {"orderId": order["orderId"], "result": workflow.REJECTED, "charged": 0}
    yield ctx.call_activity(workflow.notify_customer, input=order, retry_policy=retry)
    return {"orderId": order["orderId"], "result": workflow.APPROVED, "charged": charged}


WORKFLOWS = (order_processing,)


def install() -> None:
    replace_workflow(order_processing)
