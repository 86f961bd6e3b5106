"""The ORIGINAL workflows whose histories the replay tests record on the real stack.

Run as an app (``python tests/replay/apps/shop.py``) under ``Stack.run_command``: it
starts a workflow worker, schedules one instance of each workflow (ids from argv[1]
on), waits until all complete, and exits 0 (3 if one did not complete).

- ``shop``: four chained activities (reserve, charge, ship, notify); ``fanout``: two
  activities in parallel; ``approval`` waits for an external event.
- ``lucky`` branches on ``random.random()``; ``clocked`` on the wall clock
  (``datetime.now()``): both replay-unsafe (held fixed while recording, see main()).
  ``clocked_safe`` branches on ``ctx.current_utc_datetime``, the replay-safe clock.
- ``shop_versioned`` is ``shop`` registered as version "v1" of a versioned workflow;
  ``shop_patched`` is ``shop`` plus a step behind ``ctx.is_patched``.
"""

from __future__ import annotations

import datetime as _dt
import random
import sys
from datetime import datetime
from typing import Any

import dapr.ext.workflow as wf

wfr = wf.WorkflowRuntime()


@wfr.activity(name="reserve")
def reserve(ctx: Any, order: dict[str, Any]) -> str:
    return f"reserved {order['item']}"


@wfr.activity(name="charge")
def charge(ctx: Any, payment: dict[str, Any]) -> int:
    return int(payment["amount"] * 100)


@wfr.activity(name="ship")
def ship(ctx: Any, order: dict[str, Any]) -> str:
    return f"shipped {order['id']}"


@wfr.activity(name="notify")
def notify(ctx: Any, order_id: str) -> bool:
    return True


def shop(ctx: Any, order: dict[str, Any]) -> Any:
    reserved = yield ctx.call_activity(reserve, input=order)
    charged = yield ctx.call_activity(charge, input={"id": order["id"], "amount": order["amount"]})
    shipped = yield ctx.call_activity(ship, input=order)
    yield ctx.call_activity(notify, input=order["id"])
    return {"id": order["id"], "reserved": reserved, "charged": charged, "shipped": shipped}


def lucky(ctx: Any, order: dict[str, Any]) -> Any:
    if random.random() < 0.5:
        return (yield ctx.call_activity(reserve, input=order))
    return (yield ctx.call_activity(ship, input=order))


def clocked(ctx: Any, order: dict[str, Any]) -> Any:
    if datetime.now(_dt.UTC).microsecond % 2 == 0:
        return (yield ctx.call_activity(reserve, input=order))
    return (yield ctx.call_activity(ship, input=order))


def clocked_safe(ctx: Any, order: dict[str, Any]) -> Any:
    if ctx.current_utc_datetime.microsecond % 2 == 0:
        return (yield ctx.call_activity(reserve, input=order))
    return (yield ctx.call_activity(ship, input=order))


def fanout(ctx: Any, order: dict[str, Any]) -> Any:
    """Reserve and ship in parallel: one turn schedules two activities."""
    return (
        yield wf.when_all(
            [ctx.call_activity(reserve, input=order), ctx.call_activity(ship, input=order)]
        )
    )


def approval(ctx: Any, order: dict[str, Any]) -> Any:
    """Waits (indefinitely) for an "approve" event, then reserves what it says."""
    approved = yield ctx.wait_for_external_event("approve")
    return (yield ctx.call_activity(reserve, input={**order, "item": approved["item"]}))


def shop_versioned(ctx: Any, order: dict[str, Any]) -> Any:
    return (yield from shop(ctx, order))


def shop_patched(ctx: Any, order: dict[str, Any]) -> Any:
    result = yield from shop(ctx, order)
    if ctx.is_patched("notify-twice"):
        yield ctx.call_activity(notify, input=order["id"])
    return result


wfr.register_workflow(shop, name="shop")
wfr.register_workflow(fanout, name="fanout")
wfr.register_workflow(approval, name="approval")
wfr.register_workflow(shop_patched, name="shop_patched")
wfr.register_workflow(lucky, name="lucky")
wfr.register_workflow(clocked, name="clocked")
wfr.register_workflow(clocked_safe, name="clocked_safe")
wfr.register_versioned_workflow(
    shop_versioned, name="shop_versioned", version_name="v1", is_latest=True
)

# (instance id suffix, workflow name): what one run of the app records.
INSTANCES = (
    ("shop-1", "shop"),
    ("shop-2", "shop"),
    ("lucky-1", "lucky"),
    ("clocked-1", "clocked"),
    ("clocked-safe-1", "clocked_safe"),
    ("versioned-1", "shop_versioned"),
    ("patched-1", "shop_patched"),
    ("fanout-1", "fanout"),
    ("approval-1", "approval"),
)


def order(instance: str) -> dict[str, Any]:
    return {"id": instance, "item": "book", "amount": 12.5}


class _EvenClock:
    """The wall clock, with an even microsecond: see main()."""

    @staticmethod
    def now(tz: Any = None) -> datetime:
        return _dt.datetime.now(tz).replace(microsecond=0)


def main(prefix: str) -> int:
    global datetime
    # lucky and clocked re-decide in every turn, so live they fail about half the time
    # (the SDK sees the other branch while rebuilding state). The recording holds the
    # random number and the clock's parity fixed, so they take the "reserve" branch and
    # complete; the tests then replay them with the other value.
    random.random = lambda: 0.25
    datetime = _EvenClock  # type: ignore[misc,assignment]
    wfr.start()
    client = wf.DaprWorkflowClient()
    try:
        ids = [
            client.schedule_new_workflow(
                workflow=name, input=order(prefix + suffix), instance_id=prefix + suffix
            )
            for suffix, name in INSTANCES
        ]
        client.wait_for_workflow_start(prefix + "approval-1", timeout_in_seconds=60)
        client.raise_workflow_event(prefix + "approval-1", "approve", data={"item": "pen"})
        states = [client.wait_for_workflow_completion(i, timeout_in_seconds=60) for i in ids]
    finally:
        wfr.shutdown()
    bad = [s for s in states if s is None or s.runtime_status.name != "COMPLETED"]
    print("RECORDED", len(ids) - len(bad), "of", len(ids), flush=True)
    for state in bad:
        print(
            "NOT COMPLETED",
            state
            and (
                state.instance_id,
                state.runtime_status.name,
                state.failure_details and state.failure_details.message,
            ),
            flush=True,
        )
    return 3 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "rec-"))
