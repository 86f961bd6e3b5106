"""Reads the wall clock in the workflow: a timer due at ``datetime.now()`` + 50 ms.

The settlement pause before the reservation should use ``ctx.current_utc_datetime``;
every replay computes another deadline.

Caught by: replay (``deadline of timer ... differs``): the SDK's own replay does not look
at timer deadlines, the strict replayer does; in baseline.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import UTC, datetime, timedelta
from typing import Any

from dapr.ext.workflow import DaprWorkflowContext

from harness.reference_apps.orders import workflow
from harness.reference_apps.orders.variants import replace_workflow

SETTLEMENT = timedelta(milliseconds=50)


def order_processing(ctx: DaprWorkflowContext, order: dict[str, Any]) -> Generator[Any, Any, Any]:
    """The correct workflow with a wall-clock timer between the charge and the reservation."""
    retry = workflow.RETRY
    available = yield ctx.call_activity(workflow.check_inventory, input=order, retry_policy=retry)
    if not available:
        return {"orderId": order["orderId"], "result": workflow.REJECTED, "charged": 0}
    charged = yield ctx.call_activity(workflow.charge_payment, input=order, retry_policy=retry)
    yield ctx.create_timer(datetime.now(UTC) + SETTLEMENT)
    reserved = yield ctx.call_activity(workflow.reserve_stock, input=order, retry_policy=retry)
    if not reserved:
        yield ctx.call_activity(workflow.refund_payment, input=order, retry_policy=retry)
        return {"orderId": order["orderId"], "result": workflow.REJECTED, "charged": 0}
    yield ctx.call_activity(workflow.notify_customer, input=order, retry_policy=retry)
    return {"orderId": order["orderId"], "result": workflow.APPROVED, "charged": charged}


WORKFLOWS = (order_processing,)


def install() -> None:
    replace_workflow(order_processing)
