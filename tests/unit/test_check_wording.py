"""Evidence speaks of workflow instances for a workflow workload, of orders for the
order API."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.checks.nothing_lost import completed, nothing_lost
from harness.record.history import Attempt, History, InstanceStatus, Outcome
from harness.record.ledger import Ledger
from harness.record.timeline import Timeline


def history(tmp_path: Path, kind: str) -> History:
    attempts = {i: Attempt(i, Outcome.OK, None, "wf") for i in ("w-1", "w-2", "w-3")}
    return History(
        attempts=attempts,
        statuses={
            "w-1": InstanceStatus("w-1", "FAILED"),
            "w-2": InstanceStatus("w-2", "RUNNING"),
            "w-3": None,
        },
        ledger=Ledger.read(tmp_path / "ledger.jsonl"),
        timeline=Timeline(),
        kind=kind,
    )


@pytest.mark.parametrize(("kind", "noun"), [("workflows", "instance"), ("orders", "order")])
def test_lost_stuck_and_failed_name_what_was_started(tmp_path: Path, kind: str, noun: str) -> None:
    lost = nothing_lost(history(tmp_path, kind))
    assert lost.summary == f"2 of 3 accepted {noun}(s) lost or stuck"
    assert lost.evidence[0].startswith(f"{noun} w-2 stuck RUNNING")
    assert lost.evidence[1].startswith(f"{noun} w-3 was accepted")
    assert ("(202)" in lost.evidence[1]) is (kind == "orders")
    failed = completed(history(tmp_path, kind))
    assert failed.summary == f"1 {noun}(s) did not complete"
    assert failed.evidence == [f"{noun} w-1: FAILED"]
