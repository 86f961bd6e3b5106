"""Each deliberately broken variant added for "trust every verdict" FAILS the check meant
to catch it, and the correct app passes the very same run: every checker has a bad app
it fails on (exactly-once, conservation, replay), for each kind of mistake the variants
make (compensation, ordering, swallowed errors, memory, non-determinism)."""

from __future__ import annotations

import pytest

from harness import (
    Chaos,
    OrderAPIClient,
    Orders,
    Stack,
    Verdict,
    Verification,
    reference_workflows,
)
from tests.chaos.test_checks_catch_bad_apps import crash_after_payment

SCARCE_UNITS = 5
CHECKS = ("exactly-once", "nothing-lost", "completed", "conservation", "worker-health")


def race_for_the_last_units(stack: Stack, prefix: str, crash_at: str | None = None) -> Verification:
    """Two orders of 3 units for a scarce product of this run's own (5 units) and one
    regular order. A 0.5 s delay after every charge holds both racers between the
    inventory check (both pass) and the reservation, so the second to reserve finds
    2 units and is refunded, every time. ``crash_at``: a failpoint that crashes the app
    on its first hit."""
    chaos = Chaos(stack)
    orders = Orders(OrderAPIClient(stack.ports["app"]), prefix=prefix)
    product = orders.generator.scarce_product(1)
    try:
        chaos.arm("charge_payment.after_effect", "delay", seconds=0.5, count=None)
        if crash_at is not None:
            chaos.arm(crash_at, "crash", nth=1)
        for _ in range(2):
            orders.submit(orders.make(product_id=product, quantity=3, total_amount=149.97))
        orders.submit()
        if crash_at is not None:
            chaos.wait_for_hit(crash_at, prefix=prefix)
        return chaos.verify(orders, deadline=60)
    finally:
        chaos.reset()


def refunded(verification: Verification) -> list[str]:
    return [e.subject for e in verification.history.ledger.effects if e.kind == "payment.refunded"]


@pytest.mark.parametrize(
    ("variant_stack", "check", "evidence"),
    [
        ("no-compensation", "exactly-once", "no payment.refunded effect recorded"),
        ("no-compensation", "conservation", "but is charged 14997 cents net"),
        ("refund-wrong-amount", "conservation", "but is charged 9998 cents net"),
        ("notify-before-reserve", "exactly-once", "unexpected customer.notified effect"),
    ],
    indirect=["variant_stack"],
)
def test_a_compensation_or_ordering_mistake_fails_its_check(
    variant_stack: Stack, check: str, evidence: str
) -> None:
    verification = race_for_the_last_units(variant_stack, f"race-{check[:5]}-")
    result = verification.result(check)
    assert result.verdict is Verdict.FAIL, verification.report()
    assert any(evidence in line for line in result.evidence), result.evidence


@pytest.mark.parametrize("variant_stack", ["refund-wrong-amount"], indirect=True)
def test_a_wrong_refund_is_only_a_money_problem(variant_stack: Stack) -> None:
    # Each effect happened once: exactly-once passes, conservation alone sees the money.
    verification = race_for_the_last_units(variant_stack, "wrong-")
    assert verification.result("exactly-once").verdict is Verdict.PASS, verification.report()
    assert verification.result("conservation").verdict is Verdict.FAIL


def test_the_correct_app_refunds_the_race_in_full(dapr_stack: Stack) -> None:
    verification = race_for_the_last_units(dapr_stack, "race-ok-")
    assert verification.passed, verification.report()
    assert len(refunded(verification)) == 1  # the race did happen


@pytest.mark.parametrize("variant_stack", ["refund-not-idempotent"], indirect=True)
def test_a_refund_that_is_not_idempotent_refunds_twice(variant_stack: Stack) -> None:
    verification = race_for_the_last_units(variant_stack, "rr-", "refund_payment.after_effect")
    result = verification.result("exactly-once")
    assert result.verdict is Verdict.FAIL, verification.report()
    assert "payment.refunded applied 2 times" in result.evidence[0]
    assert "after failpoint refund_payment.after_effect fired (crash, hit 1)" in result.evidence[0]


