"""Chaos-test your own workflow app: the example apps of ``tests/apps`` under their
scenario files, run the way a user runs them (``dapr-chaos run FILE --report DIR``, then
``journal.json``).

Each correct app must pass its scenario: every activity boundary crashed once, daprd
killed once, the store link cut. Each broken variant, the same scenario with
``APP_VARIANT`` set to its bug, must fail the check that catches that bug and say why
in its evidence. The Go app passes its own scenario.

In ``make test``: the task-chaining app both ways, the fan-out/fan-in bug and the Go
app (about 90 s); the other five runs are ``slow``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness import Settings
from harness.testing import build_go_app
from tests.commands import ROOT, run_cli

APPS = ROOT / "tests" / "apps"
# A scenario runs 20-40 s here, a broken child-workflows one about 90 s (it waits out
# its verify deadline, twice); generous, for two loaded cores.
RUN_TIMEOUT_S = 600


@dataclasses.dataclass(frozen=True)
class Bug:
    """A broken variant: the ``APP_VARIANT`` that selects it, the check that must fail,
    and a fragment of that check's evidence that names the bug."""

    variant: str
    check: str
    evidence: str


BUGS = {
    # datetime.now() in the workflow: replays decide otherwise than the first run.
    "task-chaining": Bug("wall-clock-hold", "replay", "activity name differs"),
    # No idempotency key: a re-executed count counts the precinct twice.
    "fan-out-fan-in": Bug("counts-every-run", "exactly-once", "precinct.counted applied 2 times"),
    # A child waits for an event nobody sends: its shipment never finishes.
    "child-workflows": Bug("waits-for-inspection", "nothing-lost", "stuck RUNNING"),
    # The approver kept in process memory: lost with the process, wrong output.
    "timer-and-event": Bug("approver-in-memory", "same-as-fault-free", '"approver": null'),
}
SLOW = pytest.mark.slow


def scenario_file(name: str) -> Path:
    return APPS / "python" / f"{name}.scenario.yaml"


def run_scenario(
    path: Path, tmp_path: Path, env: dict[str, str] | None = None
) -> tuple[dict[str, Any], str]:
    """``dapr-chaos run PATH --report DIR``: the scenario's journal entry and the output."""
    report = tmp_path / "report"
    proc = run_cli(
        "run",
        str(path),
        "--report",
        str(report),
        env={**os.environ, **(env or {})},
        timeout=RUN_TIMEOUT_S,
    )
    output = proc.stdout + proc.stderr
    journals = sorted(report.glob("*/journal.json"))
    assert journals, f"no journal written (exit {proc.returncode}):\n{output[-3000:]}"
    journal = json.loads(journals[-1].read_text())
    (scenario,) = journal["scenarios"]
    return scenario, output


def broken(name: str, bug: Bug, tmp_path: Path) -> Path:
    """The scenario of ``name`` with its app switched to ``bug``'s variant."""
    source = scenario_file(name)
    doc = yaml.safe_load(source.read_text())
    doc["name"] = f"{name}-broken"
    doc["app"]["env"]["APP_VARIANT"] = bug.variant
    doc["app"]["cwd"] = str((source.parent / doc["app"]["cwd"]).resolve())
    path = tmp_path / f"{name}-broken.scenario.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def checks_of(scenario: dict[str, Any]) -> str:
    lines = [f"{scenario['name']}: {scenario['verdict']} {scenario.get('error') or ''}"]
    for check in scenario["checks"]:
        lines.append(f"  {check['name']}: {check['verdict']}: {check['summary']}")
        lines += [f"    - {line[:300]}" for line in check["evidence"][:3]]
    return "\n".join(lines)


def assert_passed_with_every_fault(scenario: dict[str, Any], output: str) -> None:
    assert scenario["verdict"] == "pass", checks_of(scenario) + "\n" + output[-2000:]
    definition = scenario["definition"]
    fired = {h["name"] for h in scenario["failpoint_hits"] if h["fired"] and h["action"] != "trace"}
    assert fired == {fp["name"] for fp in definition.get("failpoints", [])}
    windows = {(w["kind"], w["target"]) for w in scenario["timeline"]["windows"]}
    for fault in definition["faults"]:
        assert (fault["action"], fault["target"]) in windows, (fault, windows)


def assert_caught(scenario: dict[str, Any], bug: Bug, output: str) -> None:
    assert scenario["verdict"] == "fail", checks_of(scenario) + "\n" + output[-2000:]
    (check,) = [c for c in scenario["checks"] if c["name"] == bug.check]
    assert check["verdict"] == "fail", checks_of(scenario)
    assert any(bug.evidence in line for line in check["evidence"]), checks_of(scenario)


# -- the correct apps ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "task-chaining",
        pytest.param("fan-out-fan-in", marks=SLOW),
        pytest.param("child-workflows", marks=SLOW),
        pytest.param("timer-and-event", marks=SLOW),
    ],
)
def test_the_correct_app_survives_its_scenario(name: str, tmp_path: Path) -> None:
    # The variant is set here too: the replay check imports the workflow code in the
    # harness's own process, which has the harness's environment, not the app's.
    scenario, output = run_scenario(scenario_file(name), tmp_path, {"APP_VARIANT": "correct"})
    assert_passed_with_every_fault(scenario, output)


# -- the broken variants ------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "task-chaining",
        "fan-out-fan-in",
        pytest.param("child-workflows", marks=SLOW),
        pytest.param("timer-and-event", marks=SLOW),
    ],
)
def test_the_broken_variant_fails_the_check_that_catches_its_bug(name: str, tmp_path: Path) -> None:
    bug = BUGS[name]
    path = broken(name, bug, tmp_path)
    scenario, output = run_scenario(path, tmp_path, {"APP_VARIANT": bug.variant})
    assert_caught(scenario, bug, output)


# -- the Go app -------------------------------------------------------------------------


def test_the_go_chain_app_survives_its_scenario(tmp_path: Path) -> None:
    settings = Settings.from_env()
    if shutil.which(settings.go) is None:
        pytest.skip(f"the Go toolchain ({settings.go}) is not on PATH: cannot build go_chain")
    binary = build_go_app(settings, "go_chain", source=APPS / "go_chain")
    scenario, output = run_scenario(
        APPS / "go" / "go-chain.scenario.yaml", tmp_path, {"GO_CHAIN_BINARY": str(binary)}
    )
    assert_passed_with_every_fault(scenario, output)
