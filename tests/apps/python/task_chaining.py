"""Task chaining (the shape of the Dapr Python SDK's ``task_chaining`` example): book a
trip in three activities run one after another, each fed the previous one's result.

Workflow ``book_trip``, input ``{"trip": "t-1", "city": "lisbon", "nights": 2}``:

1. ``quote_trip``: the price (cents) from a rate table, held for ``HOLD_S`` seconds
   (``validUntil``, epoch seconds: the clock of the activity's machine is the right
   clock for that).
2. The workflow checks the hold *on the workflow's clock*: a quote that expired before
   the workflow got back to it (the app was down, the sidecar restarted) is requoted.
3. ``reserve_room`` and ``charge_card``: one effect each in the store, applied once per
   instance and step; the charge returns the confirmation.

Output ``{"trip", "city", "nights", "cents", "confirmation"}``; it depends on the input
only.

``APP_VARIANT=wall-clock-hold`` is the broken variant: it checks the hold with
``datetime.now()`` instead of ``ctx.current_utc_datetime``. Every replay of the workflow
re-decides with the time of the replay, so once a replay happens more than ``HOLD_S``
after the quote the code takes the requote branch the history never took: the runtime
fails the instance with a NonDeterminismError, and the recorded histories no longer
replay against the code.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

from dapr.ext.workflow import (
    DaprWorkflowContext,
    RetryPolicy,
    WorkflowActivityContext,
    WorkflowRuntime,
)

from harness.app import effect
from tests.apps.python.store import Store

VARIANTS = ("correct", "wall-clock-hold")
VARIANT = os.environ.get("APP_VARIANT", "correct")
if VARIANT not in VARIANTS:
    raise RuntimeError(f"APP_VARIANT={VARIANT!r} is unknown; choose one of {', '.join(VARIANTS)}")

HOLD_S = 2.0  # how long a quote holds its price, seconds (short: this is a test app)
RATES = {"lisbon": 9_500, "oslo": 14_000, "kyoto": 12_250}  # cents per night

wfr = WorkflowRuntime()
store = Store.from_env("trips")
# The store may be unreachable for a moment: retry the step rather than fail the trip.
RETRY = RetryPolicy(
    first_retry_interval=timedelta(seconds=0.5),
    max_number_of_attempts=8,
    backoff_coefficient=2.0,
    max_retry_interval=timedelta(seconds=4),
)


def _epoch(moment: datetime) -> float:
    """Epoch seconds of ``moment``; the SDK gives the workflow's clock as naive UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


@wfr.workflow(name="book_trip")
def book_trip(ctx: DaprWorkflowContext, trip: dict[str, Any]) -> Any:
    quote = yield ctx.call_activity(quote_trip, input=trip, retry_policy=RETRY)
    if VARIANT == "wall-clock-hold":
        # BUG: the wall clock in a workflow. A replay re-runs this line at replay time,
        # long after the quote, and decides differently from the first run.
        now = datetime.now(UTC).timestamp()
    else:
        now = _epoch(ctx.current_utc_datetime)  # recorded in the history: same on replay
    if now > quote["validUntil"]:
        quote = yield ctx.call_activity(quote_trip, input=trip, retry_policy=RETRY)
    booking = {**trip, "cents": quote["cents"]}
    yield ctx.call_activity(reserve_room, input=booking, retry_policy=RETRY)
    confirmation = yield ctx.call_activity(charge_card, input=booking, retry_policy=RETRY)
    return {**booking, "confirmation": confirmation}


@wfr.activity(name="quote_trip")
def quote_trip(ctx: WorkflowActivityContext, trip: dict[str, Any]) -> dict[str, Any]:
    cents = RATES[trip["city"]] * int(trip["nights"])
    return {"cents": cents, "validUntil": datetime.now(UTC).timestamp() + HOLD_S}


def _apply(ctx: WorkflowActivityContext, step: str, kind: str, booking: dict[str, Any]) -> None:
    """Apply this step's effect once per (instance, step), and report it on every run."""
    applied = store.apply_once(f"{ctx.workflow_id}:{step}", step, booking["trip"], booking["cents"])
    effect(kind, ctx.workflow_id, application=applied.application, cents=booking["cents"])


@wfr.activity(name="reserve_room")
def reserve_room(ctx: WorkflowActivityContext, booking: dict[str, Any]) -> None:
    _apply(ctx, "reserve", "room.reserved", booking)


@wfr.activity(name="charge_card")
def charge_card(ctx: WorkflowActivityContext, booking: dict[str, Any]) -> str:
    _apply(ctx, "charge", "card.charged", booking)
    return f"{booking['trip']}-{booking['city']}-{booking['nights']}n"


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