def test_the_correct_app_refunds_once_across_a_crash(dapr_stack: Stack) -> None:
    verification = race_for_the_last_units(dapr_stack, "rr-ok-", "refund_payment.after_effect")
    assert verification.passed, verification.report()
    assert len(refunded(verification)) == 1


@pytest.mark.parametrize("variant_stack", ["dedup-in-memory"], indirect=True)
def test_dedup_in_process_memory_charges_twice_after_a_crash(variant_stack: Stack) -> None:
    verification = crash_after_payment(variant_stack, "mem-")
    result = verification.result("exactly-once")
    assert result.verdict is Verdict.FAIL, verification.report()
    assert result.evidence[0].startswith("order mem-1: payment.charged applied 2 times")
    assert verification.result("conservation").verdict is Verdict.FAIL
    # (The correct app passes crash_after_payment: test_checks_catch_bad_apps.py.)


def raise_in_the_reservation(stack: Stack, prefix: str) -> Verification:
    """The first reservation raises (as a store error would); Dapr retries it."""
    chaos = Chaos(stack)
    orders = Orders(OrderAPIClient(stack.ports["app"]), prefix=prefix)
    try:
        chaos.arm("reserve_stock.before_effect", "raise", nth=1, count=1)
        orders.submit_many(3)
        chaos.wait_for_hit("reserve_stock.before_effect", prefix=prefix)
        return chaos.verify(orders, deadline=60)
    finally:
        chaos.reset()


@pytest.mark.parametrize("variant_stack", ["swallows-store-errors"], indirect=True)
def test_a_swallowed_store_error_approves_without_a_reservation(variant_stack: Stack) -> None:
    verification = raise_in_the_reservation(variant_stack, "swallow-")
    result = verification.result("exactly-once")
    assert result.verdict is Verdict.FAIL, verification.report()
    assert "(Approved): no stock.reserved effect recorded" in result.evidence[0]
    conservation = verification.result("conservation")
    assert conservation.verdict is Verdict.FAIL
    assert "reserved 0 units" in conservation.evidence[0]


def test_the_correct_app_retries_a_failed_reservation(dapr_stack: Stack) -> None:
    verification = raise_in_the_reservation(dapr_stack, "retried-")
    assert verification.passed, verification.report()


def replayed(stack: Stack, prefix: str, variant: str) -> Verification:
    """Four orders, no faults; their histories replayed against the code that ran."""
    chaos = Chaos(stack, workflows=reference_workflows(variant))
    orders = Orders(OrderAPIClient(stack.ports["app"]), prefix=prefix)
    try:
        orders.submit_many(4)
        return chaos.verify(orders, deadline=60, checks=(*CHECKS, "replay"))
    finally:
        chaos.reset()


@pytest.mark.parametrize(
    ("variant_stack", "mismatch"),
    [
        ("random-gateway", "input of activity 'charge_payment' differs"),
        ("wall-clock-timer", "timer"),
    ],
    indirect=["variant_stack"],
)
def test_a_nondeterministic_workflow_fails_strict_replay(
    variant_stack: Stack, mismatch: str, request: pytest.FixtureRequest
) -> None:
    variant = request.node.callspec.params["variant_stack"]
    verification = replayed(variant_stack, "nondet-", variant)
    result = verification.result("replay")
    assert result.verdict is Verdict.FAIL, verification.report()
    assert any(mismatch in line for line in result.evidence), result.evidence
    # Only the replay sees it: every order completed with its effects once.
    others = [r for r in verification.results if r.name != "replay"]
    assert all(r.passed for r in others), verification.report()


def test_the_correct_app_replays_exactly(dapr_stack: Stack) -> None:
    verification = replayed(dapr_stack, "det-", "correct")
    assert verification.passed, verification.report()
