"""Child workflows (the shape of the Dapr Python SDK's ``child_workflow`` example): a
shipment restocks each of its items in a child workflow of its own, then closes.

Workflow ``restock``, input ``{"shipment": "s-1", "items": [{"sku": "bolt", "qty": 40},
...]}``: one child ``restock_item`` per item, all at once (instance ids
``<parent id>:<sku>``, so a replay names the same children), then ``close_shipment``
records the shipment's units in the store.

Child ``restock_item``: ``reserve_shelf`` (the units, once per child instance), then
``pack_item``, with care for fragile SKUs. Output ``{"sku", "qty", "care"}``.

Output of ``restock``: ``{"shipment", "items": [child outputs, in input order],
"units"}``; it depends on the input only.

``APP_VARIANT=waits-for-inspection`` is the broken variant: a fragile item's child waits
for an ``inspected`` event before packing, and nothing in the system ever sends it (the
inspection service was never wired up), with no timeout. Its parent waits for it
forever: the shipment never finishes.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from dapr.ext.workflow import (
    DaprWorkflowContext,
    RetryPolicy,
    WorkflowActivityContext,
    WorkflowRuntime,
    when_all,
)

from harness.app import effect
from tests.apps.python.store import Store

VARIANTS = ("correct", "waits-for-inspection")
VARIANT = os.environ.get("APP_VARIANT", "correct")
if VARIANT not in VARIANTS:
    raise RuntimeError(f"APP_VARIANT={VARIANT!r} is unknown; choose one of {', '.join(VARIANTS)}")

FRAGILE = frozenset({"glass", "lamp"})

wfr = WorkflowRuntime()
store = Store.from_env("shipments")
RETRY = RetryPolicy(
    first_retry_interval=timedelta(seconds=0.5),
    max_number_of_attempts=8,
    backoff_coefficient=2.0,
    max_retry_interval=timedelta(seconds=4),
)


@wfr.workflow(name="restock")
def restock(ctx: DaprWorkflowContext, shipment: dict[str, Any]) -> Any:
    children = [
        ctx.call_child_workflow(
            restock_item, input=item, instance_id=f"{ctx.instance_id}:{item['sku']}"
        )
        for item in shipment["items"]
    ]
    items = yield when_all(children)
    summary = {
        "shipment": shipment["shipment"],
        "items": items,
        "units": sum(item["qty"] for item in items),
    }
    yield ctx.call_activity(close_shipment, input=summary, retry_policy=RETRY)
    return summary


@wfr.workflow(name="restock_item")
def restock_item(ctx: DaprWorkflowContext, item: dict[str, Any]) -> Any:
    yield ctx.call_activity(reserve_shelf, input=item, retry_policy=RETRY)
    care = item["sku"] in FRAGILE
    if care and VARIANT == "waits-for-inspection":
        # BUG: nothing ever raises "inspected", and there is no timeout: this child (and
        # the shipment waiting for it) never finishes.
        yield ctx.wait_for_external_event("inspected")
    packed = yield ctx.call_activity(pack_item, input={**item, "care": care}, retry_policy=RETRY)
    return packed


@wfr.activity(name="reserve_shelf")
def reserve_shelf(ctx: WorkflowActivityContext, item: dict[str, Any]) -> None:
    # One child instance per (shipment, sku): its id is the idempotency key's instance.
    applied = store.apply_once(f"{ctx.workflow_id}:reserve", "shelves", item["sku"], item["qty"])
    effect("shelf.reserved", ctx.workflow_id, application=applied.application, qty=item["qty"])


@wfr.activity(name="pack_item")
def pack_item(ctx: WorkflowActivityContext, item: dict[str, Any]) -> dict[str, Any]:
    return {"sku": item["sku"], "qty": item["qty"], "care": item["care"]}


@wfr.activity(name="close_shipment")
def close_shipment(ctx: WorkflowActivityContext, summary: dict[str, Any]) -> None:
    applied = store.apply_once(
        f"{ctx.workflow_id}:close", "closed", summary["shipment"], summary["units"]
    )
    effect("shipment.closed", ctx.workflow_id, application=applied.application, **summary)


if __name__ == "__main__":  # run it as its own app: `dapr run ... -- python -m ...`
    import signal
    import threading

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    wfr.start()
    try:
        done.wait()
    finally:
        wfr.shutdown()
