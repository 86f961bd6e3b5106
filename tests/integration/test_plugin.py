"""The pytest plugin, driven the way users drive it (pytester, in a subprocess)."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.usefixtures("real_cache")


def test_dapr_stack_and_orders_fixtures_in_a_user_suite(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_user="""
        from harness import Stack, Orders

        def test_one(dapr_stack: Stack, orders: Orders):
            oid = orders.submit()
            status = orders.wait_terminal([oid])[oid]
            assert status.runtime_status == "COMPLETED", status
            assert oid.startswith("test-one-")

        def test_two_shares_the_stack(dapr_stack: Stack, orders: Orders):
            assert dapr_stack.metadata()["workflows"]["connectedWorkers"] >= 1
            assert orders.prefix.startswith("test-two-shares-the-stac-")
    """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=2)


def test_bad_plugin_option_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest_subprocess("--dapr-chaos-ready-timeout=-5")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--dapr-chaos-ready-timeout*must be > 0 seconds*"])


def test_a_stack_that_cannot_start_fails_the_test_with_the_reason(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile("def test_x(dapr_stack): pass")
    result = pytester.runpytest_subprocess("--dapr-chaos-app=sh -c 'echo broken app >&2; exit 9'")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*could not start the stack: app exited with status 9*", "*broken app*"]
    )


def test_plugin_can_be_disabled(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(dapr_stack): pass")
    result = pytester.runpytest_subprocess("-p", "no:dapr_chaos")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'dapr_stack' not found*"])


def test_hooks_configure_the_stack_add_checks_and_receive_scenario_outcomes(
    pytester: pytest.Pytester,
) -> None:
    """The three documented hooks (harness.hooks), implemented in a user's conftest."""
    pytester.makeconftest(
        """
        import dataclasses, json, pathlib
        from harness import CheckResult, Verdict

        def pytest_dapr_chaos_configure_stack(config, stack_config):
            return dataclasses.replace(stack_config, app_id="hooked")

        def pytest_dapr_chaos_add_checks(history):
            n = len(history.accepted)
            verdict = Verdict.FAIL if n == 2 else Verdict.PASS
            return [CheckResult("at-most-one-order", verdict, f"{n} accepted")]

        def pytest_dapr_chaos_scenario_outcome(outcome, report_dir):
            with open(pathlib.Path(report_dir).parent / "outcomes.jsonl", "a") as f:
                f.write(json.dumps([outcome.scenario.name, outcome.verdict.value]) + "\\n")
        """
    )
    pytester.makepyfile(
        test_user="""
        def test_configured(dapr_stack):
            assert dapr_stack.config.app_id == "hooked"

        def test_one_order_passes(chaos, orders):
            orders.submit()
            verification = chaos.assert_ok(orders)
            assert verification.result("at-most-one-order").passed

        def test_two_orders_fail_on_the_users_check(chaos, orders):
            orders.submit_many(2)
            chaos.assert_ok(orders)
    """
    )
    pytester.path.joinpath("quick.scenario.yaml").write_text(
        "name: quick\nworkload: {orders: 1, concurrency: 1}\n"
    )
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--dapr-chaos-report", "reports", "-v"
    )
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["*test_two_orders_fail_on_the_users_check*FAILED*"])
    result.stdout.fnmatch_lines(["*at-most-one-order: FAIL: 2 accepted*"])
    lines = (pytester.path / "reports" / "outcomes.jsonl").read_text().splitlines()
    assert lines == ['["quick", "pass"]']
