"""The dapr-chaos command line, run as a user runs it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.testing import group_members, registry_dir
from tests.commands import run_cli
from tests.integration.leftovers import child_processes

ROOT = Path(__file__).resolve().parents[2]
HELLO = ROOT / "tests" / "integration" / "apps" / "hello_workflow.py"


cli = run_cli


def runs_of(pid: int) -> list[Path]:
    """Registry records owned by process ``pid`` (other xdist workers have their own)."""
    return [
        p
        for p in registry_dir().glob("*.json")
        if json.loads(p.read_text()).get("owner_pid") == pid
    ]


def test_exec_runs_an_unchanged_third_party_workflow_script() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "exec", "--", sys.executable, str(HELLO), "chaos"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert 'RESULT COMPLETED ["Hello chaos", "Hello CHAOS"]' in out
    assert runs_of(proc.pid) == []


def test_exec_gives_the_app_the_dapr_environment() -> None:
    script = (
        "import os; print(' '.join(f'{k}={os.environ.get(k)}' for k in "
        "['DAPR_GRPC_PORT','DAPR_HTTP_PORT','DAPR_GRPC_ENDPOINT','APP_PORT']));"
        "assert os.environ['DAPR_API_TOKEN']"
    )
    result = cli("exec", "--base-port", "61200", "--", sys.executable, "-c", script)
    assert result.returncode == 0, result.stderr
    assert (
        "DAPR_GRPC_PORT=61217 DAPR_HTTP_PORT=61211 DAPR_GRPC_ENDPOINT=127.0.0.1:61217 "
        "APP_PORT=61215"
    ) in result.stdout


def test_exec_propagates_a_failing_exit_status() -> None:
    result = cli("exec", "--", sys.executable, "-c", "import sys; sys.exit(7)")
    assert result.returncode == 7


def test_exec_of_a_missing_program_is_a_clear_error() -> None:
    result = cli("exec", "--", "/nonexistent/app")
    assert result.returncode == 2
    assert "cannot run '/nonexistent/app'" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["exec", "--ready-timeout", "-1", "--", "true"], "must be > 0 seconds"),
        (["exec", "--ready-timeout", "soon", "--", "true"], "is not a number of seconds"),
        (["exec", "--base-port", "80", "--", "true"], "base port must be in 1024..65503"),
        (["exec", "--log-level", "loud", "--", "true"], "invalid choice: 'loud'"),
        (["exec", "--app-id", "Bad_Id", "--", "true"], "app id 'Bad_Id' is invalid"),
        (["exec"], "no command given"),
        (["run", "--repeat", "0"], "must be a positive integer"),
        (["run", "/nonexistent.scenario.yaml"], "no such scenario file or directory"),
        (["run", "-k", "daprd and"], "the expression ends too early"),
        (["run", "--variant", "sloppy"], "invalid choice: 'sloppy'"),
        (["provision", "--only", "nginx"], "invalid choice: 'nginx'"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_bad_options_exit_2_with_a_reason(args: list[str], message: str) -> None:
    before = set(child_processes())
    result = cli(*args)
    assert result.returncode == 2, result
    assert message in result.stderr
    assert set(child_processes()) <= before


def test_a_missing_binary_exits_2_and_starts_nothing(tmp_path: Path) -> None:
    env = dict(os.environ, DAPR_CHAOS_DAPRD=str(tmp_path / "daprd"))
    result = cli("exec", "--", "true", env=env)
    assert result.returncode == 2
    assert f"daprd not found at {tmp_path / 'daprd'} (from DAPR_CHAOS_DAPRD)" in result.stderr
    assert result.stderr.count("\n") == 1  # one line, no traceback


def test_ctrl_c_tears_everything_down() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "exec", "--", "sleep", "60"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def exec_group() -> int | None:
        for record in runs_of(proc.pid):
            for group in json.loads(record.read_text())["groups"]:
                if group["name"] == "exec":
                    return int(group["pgid"])
        return None

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and exec_group() is None:
        time.sleep(0.05)
    pgid = exec_group()
    assert pgid is not None, "the command never started"
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert runs_of(proc.pid) == []
    assert group_members(pgid) == [], "the exec'd command outlived dapr-chaos"
    assert "interrupted; stack stopped" in err


def test_doctor_lists_every_binary_with_its_version() -> None:
    result = cli("doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("valkey-server", "daprd", "placement", "scheduler", "toxiproxy-server"):
        assert name in result.stdout
    assert "1.18.3" in result.stdout and "2.12.0" in result.stdout


def test_provision_reuses_the_cache_without_building() -> None:
    env = dict(os.environ, DAPR_CHAOS_NO_BUILD="1")  # a build would be an error
    result = cli("provision", env=env)
    assert result.returncode == 0, result.stderr
    assert "(cache)" in result.stdout or "~/.dapr/bin" in result.stdout
    assert "building" not in result.stderr
