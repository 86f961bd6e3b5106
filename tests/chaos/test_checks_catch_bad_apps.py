"""Each checker FAILS on a deliberately broken app, and the correct app passes the very
same scenario: a check that cannot fail is a defect."""

from __future__ import annotations

from harness import Chaos, OrderAPIClient, Orders, Stack, Verdict, Verification

VARIANT = "payment-not-idempotent"


def crash_after_payment(stack: Stack, prefix: str) -> Verification:
    """Crash the app right after its first payment effect is committed; heal; verify."""
    chaos = Chaos(stack)
    orders = Orders(OrderAPIClient(stack.ports["app"]), prefix=prefix)
    try:
        chaos.arm("charge_payment.after_effect", "crash", nth=1)
        orders.submit()  # 202 comes before the workflow reaches the payment
        chaos.wait_for_hit("charge_payment.after_effect", prefix=prefix)
        chaos.heal()
        orders.submit_many(2)  # and life goes on after the crash
        return chaos.verify(orders)
    finally:
        chaos.reset()


def test_non_idempotent_payment_fails_exactly_once_naming_the_order(variant_stack: Stack) -> None:
    verification = crash_after_payment(variant_stack, "dup-")
    result = verification.result("exactly-once")
    assert result.verdict is Verdict.FAIL, verification.report()
    assert result.evidence[0].startswith("order dup-1: payment.charged applied 2 times")
    assert (
        "the second after failpoint charge_payment.after_effect fired (crash, hit 1)"
        in (result.evidence[0])
    )
    # The money check sees the same bug from the business state.
    assert verification.result("conservation").verdict is Verdict.FAIL
    assert "order dup-1: charged" in verification.result("conservation").evidence[0]


def test_the_correct_app_passes_the_same_scenario(dapr_stack: Stack) -> None:
    verification = crash_after_payment(dapr_stack, "nodup-")
    assert verification.passed, verification.report()
    assert "nodup-1: charge_payment re-executed 1x" in verification.result("exactly-once").evidence
