"""An error answer is not proof that nothing happened: an order answered 503 after
daprd saved its instance is read back and judged like an accepted one, effects and all.

The app under test is the reference app answering 503 after it scheduled the workflow
(``tests/apps/answers_503_after_scheduling.py``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from harness import (
    AppSpec,
    Chaos,
    OrderAPIClient,
    Orders,
    Outcome,
    Stack,
    StackConfig,
    Verdict,
)
from tests.commands import ROOT

VARIANT = "payment-not-idempotent"


def answers_503(variant: str = "correct") -> AppSpec:
    return AppSpec(
        command=(sys.executable, "-m", "tests.apps.answers_503_after_scheduling"),
        cwd=ROOT,
        health_path="/healthz",
        env={"ORDER_APP_VARIANT": variant},
        workflows="harness.reference_apps.orders.workflow",
        dependencies={"store": "valkey"},
    )


@pytest.fixture(scope="module", params=["correct", VARIANT])
def late_stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    with Stack(StackConfig(app=answers_503(request.param))) as stack:
        yield stack


def test_orders_answered_503_are_read_back_and_judged(late_stack: Stack) -> None:
    variant = late_stack.config.app.env["ORDER_APP_VARIANT"]  # type: ignore[union-attr]
    chaos = Chaos(late_stack)
    orders = Orders(OrderAPIClient(late_stack.ports["app"]), prefix=f"late-{variant}-")
    try:
        # The crash comes after the first payment: the redelivered activity charges again
        # in the broken variant, once only in the correct app.
        chaos.arm("charge_payment.after_effect", "crash", nth=1)
        first = orders.try_submit()
        chaos.wait_for_hit("charge_payment.after_effect", prefix=orders.prefix)
        chaos.heal()
        rest = [orders.try_submit() for _ in range(2)]
        verification = chaos.verify(orders)
    finally:
        chaos.reset()
    assert [first, *rest] == [None, None, None]  # no order was acknowledged
    attempts = {a.instance_id: a for a in orders.attempts()}
    assert {a.outcome for a in attempts.values()} == {Outcome.INFO}
    assert all("503" in why for why in orders.uncertain_why.values()), orders.uncertain_why
    # Read back from daprd and judged: every one completed, with its effects.
    statuses = verification.history.statuses
    read_back = [s for s in (statuses.get(i) for i in attempts) if s is not None]
    assert [s.runtime_status for s in read_back] == ["COMPLETED"] * 3
    result = verification.result("exactly-once")
    if variant == "correct":
        assert verification.passed, verification.report()
        assert result.summary.startswith("9 effects for 3 orders"), result.summary
    else:
        assert result.verdict is Verdict.FAIL, verification.report()
        assert result.evidence[0].startswith(f"order {orders.prefix}1: payment.charged applied 2")
