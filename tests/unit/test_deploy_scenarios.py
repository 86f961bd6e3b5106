"""``action: deploy`` in scenario files: what it builds, and one clear error per bad input."""

from __future__ import annotations

import pytest

from harness.errors import ConfigError
from harness.faults.deploy import Deploy
from harness.scenario.parse import parse_scenario

HEAD = """
name: deploy-v2
app: {workflows: "harness.reference_apps.orders.versions:v1_named"}
workload:
  workflow: order_processing
  instances: 4
  inputs: [{customerId: c, productId: p-001, quantity: 1, totalAmount: 1.0}]
checks: [nothing-lost, stalled, paths]
faults:
"""


def parse(fault: str) -> object:
    return parse_scenario(HEAD + fault, "s.yaml")


def test_a_deploy_builds_the_fault_and_writes_back() -> None:
    sc = parse(
        "  - {action: deploy, trigger: {completed: 2}, params: "
        "{workflows: 'harness.reference_apps.orders.versions:v2_named', mode: overlap, "
        "seconds: 2}}\n"
    )
    (event,) = sc.schedule.events  # type: ignore[attr-defined]
    assert event.fault == Deploy(
        workflows="harness.reference_apps.orders.versions:v2_named", mode="overlap", seconds=2.0
    )
    assert "deploy" in sc.as_yaml() and parse_scenario(sc.as_yaml(), "b.yaml") == sc  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("{action: deploy, trigger: {at: 1}}", "deploy needs params"),
        ("{action: deploy, trigger: {at: 1}, params: {mode: gap}}", "deploy needs the new version"),
        (
            "{action: deploy, trigger: {at: 1}, params: {env: {A: b}, mode: rolling}}",
            "deploy mode 'rolling' is unknown",
        ),
        ("{action: deploy, target: daprd, trigger: {at: 1}, params: {env: {A: b}}}", "target app"),
        (
            "{action: deploy, trigger: {at: 1}, duration: 2, params: {env: {A: b}}}",
            "has no duration",
        ),
        ("{action: deploy, trigger: {at: 1}, params: {env: {A: b}, seconds: -1}}", ">= 0"),
        ("{action: deploy, trigger: {at: 1}, params: {env: [a]}}", "mapping of NAME: value"),
    ],
)
def test_bad_deploys_are_one_error_with_file_and_line(fault: str, message: str) -> None:
    with pytest.raises(ConfigError, match=r"s\.yaml:") as err:
        parse(f"  - {fault}\n")
    assert message in str(err.value)
