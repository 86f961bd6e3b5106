"""Arming failpoints from the harness side, as the app side sees it."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.app import FailpointError, failpoint
from harness.faults.failpoints import Failpoint, Failpoints


def test_a_suspended_arming_neither_fires_nor_counts_and_comes_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAPR_CHAOS_FAILPOINTS", str(tmp_path))
    monkeypatch.delenv("DAPR_CHAOS_LEDGER", raising=False)
    arming = Failpoints(tmp_path)
    arming.arm(Failpoint("step.before", "raise", nth=2))
    with arming.suspended():  # the baseline of same-as-fault-free runs here
        for _ in range(3):
            failpoint("step.before")
        assert arming.hits("step.before") == 0
        assert arming.armed == {}
    assert set(arming.armed) == {"step.before"}
    failpoint("step.before")  # hit 1 of the chaos phase: not yet
    with pytest.raises(FailpointError, match="hit 2"):
        failpoint("step.before")


CRASH_RACE = r"""
import sys, threading, time
from pathlib import Path
import harness.app._failpoints as fp
from harness.app import failpoint
from harness.faults.failpoints import Failpoint, Failpoints

arming = Failpoints(Path(sys.argv[1]))
arming.arm(Failpoint("slow.after", "delay", nth=1, count=1, seconds=0.01))
arming.arm(Failpoint("boom.before", "crash", nth=1, count=1))
real = fp.append_record
entered = threading.Event()

def slow_record(record):
    if record.name == "slow.after":
        entered.set()
        time.sleep(0.5)  # a slow ledger write: the crash below comes meanwhile
    real(record)

fp.append_record = slow_record
threading.Thread(target=failpoint, args=("slow.after",)).start()
entered.wait(5)
failpoint("boom.before")  # SIGKILLs the process
"""


def test_a_crash_never_lands_between_another_threads_count_and_its_record(
    tmp_path: Path,
) -> None:
    """Two threads: one counts a firing of ``slow.after`` and writes its record slowly, the
    other crashes the process at ``boom.before`` meanwhile. The crash waits for the record:
    a firing is never used up without one (the harness would see it never fired)."""
    import os
    import subprocess
    import sys

    from harness.record.ledger import Ledger

    ledger = tmp_path / "ledger.jsonl"
    env = {**os.environ, "DAPR_CHAOS_FAILPOINTS": str(tmp_path), "DAPR_CHAOS_LEDGER": str(ledger)}
    proc = subprocess.run(
        [sys.executable, "-c", CRASH_RACE, str(tmp_path)], env=env, timeout=60, check=False
    )
    assert proc.returncode == -9  # it crashed, as armed
    fired = {h.name for h in Ledger.read(ledger).failpoints if h.fired}
    assert fired == {"slow.after", "boom.before"}
