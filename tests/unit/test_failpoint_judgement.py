"""An armed failpoint that never fired: an error when the checks passed (the run did not
test what it claimed), a vacuous note beside a failure (the app failed before it could
reach the failpoint; its failure must not be hidden behind a harness error)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.checks.result import CheckResult, Verdict
from harness.checks.verification import Verification
from harness.errors import FaultError
from harness.experiment.chaos import Chaos
from harness.faults.failpoints import Failpoint
from harness.record.history import Attempt, History, InstanceStatus, Outcome
from harness.record.ledger import Ledger
from harness.record.timeline import Timeline


def verification(tmp_path: Path, verdict: Verdict) -> Verification:
    history = History(
        attempts={"t-1": Attempt("t-1", Outcome.OK, None, "wf")},
        statuses={"t-1": InstanceStatus("t-1", "FAILED")},
        ledger=Ledger.read(tmp_path / "ledger.jsonl"),
        timeline=Timeline(),
        kind="workflows",
    )
    return Verification([CheckResult("replay", verdict, "judged")], history)


def judge(idle: list[str], result: Verification, armed: dict[str, Failpoint] | None = None) -> None:
    # judge_failpoints reads only which failpoints are idle and how they were armed: a
    # stand-in for a stack.
    chaos = SimpleNamespace(
        unfired_failpoints=lambda prefix, instances=(): idle,
        failpoints=SimpleNamespace(armed=armed or {}),
    )
    Chaos.judge_failpoints(chaos, result, "t-")  # type: ignore[arg-type]


def test_an_idle_failpoint_beside_passing_checks_is_an_error(tmp_path: Path) -> None:
    result = verification(tmp_path, Verdict.PASS)
    with pytest.raises(FaultError, match=r"charge\.before were armed but never fired"):
        judge(["charge.before"], result)


def test_an_idle_failpoint_armed_for_some_instances_says_for_which(tmp_path: Path) -> None:
    result = verification(tmp_path, Verdict.PASS)
    armed = {"charge.before": Failpoint("charge.before", instances="test-x-")}
    with pytest.raises(FaultError, match=r"armed for instances test-x-\* only") as raised:
        judge(["charge.before"], result, armed)
    assert 'instances=""' in str(raised.value)


def test_an_idle_failpoint_beside_a_failure_leaves_the_failure_standing(tmp_path: Path) -> None:
    result = verification(tmp_path, Verdict.FAIL)
    judge(["charge.before", "reserve.after_effect"], result)
    assert result.verdict is Verdict.FAIL
    note = result.result("failpoints")
    assert note.verdict is Verdict.VACUOUS
    assert note.summary.startswith("charge.before, reserve.after_effect armed but never fired")
    assert note.evidence == [
        "charge.before: armed, never fired",
        "reserve.after_effect: armed, never fired",
    ]


def test_every_failpoint_fired_changes_nothing(tmp_path: Path) -> None:
    result = verification(tmp_path, Verdict.PASS)
    judge([], result)
    assert [r.name for r in result.results] == ["replay"]
