"""A timer and an external event (the shape of the Dapr Python SDK's ``human_approval``
example): a purchase waits for an ``approval`` event or a durable timer, whichever comes
first, then places the purchase or escalates it.

Workflow ``approve_purchase``, input ``{"request": "r-1", "item": "laptop", "cents":
90000}``:

1. ``request_approval``: records the request in the store and hands it to the approval
   desk. The desk approves requests up to ``DESK_LIMIT`` cents at once by raising the
   ``approval`` event on the instance (through daprd, like any other client); larger
   ones wait for a manager nobody assigned.
2. ``when_any`` of the ``approval`` event and a ``TIMEOUT_S`` s durable timer. The event
   was raised before the timer was even created, so an approvable request always sees
   the event first; the others always time out.
3. ``place_purchase`` with the approver named in the event, or ``escalate``: one effect
   each in the store, once per instance.

Output ``{"request", "status": "placed", "approver"}`` or ``{"request", "status":
"escalated"}``; it depends on the input only.

``APP_VARIANT=approver-in-memory`` is the broken variant: the desk also notes the
approver in process memory, and ``place_purchase`` names the approver from that note
instead of from the event. In one process that is the same answer; after the app
restarts between the approval and the purchase, the note is gone and the purchase is
placed with approver ``None``.
"""

from __future__ import annotations

import os
import threading
from datetime import timedelta
from typing import Any

from dapr.ext.workflow import (
    DaprWorkflowClient,
    DaprWorkflowContext,
    RetryPolicy,
    WorkflowActivityContext,
    WorkflowRuntime,
    when_any,
)

from harness.app import effect
from tests.apps.python.store import Store

VARIANTS = ("correct", "approver-in-memory")
VARIANT = os.environ.get("APP_VARIANT", "correct")
if VARIANT not in VARIANTS:
    raise RuntimeError(f"APP_VARIANT={VARIANT!r} is unknown; choose one of {', '.join(VARIANTS)}")

DESK_LIMIT = 100_000  # cents the desk approves on its own
TIMEOUT_S = 2.0  # how long a request waits for its approval, seconds

wfr = WorkflowRuntime()
store = Store.from_env("purchases")
RETRY = RetryPolicy(
    first_retry_interval=timedelta(seconds=0.5),
    max_number_of_attempts=8,
    backoff_coefficient=2.0,
    max_retry_interval=timedelta(seconds=4),
)


class ApprovalDesk:
    """Approves requests up to ``DESK_LIMIT`` by raising ``approval`` on the instance."""

    def __init__(self) -> None:
        self._client: DaprWorkflowClient | None = None
        self._lock = threading.Lock()
        self.approved_by: dict[str, str] = {}  # the broken variant's note

    def client(self) -> DaprWorkflowClient:
        with self._lock:
            if self._client is None:  # daprd's address comes from the environment
                self._client = DaprWorkflowClient()
            return self._client

    def submit(self, instance_id: str, request: dict[str, Any]) -> None:
        if request["cents"] > DESK_LIMIT:
            return  # a manager's approval: nobody is assigned, so the request times out
        approver = "desk-a" if request["cents"] <= DESK_LIMIT // 2 else "desk-b"
        self.approved_by[instance_id] = approver
        # Raised again when the activity runs again: the workflow takes the first one.
        self.client().raise_workflow_event(instance_id, "approval", data={"approver": approver})


desk = ApprovalDesk()


@wfr.workflow(name="approve_purchase")
def approve_purchase(ctx: DaprWorkflowContext, request: dict[str, Any]) -> Any:
    yield ctx.call_activity(request_approval, input=request, retry_policy=RETRY)
    approval = ctx.wait_for_external_event("approval")
    timeout = ctx.create_timer(timedelta(seconds=TIMEOUT_S))
    winner = yield when_any([approval, timeout])
    if winner == timeout:
        yield ctx.call_activity(escalate, input=request, retry_policy=RETRY)
        return {"request": request["request"], "status": "escalated"}
    approver = approval.get_result()["approver"]
    placed = yield ctx.call_activity(
        place_purchase, input={**request, "approver": approver}, retry_policy=RETRY
    )
    return {"request": request["request"], "status": "placed", "approver": placed}


@wfr.activity(name="request_approval")
def request_approval(ctx: WorkflowActivityContext, request: dict[str, Any]) -> None:
    store.put(f"request:{ctx.workflow_id}", request)
    desk.submit(ctx.workflow_id, request)


@wfr.activity(name="place_purchase")
def place_purchase(ctx: WorkflowActivityContext, purchase: dict[str, Any]) -> str | None:
    if VARIANT == "approver-in-memory":
        # BUG: process memory is not workflow state. A restart since the approval
        # forgot it, and the purchase is placed with no approver.
        approver = desk.approved_by.get(ctx.workflow_id)
    else:
        approver = purchase["approver"]  # from the approval event, in the history
    applied = store.apply_once(
        f"{ctx.workflow_id}:place", "placed", purchase["item"], purchase["cents"]
    )
    effect("purchase.placed", ctx.workflow_id, application=applied.application, approver=approver)
    return approver


@wfr.activity(name="escalate")
def escalate(ctx: WorkflowActivityContext, request: dict[str, Any]) -> None:
    applied = store.apply_once(f"{ctx.workflow_id}:escalate", "escalated", request["item"], 1)
    effect("purchase.escalated", ctx.workflow_id, application=applied.application)


if __name__ == "__main__":  # run it as its own app: `dapr run ... -- python -m ...`
    import signal

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    wfr.start()
    try:
        done.wait()
    finally:
        wfr.shutdown()
