"""Changed versions of ``shop`` (tests/replay/apps/shop.py), one WorkflowRuntime each,
as a developer might edit the workflow while instances are in flight. Replayed offline
against the histories the original recorded; only ``patched`` and ``versioned`` (made
with the SDK's versioning support) must replay clean.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import dapr.ext.workflow as wf

from tests.replay.apps.shop import charge, notify, reserve, ship


def audit(ctx: Any, order_id: str) -> bool:
    return True


def reserve_stock(ctx: Any, order: dict[str, Any]) -> str:
    return f"reserved {order['item']}"


def _payment(order: dict[str, Any]) -> dict[str, Any]:
    return {"id": order["id"], "amount": order["amount"]}


def _output(order: dict[str, Any], reserved: Any, charged: Any, shipped: Any) -> dict[str, Any]:
    return {"id": order["id"], "reserved": reserved, "charged": charged, "shipped": shipped}


def swapped(ctx: Any, order: dict[str, Any]) -> Any:
    charged = yield ctx.call_activity(charge, input=_payment(order))  # now charges first
    reserved = yield ctx.call_activity(reserve, input=order)
    shipped = yield ctx.call_activity(ship, input=order)
    yield ctx.call_activity(notify, input=order["id"])
    return _output(order, reserved, charged, shipped)


def renamed(ctx: Any, order: dict[str, Any]) -> Any:
    reserved = yield ctx.call_activity(reserve_stock, input=order)  # was "reserve"
    charged = yield ctx.call_activity(charge, input=_payment(order))
    shipped = yield ctx.call_activity(ship, input=order)
    yield ctx.call_activity(notify, input=order["id"])
    return _output(order, reserved, charged, shipped)


def timer_inserted(ctx: Any, order: dict[str, Any]) -> Any:
    reserved = yield ctx.call_activity(reserve, input=order)
    yield ctx.create_timer(timedelta(seconds=1))  # a cooling-off period
    charged = yield ctx.call_activity(charge, input=_payment(order))
    shipped = yield ctx.call_activity(ship, input=order)
    yield ctx.call_activity(notify, input=order["id"])
    return _output(order, reserved, charged, shipped)


def last_dropped(ctx: Any, order: dict[str, Any]) -> Any:
    reserved = yield ctx.call_activity(reserve, input=order)
    charged = yield ctx.call_activity(charge, input=_payment(order))
    shipped = yield ctx.call_activity(ship, input=order)
    return _output(order, reserved, charged, shipped)  # no notification any more


def appended(ctx: Any, order: dict[str, Any]) -> Any:
    reserved = yield ctx.call_activity(reserve, input=order)
    charged = yield ctx.call_activity(charge, input=_payment(order))
    shipped = yield ctx.call_activity(ship, input=order)
    yield ctx.call_activity(notify, input=order["id"])
    yield ctx.call_activity(audit, input=order["id"])  # new last step
    return _output(order, reserved, charged, shipped)


def input_changed(ctx: Any, order: dict[str, Any]) -> Any:
    reserved = yield ctx.call_activity(reserve, input=order)
    payment = {"id": order["id"], "amount": round(order["amount"] * 1.2, 2)}  # plus tax
    charged = yield ctx.call_activity(charge, input=payment)
    shipped = yield ctx.call_activity(ship, input=order)
    yield ctx.call_activity(notify, input=order["id"])
    return _output(order, reserved, charged, shipped)


def patched(ctx: Any, order: dict[str, Any]) -> Any:
    """``appended``, done right: instances that ran without the patch keep the old path."""
    reserved = yield ctx.call_activity(reserve, input=order)
    charged = yield ctx.call_activity(charge, input=_payment(order))
    shipped = yield ctx.call_activity(ship, input=order)
    yield ctx.call_activity(notify, input=order["id"])
    if ctx.is_patched("audit-after-notify"):
        yield ctx.call_activity(audit, input=order["id"])
    return _output(order, reserved, charged, shipped)


def fanout_fewer(ctx: Any, order: dict[str, Any]) -> Any:
    return (yield wf.when_all([ctx.call_activity(reserve, input=order)]))  # ship dropped


def fanout_more(ctx: Any, order: dict[str, Any]) -> Any:
    return (
        yield wf.when_all(
            [
                ctx.call_activity(reserve, input=order),
                ctx.call_activity(ship, input=order),
                ctx.call_activity(notify, input=order["id"]),  # added to the fan-out
            ]
        )
    )


def _runtime(fn: Any, name: str = "shop") -> wf.WorkflowRuntime:
    runtime = wf.WorkflowRuntime()
    runtime.register_workflow(fn, name=name)
    return runtime


swapped_rt = _runtime(swapped)
renamed_rt = _runtime(renamed)
timer_inserted_rt = _runtime(timer_inserted)
last_dropped_rt = _runtime(last_dropped)
appended_rt = _runtime(appended)
input_changed_rt = _runtime(input_changed)
patched_rt = _runtime(patched)
fanout_fewer_rt = _runtime(fanout_fewer, "fanout")
fanout_more_rt = _runtime(fanout_more, "fanout")


def _shop_v1(ctx: Any, order: dict[str, Any]) -> Any:
    reserved = yield ctx.call_activity(reserve, input=order)
    charged = yield ctx.call_activity(charge, input=_payment(order))
    shipped = yield ctx.call_activity(ship, input=order)
    yield ctx.call_activity(notify, input=order["id"])
    return _output(order, reserved, charged, shipped)


def _shop_v2(ctx: Any, order: dict[str, Any]) -> Any:
    charged = yield ctx.call_activity(charge, input=_payment(order))  # reordered in v2
    reserved = yield ctx.call_activity(reserve, input=order)
    shipped = yield ctx.call_activity(ship, input=order)
    yield ctx.call_activity(audit, input=order["id"])
    return _output(order, reserved, charged, shipped)


# Versioned workflows: v1 stays registered for the instances that started on it; new
# instances run v2. The same reordering that breaks ``swapped`` is safe here.
versioned_rt = wf.WorkflowRuntime()
versioned_rt.register_versioned_workflow(
    _shop_v1, name="shop_versioned", version_name="v1", is_latest=False
)
versioned_rt.register_versioned_workflow(
    _shop_v2, name="shop_versioned", version_name="v2", is_latest=True
)


# v2 alone (v1 deleted): the in-flight v1 instances cannot continue.
def _shop_v2_only(ctx: Any, order: dict[str, Any]) -> Any:
    return (yield from _shop_v2(ctx, order))


v1_deleted_rt = wf.WorkflowRuntime()
v1_deleted_rt.register_versioned_workflow(
    _shop_v2_only, name="shop_versioned", version_name="v2", is_latest=True
)
