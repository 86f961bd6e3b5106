"""The container backend chosen the ways users choose it: the pytest plugin option and the
CLI flag; Ctrl-C removes every container."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from harness import Settings
from harness.testing import OWNER_LABEL, docker_client

pytest_plugins = ["pytester"]
ROOT = Path(__file__).resolve().parents[2]
HELLO = ROOT / "tests" / "integration" / "apps" / "hello_workflow.py"
LOCAL = ("--backend", "containers", "--images", "local")


def containers_owned_by(pid: int) -> list[str]:
    found = docker_client().api.containers(all=True, filters={"label": OWNER_LABEL})
    return [c["Id"] for c in found if c["Labels"][OWNER_LABEL].startswith(f"{pid}:")]


def test_plugin_option_runs_a_user_suite_on_containers(
    docker_engine: None, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAPR_CHAOS_CACHE", str(Settings.from_env().cache_dir))
    pytester.makepyfile(
        test_user="""
        from harness import Stack, Orders

        def test_one(dapr_stack: Stack, orders: Orders):
            assert type(dapr_stack.process("daprd")).__name__ == "ContainerProcess"
            oid = orders.submit()
            assert orders.wait_terminal([oid])[oid].runtime_status == "COMPLETED"
        """
    )
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--dapr-chaos-backend=containers", "--dapr-chaos-images=local"
    )
    result.assert_outcomes(passed=1)


def test_exec_runs_a_workflow_script_against_containers(docker_engine: None) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "exec", *LOCAL, "--", sys.executable, str(HELLO)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "RESULT COMPLETED" in out
    assert containers_owned_by(proc.pid) == []


def test_ctrl_c_removes_every_container(docker_engine: None) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "up", *LOCAL],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if "stack ready" in line:
            break
    assert len(containers_owned_by(proc.pid)) == 6
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err  # `up` ends normally on Ctrl-C
    assert containers_owned_by(proc.pid) == []
