"""The pytest plugin, driven the way users drive it (pytester, in a subprocess)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

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


def junit_properties(report: Path) -> dict[str, list[tuple[str, str]]]:
    """Each ``<testcase>``'s properties by test name, in file order."""
    cases = ET.parse(report).getroot().iter("testcase")
    return {
        case.get("name", ""): [
            (p.get("name", ""), p.get("value", "")) for p in case.iter("property")
        ]
        for case in cases
    }


def test_check_verdicts_are_properties_of_the_junit_test_case(pytester: pytest.Pytester) -> None:
    """``--junitxml``: each verification through the chaos fixture adds one property per
    check (its verdict and its summary) and the overall verdict; a second verification
    in the same test is numbered; a test that verifies nothing gets none."""
    pytester.makeconftest(
        """
        from harness import CheckResult, Verdict

        def pytest_dapr_chaos_add_checks(history):
            n = len(history.accepted)
            verdict = Verdict.FAIL if n == 2 else Verdict.PASS
            return [CheckResult("at-most-one-order", verdict, f"{n} accepted")]
        """
    )
    pytester.makepyfile(
        test_user="""
        def test_passes(chaos, orders):
            orders.submit()
            chaos.assert_ok(orders)

        def test_fails(chaos, orders):
            orders.submit_many(2)
            chaos.assert_ok(orders)

        def test_verifies_twice(chaos, orders):
            orders.submit()
            chaos.verify(orders, checks=["nothing-lost"])
            chaos.verify(orders, checks=["completed"])

        def test_verifies_nothing(orders):
            pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--junitxml=report.xml")
    result.assert_outcomes(passed=3, failed=1)
    cases = junit_properties(pytester.path / "report.xml")

    builtin = ("exactly-once", "nothing-lost", "completed", "conservation", "worker-health")
    passed = dict(cases["test_passes"])
    assert len(passed) == len(cases["test_passes"]), "a property name repeats"
    for check in (*builtin, "at-most-one-order"):
        assert passed[f"dapr-chaos.check.{check}"] == "pass", (check, passed)
        assert passed[f"dapr-chaos.check.{check}.summary"], check
    assert passed["dapr-chaos.check.at-most-one-order.summary"] == "1 accepted"
    assert passed["dapr-chaos.verdict"] == "pass"
    assert cases["test_passes"][-1] == ("dapr-chaos.verdict", "pass")

    failed = dict(cases["test_fails"])
    assert failed["dapr-chaos.check.at-most-one-order"] == "fail"
    assert failed["dapr-chaos.check.at-most-one-order.summary"] == "2 accepted"
    assert failed["dapr-chaos.check.exactly-once"] == "pass"
    assert failed["dapr-chaos.verdict"] == "fail"

    assert [name for name, _ in cases["test_verifies_twice"]] == [
        "dapr-chaos.check.nothing-lost",
        "dapr-chaos.check.nothing-lost.summary",
        "dapr-chaos.check.at-most-one-order",
        "dapr-chaos.check.at-most-one-order.summary",
        "dapr-chaos.verdict",
        "dapr-chaos.2.check.completed",
        "dapr-chaos.2.check.completed.summary",
        "dapr-chaos.2.check.at-most-one-order",
        "dapr-chaos.2.check.at-most-one-order.summary",
        "dapr-chaos.2.verdict",
    ]
    assert cases["test_verifies_nothing"] == []


def test_a_scenario_files_check_verdicts_are_junit_properties(pytester: pytest.Pytester) -> None:
    pytester.path.joinpath("quick.scenario.yaml").write_text(
        "name: quick\nworkload: {orders: 1, concurrency: 1}\nchecks: [nothing-lost, completed]\n"
    )
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--dapr-chaos-report", "reports", "--junitxml=report.xml"
    )
    result.assert_outcomes(passed=1)
    props = dict(junit_properties(pytester.path / "report.xml")["quick"])
    assert props["dapr-chaos.check.nothing-lost"] == "pass"
    assert props["dapr-chaos.check.completed"] == "pass"
    assert props["dapr-chaos.check.completed.summary"]
    assert props["dapr-chaos.verdict"] == "pass"
