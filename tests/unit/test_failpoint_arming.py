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
