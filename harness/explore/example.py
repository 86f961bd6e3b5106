"""One example of a search: one run of a fault plan on a reused stack, with fresh
instance ids. Usable inside a Hypothesis test (the schedule and outcome are ``note()``d)
and outside one."""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Sequence
from typing import Any

from hypothesis import note
from hypothesis.control import currently_in_test_context

from harness.checks.verification import Verification
from harness.experiment.chaos import Chaos
from harness.experiment.schedule_run import run_schedule
from harness.explore.strategies import FaultPlan
from harness.faults.schedule import Schedule
from harness.scenario.model import spec_event
from harness.stack.stack import Stack
from harness.workload.order_api import OrderAPIClient
from harness.workload.orders import Orders
from harness.workload.protocol import Workload
from harness.workload.workflow_api import WorkflowAPI
from harness.workload.workflows import Workflows

_examples = itertools.count(1)
_token = secrets.token_hex(2)


def run_example(
    stack: Stack,
    plan: FaultPlan,
    *,
    orders: int = 6,
    concurrency: int = 3,
    checks: Sequence[str] | None = None,
    chaos_timeout: float = 30.0,
    verify_deadline: float = 60.0,
    workflow: str | None = None,
    inputs: Sequence[Any] | None = None,
) -> Verification:
    """One example, one run on ``stack`` (a started :class:`harness.Stack`, reused):
    fresh instance ids, the plan's failpoints armed, its faults on schedule while
    ``orders`` orders are submitted (or, with ``workflow``, that many instances of it
    started through daprd, each given the next of ``inputs``), then heal, verify and the
    ``checks`` (default: those of the workload). The stack is healed and disarmed
    afterwards, whatever happened. Returns the :class:`Verification`; raises FaultError
    if a fault did nothing."""
    number = next(_examples)
    chaos = Chaos(stack)
    prefix = f"hx{_token}-{number}-"
    _note(f"example {number} (instance ids {prefix}*): " + "; ".join(plan.describe()))
    workload: Workload
    if workflow is None:
        workload = Orders(OrderAPIClient.on(stack), prefix=prefix, seed=number)
    else:
        registry = stack.app_registry()
        workload = Workflows(
            WorkflowAPI(stack.ports["daprd_grpc"], stack.api_token),
            prefix,
            workflow=workflow,
            inputs=list(inputs) if inputs else None,
            registered=registry["workflows"] if registry else None,
            seed=number,
        )
    schedule = Schedule(
        tuple(spec_event(spec) for spec in plan.faults),
        chaos_timeout=chaos_timeout,
        verify_deadline=verify_deadline,
    )
    try:
        for fp in plan.failpoints:
            chaos.arm_failpoint(fp)
        verification = run_schedule(
            chaos,
            schedule,
            workload,
            count=orders,
            concurrency=concurrency,
            checks=tuple(checks) if checks else None,
        )
    finally:
        chaos.reset()
        workload.close()
    failed = [
        f"{r.name} {r.verdict.value}: {r.summary}" for r in verification.results if not r.passed
    ]
    _note("outcome: " + ("; ".join(failed) if failed else "every check passed"))
    return verification


def _note(text: str) -> None:
    """Hypothesis's note() inside a test; run_example also works outside one."""
    if currently_in_test_context():
        note(text)
