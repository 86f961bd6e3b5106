"""The reference order workflow with charge and reserve swapped: in-flight and recorded
instances no longer replay. (Activities as in harness/reference_apps/orders/workflow.py.)"""

from __future__ import annotations

from typing import Any

from dapr.ext.workflow import DaprWorkflowContext

from harness.reference_apps.orders.workflow import (
    APPROVED,
    RETRY,
    charge_payment,
    check_inventory,
    notify_customer,
    reserve_stock,
)


def order_processing(ctx: DaprWorkflowContext, order: dict[str, Any]) -> Any:
    yield ctx.call_activity(check_inventory, input=order, retry_policy=RETRY)
    yield ctx.call_activity(reserve_stock, input=order, retry_policy=RETRY)
    charged = yield ctx.call_activity(charge_payment, input=order, retry_policy=RETRY)
    yield ctx.call_activity(notify_customer, input=order, retry_policy=RETRY)
    return {"orderId": order["orderId"], "result": APPROVED, "charged": charged}
