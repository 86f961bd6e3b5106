"""Decides at random in the workflow: a payment gateway per execution.

``random.choice`` (load balancing) picks the gateway handed to charge_payment, so a
replay decides differently from the run it replays.

Caught by: replay (``input of activity 'charge_payment' differs``): the SDK's own replay
checks only the names and order of steps, the strict replayer compares inputs too; in
baseline.
"""

from __future__ import annotations

import random
from collections.abc import Generator
from typing import Any

from dapr.ext.workflow import DaprWorkflowContext

from harness.reference_apps.orders import workflow
from harness.reference_apps.orders.variants import replace_workflow

# Many gateways, so that a replay picks the one the run picked only by rare chance (with
# two, four orders replayed the same one in 1 run of 16 and the bug went unseen).
GATEWAYS = tuple(f"gateway-{n:02d}" for n in range(64))


def order_processing(ctx: DaprWorkflowContext, order: dict[str, Any]) -> Generator[Any, Any, Any]:
    """The correct workflow, the charge routed through a randomly chosen gateway."""
    retry = workflow.RETRY
    available = yield ctx.call_activity(workflow.check_inventory, input=order, retry_policy=retry)
    if not available:
        return {"orderId": order["orderId"], "result": workflow.REJECTED, "charged": 0}
    payment = {**order, "gateway": random.choice(GATEWAYS)}
    charged = yield ctx.call_activity(workflow.charge_payment, input=payment, retry_policy=retry)
    reserved = yield ctx.call_activity(workflow.reserve_stock, input=order, retry_policy=retry)
    if not reserved:
        yield ctx.call_activity(workflow.refund_payment, input=order, retry_policy=retry)
        return {"orderId": order["orderId"], "result": workflow.REJECTED, "charged": 0}
    yield ctx.call_activity(workflow.notify_customer, input=order, retry_policy=retry)
    return {"orderId": order["orderId"], "result": workflow.APPROVED, "charged": charged}


WORKFLOWS = (order_processing,)


def install() -> None:
    replace_workflow(order_processing)
