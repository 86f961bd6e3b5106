"""One example of a search: one run of a fault plan on a reused stack, with fresh
instance ids. Usable inside a Hypothesis test (the schedule and outcome are ``note()``d)
and outside one."""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Sequence

from hypothesis import note
from hypothesis.control import currently_in_test_context

from harness.checks.verification import DEFAULT_CHECKS, Verification
from harness.experiment.chaos import Chaos
from harness.experiment.schedule_run import run_schedule
from harness.explore.strategies import FaultPlan
from harness.faults.schedule import Schedule
from harness.scenario.model import spec_event
from harness.stack.stack import Stack
from harness.workload.order_api import OrderAPIClient
from harness.workload.orders import Orders

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
) -> Verification:
    """One example, one run on ``stack`` (a started :class:`harness.Stack`, reused):
    fresh instance ids, the plan's failpoints armed, its faults on schedule while
    ``orders`` orders are submitted, then heal, verify and the ``checks`` (default: the
    standard ones). The stack is healed and disarmed afterwards, whatever happened.
    Returns the :class:`Verification`; raises FaultError if a fault did nothing."""
    number = next(_examples)
    chaos = Chaos(stack)
    prefix = f"hx{_token}-{number}-"
    _note(f"example {number} (instance ids {prefix}*): " + "; ".join(plan.describe()))
    workload = Orders(OrderAPIClient(stack.ports["app"]), prefix=prefix, seed=number)
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
            checks=tuple(checks or DEFAULT_CHECKS),
        )
    finally:
        chaos.reset()
    failed = [
        f"{r.name} {r.verdict.value}: {r.summary}" for r in verification.results if not r.passed
    ]
    _note("outcome: " + ("; ".join(failed) if failed else "every check passed"))
    return verification


def _note(text: str) -> None:
    """Hypothesis's note() inside a test; run_example also works outside one."""
    if currently_in_test_context():
        note(text)
