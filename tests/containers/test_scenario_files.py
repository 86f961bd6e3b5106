"""A scenario file's ``backend: containers`` runs it on containers (``dapr-chaos run``),
with the image set from DAPR_CHAOS_IMAGES."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCENARIO = """\
name: containers-app-crash-after-payment
description: The app SIGKILLs itself right after the second charge, in its container.
backend: containers
seed: 5
workload: {orders: 6, concurrency: 3}
failpoints:
  - {name: charge_payment.after_effect, action: crash, nth: 2, count: 1}
"""


def test_a_scenario_file_with_backend_containers_runs_on_containers(
    docker_engine: None, tmp_path: Path
) -> None:
    scenario = tmp_path / "crash.scenario.yaml"
    scenario.write_text(SCENARIO)
    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", str(scenario), "--report", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        env=dict(os.environ, DAPR_CHAOS_IMAGES="local"),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    journal = json.loads(((tmp_path / "latest").resolve() / "journal.json").read_text())
    assert "containers" in json.dumps(journal)
    app_log = next((tmp_path / "latest").resolve().rglob("app.log")).read_text()
    assert "start dapr-chaos/app:1" in app_log  # the container backend's start stamp
