"""Fan-out/fan-in (the shape of the Dapr Python SDK's ``fan_out_fan_in`` example): count
the ballots of a poll's precincts in parallel, then publish the total.

Workflow ``count_poll``, input ``{"poll": "p-1", "precincts": 4}``:

1. ``list_precincts``: the precincts to count (``<poll>/<n>``).
2. ``count_precinct`` for every precinct at once (``when_all``): the precinct's votes
   (a pure function of its name) added to the poll's tally in the store, once per
   (instance, precinct).
3. ``publish_total``: the sum of the counts, published to the store once per instance.

Output ``{"poll", "precincts", "votes"}``: the sum of the counts the activities
returned (not the store's tally), so it depends on the input only.

``APP_VARIANT=counts-every-run`` is the broken variant: ``count_precinct`` adds the
precinct's votes to the tally every time it runs. Activities are at-least-once, so a
re-executed count (the app crashed after counting, before daprd had the result) counts
the precinct twice. The output stays right; only the effect is applied twice.
"""

from __future__ import annotations

import os
import zlib
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

VARIANTS = ("correct", "counts-every-run")
VARIANT = os.environ.get("APP_VARIANT", "correct")
if VARIANT not in VARIANTS:
    raise RuntimeError(f"APP_VARIANT={VARIANT!r} is unknown; choose one of {', '.join(VARIANTS)}")

wfr = WorkflowRuntime()
store = Store.from_env("polls")
RETRY = RetryPolicy(
    first_retry_interval=timedelta(seconds=0.5),
    max_number_of_attempts=8,
    backoff_coefficient=2.0,
    max_retry_interval=timedelta(seconds=4),
)


@wfr.workflow(name="count_poll")
def count_poll(ctx: DaprWorkflowContext, poll: dict[str, Any]) -> Any:
    precincts = yield ctx.call_activity(list_precincts, input=poll, retry_policy=RETRY)
    counts = yield when_all(
        [
            ctx.call_activity(count_precinct, input=precinct, retry_policy=RETRY)
            for precinct in precincts
        ]
    )
    total = {"poll": poll["poll"], "precincts": len(precincts), "votes": sum(counts)}
    yield ctx.call_activity(publish_total, input=total, retry_policy=RETRY)
    return total


@wfr.activity(name="list_precincts")
def list_precincts(ctx: WorkflowActivityContext, poll: dict[str, Any]) -> list[str]:
    return [f"{poll['poll']}/{n}" for n in range(1, int(poll["precincts"]) + 1)]


def votes_of(precinct: str) -> int:
    """The ballots cast in ``precinct``: made up, but the same every time."""
    return 100 + zlib.crc32(precinct.encode()) % 900


@wfr.activity(name="count_precinct")
def count_precinct(ctx: WorkflowActivityContext, precinct: str) -> int:
    votes = votes_of(precinct)
    subject = f"{ctx.workflow_id}/{precinct}"
    if VARIANT == "counts-every-run":
        # BUG: no idempotency key. A re-execution of this activity adds the votes again.
        store.add(f"tally:{ctx.workflow_id}", precinct, votes)
        effect("precinct.counted", subject, votes=votes)
    else:
        applied = store.apply_once(
            f"{ctx.workflow_id}:count:{precinct}", f"tally:{ctx.workflow_id}", precinct, votes
        )
        effect("precinct.counted", subject, application=applied.application, votes=votes)
    return votes


@wfr.activity(name="publish_total")
def publish_total(ctx: WorkflowActivityContext, total: dict[str, Any]) -> None:
    applied = store.apply_once(
        f"{ctx.workflow_id}:publish", "published", ctx.workflow_id, total["votes"]
    )
    effect("total.published", ctx.workflow_id, application=applied.application, **total)


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
