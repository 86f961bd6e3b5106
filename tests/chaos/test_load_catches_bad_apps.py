"""The post-load checks FAIL on a deliberately broken app: a crash right after a charge,
under Locust load, makes the non-idempotent payment charge twice."""

from __future__ import annotations

from harness import Chaos, LoadProfile, Stack, Verdict, run_load

VARIANT = "payment-not-idempotent"


def test_a_double_charge_under_load_fails_exactly_once(variant_stack: Stack) -> None:
    chaos = Chaos(variant_stack)
    try:
        chaos.arm("charge_payment.after_effect", "crash", nth=3)
        result = run_load(variant_stack, LoadProfile(3, 3, 4), prefix="load-dup-", chaos=chaos)
    finally:
        chaos.reset()
    assert result.verification is not None and not result.passed
    check = result.verification.result("exactly-once")
    assert check.verdict is Verdict.FAIL, result.summary()
    assert "payment.charged applied 2 times" in check.evidence[0]
