"""A run with nothing to judge says so: VACUOUS, never PASS.

- A scenario against an app that refuses every order (400) starts no instance:
  ``dapr-chaos run`` exits 1 and ``journal.json`` says ``vacuous``.
- The determinism check against an app that records no invocations has no activity to
  crash after: VACUOUS, naming why.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from harness import AppSpec, Chaos, OrderAPIClient, Orders, Stack, StackConfig, Verdict, determinism
from tests.commands import ROOT, run_cli


def reference_app_as(module: str) -> dict[str, object]:
    """The scenario ``app:`` section running ``module`` (the reference app, patched)."""
    return {
        "command": [sys.executable, "-m", module],
        "cwd": str(ROOT),
        "health_path": "/healthz",
        "workflows": "harness.reference_apps.orders.workflow",
        "dependencies": {"store": "valkey"},
    }


def test_a_scenario_whose_app_refuses_every_order_is_vacuous(tmp_path: Path) -> None:
    scenario = {
        "name": "refuses-every-order",
        "description": "Every order is refused (400): no instance exists to judge.",
        "seed": 5,
        "app": reference_app_as("tests.apps.refuses_every_order"),
        "workload": {"orders": 4, "concurrency": 2},
        "faults": [{"action": "kill", "target": "daprd", "trigger": {"at": 1}, "duration": 1}],
    }
    path = tmp_path / "refuses.scenario.yaml"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False))
    report = tmp_path / "report"
    proc = run_cli("run", str(path), "--report", str(report), timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output[-3000:]
    (journal_path,) = {p.resolve() for p in report.glob("*/journal.json")}  # and latest/
    (entry,) = json.loads(journal_path.read_text())["scenarios"]
    assert entry["verdict"] == "vacuous", output[-3000:]
    assert "VACUOUS" in proc.stdout, output[-3000:]


@pytest.fixture(scope="module")
def silent_stack() -> Iterator[Stack]:
    app = AppSpec(
        command=(sys.executable, "-m", "tests.apps.records_no_invocations"),
        cwd=ROOT,
        health_path="/healthz",
        workflows="harness.reference_apps.orders.workflow",
        dependencies={"store": "valkey"},
    )
    with Stack(StackConfig(app=app)) as stack:
        yield stack


def test_determinism_without_recorded_invocations_is_vacuous(silent_stack: Stack) -> None:
    chaos = Chaos(silent_stack)
    orders = Orders(OrderAPIClient(silent_stack.ports["app"]), prefix="silent-")
    try:
        result = determinism(chaos, orders)
    finally:
        chaos.reset()
    assert result.verdict is Verdict.VACUOUS, str(result)
    assert "recorded no activity" in result.summary
