"""Puts process memory in its output: how often this process ran the workflow.

Process memory is not history, so a replay in a fresh process (after a crash, or
offline) counts differently.

Caught by: replay (the output differs when the recorded history is replayed), in
baseline; and by the online determinism check (tests/chaos/test_determinism.py): the
output changes when the app crashes after each activity.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Generator
from typing import Any

from dapr.ext.workflow import DaprWorkflowContext

from harness.reference_apps.orders import workflow
from harness.reference_apps.orders.variants import replace_workflow

_correct = workflow.order_processing
_runs: Counter[str] = Counter()


def order_processing(ctx: DaprWorkflowContext, order: dict[str, Any]) -> Generator[Any, Any, Any]:
    """The correct workflow, plus ``runs`` (this process's count) in an approval."""
    _runs[ctx.instance_id] += 1
    output = yield from _correct(ctx, order)
    if output["result"] == workflow.APPROVED:
        output = {**output, "runs": _runs[ctx.instance_id]}
    return output


WORKFLOWS = (order_processing,)


def install() -> None:
    replace_workflow(order_processing)
