"""Bad input about your own app is one clear error, exit status 2, before anything starts:
workflow code that does not import or holds no runtime, a dependency off loopback, a
workflow input that is not JSON, an unknown workflow name."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.commands import run_cli

APPS = Path(__file__).resolve().parent / "apps"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["up", "--workflows", "no_such_module:wfr"], "No module named 'no_such_module'"),
        (["up", "--workflows", "chain_app:missing"], "has no attribute 'missing'"),
        (["up", "--workflows", "json"], "holds no WorkflowRuntime"),
        (["up", "--workflows", "chain_app", "--dependency", "store=10.0.0.5:6379"], "loopback"),
        (["up", "--workflows", "chain_app", "--dependency", "daprd=valkey"], "stack member"),
        (["load", "--workflows", "chain_app", "--workflow", "x", "--input", "{bad"], "not JSON"),
    ],
)
def test_bad_input_about_your_app_is_exit_2_and_starts_nothing(
    args: list[str], message: str, tmp_path: Path
) -> None:
    # A run registry of its own (it lives under TMPDIR): another xdist worker's stacks
    # register in the shared one meanwhile.
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    proc = run_cli(*args, cwd=APPS, timeout=120, env=env)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert "error:" in last and message in last, proc.stderr  # one line says what and why
    registry = tmp_path / f"dapr-chaos-{os.getuid()}" / "runs"
    assert not list(registry.glob("*.json"))  # no run was registered: nothing started


def test_an_unknown_workflow_in_a_load_lists_the_registered_ones() -> None:
    proc = run_cli(
        "load",
        "--workflows",
        "chain_app:wfr",
        "--workflow",
        "chian",
        "--duration",
        "1",
        cwd=APPS,
        timeout=180,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "workflow 'chian' is not registered by the app; it registers: chain" in proc.stderr


def test_a_scenario_input_that_is_not_json_is_a_file_line_error(tmp_path: Path) -> None:
    scenario = tmp_path / "bad.scenario.yaml"
    scenario.write_text(
        "name: bad\napp: {workflows: chain_app:wfr}\n"
        "workload: {workflow: chain, inputs: [!!binary aGVsbG8=]}\n"
    )
    proc = run_cli("run", str(scenario), "--report", str(tmp_path / "r"), cwd=APPS)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"{scenario}:3: workload.inputs item" in proc.stderr and "not JSON" in proc.stderr
