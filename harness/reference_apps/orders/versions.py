"""Versions of the order workflow, for deploying one over another with orders in flight
(``dapr-chaos rollout``, the ``deploy`` fault). Each is a function that registers the
workflow and its activities on the runtime it is given, so the harness hosts it:
``harness.reference_apps.orders.versions:v2_patched``.

Version 2 screens every order for fraud (``screen_fraud``, no business effect) between
the inventory check and the charge. How it is rolled out decides whether instances that
version 1 started survive the deploy:

========== ===================================================================== ======
name       what it registers                                                     verdict
========== ===================================================================== ======
v1         the workflow as in the reference app, unversioned                     (base)
v2_patched the screen behind ``ctx.is_patched("fraud-screen")``                  safe
v2_unpatched the screen added as is: an instance past the inventory check replays  unsafe
           a history whose next task is the charge (non-determinism: FAILED)
v1_named   the workflow as the named version ``v1`` (latest)                     (base)
v2_named   ``v1`` kept (not latest), ``v2`` with the screen (latest)             safe
v2_dropped ``v2`` only: an instance whose history names ``v1`` has no code       unsafe
           (STALLED, version not available); deploying ``v1_named`` resumes it
========== ===================================================================== ======

Going from the unversioned ``v1`` straight to ``v2_named`` is unsafe too: a history
that names no version runs the latest one, which screens where the history charged.

Activities use the business store of the reference app (the stack's Valkey, from
``DAPR_CHAOS_VALKEY_URL``), with the same idempotency keys, so every check that judges
the reference app's effects judges these.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any

from dapr.ext.workflow import DaprWorkflowContext, WorkflowActivityContext, WorkflowRuntime

from harness.app import recorded_activity
from harness.reference_apps.orders import workflow
from harness.reference_apps.orders.store import OrderStore
from harness.reference_apps.orders.workflow import (
    ACTIVITIES,
    APPROVED,
    REJECTED,
    RETRY,
    WORKFLOW_NAME,
    charge_payment,
    check_inventory,
    notify_customer,
    refund_payment,
    reserve_stock,
)

PATCH = "fraud-screen"
VERSIONS = ("v1", "v2_patched", "v2_unpatched", "v1_named", "v2_named", "v2_dropped")


@recorded_activity
def screen_fraud(ctx: WorkflowActivityContext, order: dict[str, Any]) -> bool:
    """Version 2's new step: a pure verdict (no effect), every order passes."""
    return bool(order.get("customerId"))


def _rest(ctx: DaprWorkflowContext, order: dict[str, Any]) -> Generator[Any, Any, Any]:
    """From the charge on: the same in every version."""
    charged = yield ctx.call_activity(charge_payment, input=order, retry_policy=RETRY)
    reserved = yield ctx.call_activity(reserve_stock, input=order, retry_policy=RETRY)
    if not reserved:
        yield ctx.call_activity(refund_payment, input=order, retry_policy=RETRY)
        return {"orderId": order["orderId"], "result": REJECTED, "charged": 0}
    yield ctx.call_activity(notify_customer, input=order, retry_policy=RETRY)
    return {"orderId": order["orderId"], "result": APPROVED, "charged": charged}


def _own(ctx: DaprWorkflowContext, order: dict[str, Any]) -> dict[str, Any]:
    """The order as this instance's own: its id is the instance id (inputs started by a
    workload are cycled; two instances must never share an order, or its effects)."""
    return {**order, "orderId": ctx.instance_id}


def _rejected(order: dict[str, Any]) -> dict[str, Any]:
    return {"orderId": order["orderId"], "result": REJECTED, "charged": 0}


def order_v1(ctx: DaprWorkflowContext, order: dict[str, Any]) -> Generator[Any, Any, Any]:
    order = _own(ctx, order)
    available = yield ctx.call_activity(check_inventory, input=order, retry_policy=RETRY)
    if not available:
        return _rejected(order)
    return (yield from _rest(ctx, order))


def order_v2_patched(ctx: DaprWorkflowContext, order: dict[str, Any]) -> Generator[Any, Any, Any]:
    order = _own(ctx, order)
    available = yield ctx.call_activity(check_inventory, input=order, retry_policy=RETRY)
    if not available:
        return _rejected(order)
    if ctx.is_patched(PATCH):
        yield ctx.call_activity(screen_fraud, input=order, retry_policy=RETRY)
    return (yield from _rest(ctx, order))


def order_v2(ctx: DaprWorkflowContext, order: dict[str, Any]) -> Generator[Any, Any, Any]:
    order = _own(ctx, order)
    available = yield ctx.call_activity(check_inventory, input=order, retry_policy=RETRY)
    if not available:
        return _rejected(order)
    yield ctx.call_activity(screen_fraud, input=order, retry_policy=RETRY)
    return (yield from _rest(ctx, order))


def _activities(runtime: WorkflowRuntime, *, screen: bool) -> None:
    workflow.bind_store(OrderStore(_store_url()))
    for activity in (*ACTIVITIES, screen_fraud) if screen else ACTIVITIES:
        runtime.register_activity(activity, name=activity.__name__)


def _store_url() -> str:
    # Unset only in the harness's dry run of the code (`host --check`), which runs no
    # activity: the store connects on first use.
    return (
        os.environ.get("DAPR_CHAOS_DEP_STORE_URL")
        or os.environ.get("DAPR_CHAOS_VALKEY_URL")
        or "redis://127.0.0.1:6379/0"
    )


def v1(runtime: WorkflowRuntime) -> None:
    runtime.register_workflow(order_v1, name=WORKFLOW_NAME)
    _activities(runtime, screen=False)


def v2_patched(runtime: WorkflowRuntime) -> None:
    runtime.register_workflow(order_v2_patched, name=WORKFLOW_NAME)
    _activities(runtime, screen=True)


def v2_unpatched(runtime: WorkflowRuntime) -> None:
    runtime.register_workflow(order_v2, name=WORKFLOW_NAME)
    _activities(runtime, screen=True)


def v1_named(runtime: WorkflowRuntime) -> None:
    runtime.register_versioned_workflow(
        order_v1, name=WORKFLOW_NAME, version_name="v1", is_latest=True
    )
    _activities(runtime, screen=False)


def v2_named(runtime: WorkflowRuntime) -> None:
    runtime.register_versioned_workflow(
        order_v1, name=WORKFLOW_NAME, version_name="v1", is_latest=False
    )
    runtime.register_versioned_workflow(
        order_v2, name=WORKFLOW_NAME, version_name="v2", is_latest=True
    )
    _activities(runtime, screen=True)


def v2_dropped(runtime: WorkflowRuntime) -> None:
    runtime.register_versioned_workflow(
        order_v2, name=WORKFLOW_NAME, version_name="v2", is_latest=True
    )
    _activities(runtime, screen=True)
