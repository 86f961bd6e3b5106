"""A run that judges throughput never runs beside another dapr-chaos run: the lock that
scenario runs share and a measured run takes alone, across processes."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from harness.experiment.machine_share import lock_path, machine_share

HOLD = """
import sys, time
from harness.experiment.machine_share import machine_share
with machine_share(alone=sys.argv[1] == "alone", progress=print):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def holder(tmp: Path, how: str, seconds: float) -> subprocess.Popen[str]:
    """Another process holding the machine ``how`` ("alone" or "shared") for ``seconds``."""
    env = {**os.environ, "TMPDIR": str(tmp)}
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, how, str(seconds)], env=env, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


@pytest.fixture()
def tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def take(alone: bool) -> tuple[float, list[str]]:
    said: list[str] = []
    began = time.monotonic()
    with machine_share(alone=alone, progress=said.append):
        pass
    return time.monotonic() - began, said


def test_scenario_runs_share_the_machine_with_each_other(tmp: Path) -> None:
    other = holder(tmp, "shared", 30)
    waited, said = take(alone=False)
    other.kill()
    other.wait(10)
    assert waited < 1 and said == []
    assert lock_path() == tmp / f"dapr-chaos-{os.getuid()}" / "measure.lock"


def test_a_measurement_waits_for_every_other_run_and_says_so(tmp: Path) -> None:
    other = holder(tmp, "shared", 1.5)
    waited, said = take(alone=True)
    assert other.wait(10) == 0
    assert waited >= 1.0, waited
    assert "waiting until no other dapr-chaos run is on this machine" in said[0]
    assert said[1].startswith("  waited ")


def test_a_run_waits_while_a_measurement_holds_the_machine(tmp: Path) -> None:
    other = holder(tmp, "alone", 1.5)
    waited, said = take(alone=False)
    assert other.wait(10) == 0
    assert waited >= 1.0 and "is measuring throughput" in said[0]


def test_a_killed_holder_leaves_the_machine_free(tmp: Path) -> None:
    other = holder(tmp, "alone", 60)
    other.kill()
    other.wait(10)
    waited, said = take(alone=True)
    assert waited < 1 and said == []
