"""``harness.strategies`` in a user's own Hypothesis test, driven the way users drive it
(pytester, in a subprocess, on a real stack): generated schedules pass on the correct
app, and a failure on the non-idempotent app is reported with Hypothesis's notes."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.usefixtures("real_cache")


def test_generated_schedules_pass_on_the_correct_app(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_user="""
        from hypothesis import given, settings
        from harness.strategies import FaultSpace, fault_schedules, run_example

        SPACE = FaultSpace.reference(orders=4, kinds=("failpoint", "link"))

        @settings(settings.get_profile("dapr-chaos-ci"), max_examples=3)
        @given(plan=fault_schedules(SPACE, max_faults=2))
        def test_orders_survive(dapr_stack, plan):
            verification = run_example(dapr_stack, plan, orders=4)
            assert verification.passed, verification.report()
    """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=1)


def test_a_failing_schedule_is_shrunk_and_noted(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_user="""
        import pytest
        from hypothesis import given, settings
        from harness import Stack, StackConfig, reference_app
        from harness.strategies import FaultSpace, fault_schedules, run_example

        SPACE = FaultSpace.reference(orders=2, kinds=("failpoint",)).restricted(
            failpoints={"charge_payment.after_effect": 1, "check_inventory.after_effect": 1},
        )

        @pytest.fixture(scope="module")
        def broken_stack():
            app = reference_app(("ORDER_APP_VARIANT", "payment-not-idempotent"))
            with Stack(StackConfig(app=app)) as stack:
                yield stack

        @settings(settings.get_profile("dapr-chaos-ci"), max_examples=4)
        @given(plan=fault_schedules(SPACE, max_faults=2))
        def test_charged_once(broken_stack, plan):
            verification = run_example(broken_stack, plan, orders=2)
            assert verification.passed, verification.report()
    """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*plan=FaultPlan(failpoints=(Failpoint(name='charge_payment.after_effect', action=*",
            "*example * (instance ids hx*): failpoint charge_payment.after_effect: *",
            "*outcome: exactly-once fail*",
        ]
    )
    assert "payment.charged applied 2 times" in result.stdout.str()
