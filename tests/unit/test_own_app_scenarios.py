"""The example apps' scenario files, without a stack: each parses, hosts its app, crashes
it once at every activity boundary the app registers, kills daprd, cuts the app's own
store link and runs every workflow check (tests/chaos/test_own_apps.py runs them)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.scenario.parse import load_scenario

APPS = Path(__file__).resolve().parents[1] / "apps" / "python"
NAMES = ("task-chaining", "fan-out-fan-in", "child-workflows", "timer-and-event")
CHECKS = {
    "nothing-lost",
    "coverage",  # always, added to every scenario's list
    "completed",
    "activities",
    "exactly-once",
    "output",
    "same-as-fault-free",
    "replay",
    "worker-health",
}
ACTIVITY = re.compile(r'@wfr\.activity\(name="(\w+)"\)')


def registered_activities(module: str) -> set[str]:
    # Read, not imported: importing would register on the SDK's runtime in this process.
    source = APPS / f"{module.rsplit('.', 1)[-1]}.py"
    return set(ACTIVITY.findall(source.read_text()))


@pytest.mark.parametrize("name", NAMES)
def test_the_scenario_crashes_every_activity_boundary_once(name: str) -> None:
    scenario = load_scenario(APPS / f"{name}.scenario.yaml")
    app = scenario.app
    assert app.hosted and app.workflows is not None
    assert app.dependencies == {"store": "valkey"}
    assert app.env["STORE_URL"] == "${DAPR_CHAOS_DEP_STORE_URL}"
    assert app.env["APP_VARIANT"] == "correct"
    activities = registered_activities(app.workflows.partition(":")[0])
    assert len(activities) >= 3
    expected = {f"{a}.{where}" for a in activities for where in ("before", "after")}
    assert {fp.name for fp in scenario.failpoints} == expected
    assert all(fp.action == "crash" and fp.count == 1 for fp in scenario.failpoints)
    faults = {(f.action, f.target) for f in scenario.faults}
    assert faults == {("kill", "daprd"), ("down", "app->store")}
    assert set(scenario.checks) == CHECKS
    assert 8 <= scenario.workload.count <= 12
    assert scenario.workload.outputs is not None
    assert len(scenario.workload.outputs) == len(scenario.workload.inputs)
