"""The nothing-lost check fails on an app that acknowledges before it schedules."""

from __future__ import annotations

import re

from harness import Chaos, OrderAPIClient, Orders, Stack, Verdict, Verification

VARIANT = "loses-orders"


def kill_right_after_accepting(stack: Stack, prefix: str) -> Verification:
    chaos = Chaos(stack)
    orders = Orders(OrderAPIClient(stack.ports["app"]), prefix=prefix)
    try:
        orders.submit_many(5)
        chaos.kill("app")  # within the variant's 1 s batching window
        return chaos.verify(orders, deadline=6)
    finally:
        chaos.reset()


def test_an_app_that_loses_accepted_orders_fails_nothing_lost(variant_stack: Stack) -> None:
    verification = kill_right_after_accepting(variant_stack, "lost-")
    result = verification.result("nothing-lost")
    assert result.verdict is Verdict.FAIL, verification.report()
    # The variant schedules one queued order a second, so how many of the first four
    # got out before the kill depends on how fast the POSTs went; the last one was
    # accepted a moment before the kill and is lost whatever the machine's load.
    assert re.match(r"[1-5] of 5 accepted order\(s\) lost or stuck", result.summary), result.summary
    assert "order lost-5 was accepted (202) but Dapr does not know it: lost" in result.evidence


def test_the_correct_app_loses_nothing_under_the_same_kill(dapr_stack: Stack) -> None:
    verification = kill_right_after_accepting(dapr_stack, "kept-")
    assert verification.passed, verification.report()
