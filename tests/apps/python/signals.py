"""Two durable waits, in plain Dapr Python SDK code (hosted by the harness, automatic
failpoints at every activity boundary):

- ``await_signal``: ``prepare``, then wait for the external event ``go`` (raised by the
  client, not by the app) or a ``GIVE_UP_S`` s timer, then ``finish`` with the event's
  data. Output ``{"status": "done", "data": <the event's data>}`` or ``{"status":
  "gave-up"}``.
- ``sleeper``: ``before``, a durable timer of ``input["seconds"]`` s, ``after``. Output
  ``{"slept": <seconds>}``.

Activities only return values: the waits are what the tests judge.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from dapr.ext.workflow import (
    DaprWorkflowContext,
    WorkflowActivityContext,
    WorkflowRuntime,
    when_any,
)

GIVE_UP_S = 120.0

wfr = WorkflowRuntime()


@wfr.workflow(name="await_signal")
def await_signal(ctx: DaprWorkflowContext, request: dict[str, Any]) -> Any:
    yield ctx.call_activity(prepare, input=request)
    signal = ctx.wait_for_external_event("go")
    give_up = ctx.create_timer(timedelta(seconds=GIVE_UP_S))
    winner = yield when_any([signal, give_up])
    if winner == give_up:
        return {"status": "gave-up"}
    data = yield ctx.call_activity(finish, input=signal.get_result())
    return {"status": "done", "data": data}


@wfr.workflow(name="sleeper")
def sleeper(ctx: DaprWorkflowContext, request: dict[str, Any]) -> Any:
    yield ctx.call_activity(before, input=request)
    yield ctx.create_timer(timedelta(seconds=request["seconds"]))
    yield ctx.call_activity(after, input=request)
    return {"slept": request["seconds"]}


@wfr.activity(name="prepare")
def prepare(ctx: WorkflowActivityContext, request: dict[str, Any]) -> None:
    return None


@wfr.activity(name="finish")
def finish(ctx: WorkflowActivityContext, data: Any) -> Any:
    return data


@wfr.activity(name="before")
def before(ctx: WorkflowActivityContext, request: dict[str, Any]) -> None:
    return None


@wfr.activity(name="after")
def after(ctx: WorkflowActivityContext, request: dict[str, Any]) -> None:
    return None
