"""The same-as-fault-free baseline of a workflow workload, on a fake workflow API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.checks.differential import same_as_fault_free
from harness.checks.result import Verdict
from harness.record.history import History, InstanceStatus
from harness.record.ledger import Ledger
from harness.record.timeline import Timeline
from harness.workload.protocol import input_key
from harness.workload.workflows import Workflows


class NeverFinishesOnB:
    """daprd's workflow API where every instance given "b" stays RUNNING."""

    port = 0

    def __init__(self) -> None:
        self.inputs: dict[str, Any] = {}

    def start(self, workflow: str, instance_id: str, input: Any = None) -> str:
        self.inputs[instance_id] = input
        return instance_id

    def status(self, instance_id: str) -> InstanceStatus | None:
        stuck = self.inputs[instance_id] == "b"
        return InstanceStatus(instance_id, "RUNNING" if stuck else "COMPLETED", output="ok")

    def close(self) -> None:
        pass


def test_a_baseline_that_never_finishes_is_kept_for_the_check_not_an_error(
    tmp_path: Path,
) -> None:
    api: Any = NeverFinishesOnB()
    workload = Workflows(api, "t-", workflow="w", inputs=["a", "b"])
    workload.run_baseline(2, timeout=0.3)
    assert workload.baseline[input_key("a")].runtime_status == "COMPLETED"  # type: ignore[union-attr]
    assert workload.baseline[input_key("b")].runtime_status == "RUNNING"  # type: ignore[union-attr]
    history = History(
        attempts={},
        statuses={"t-2": InstanceStatus("t-2", "COMPLETED", output="ok")},
        ledger=Ledger.read(tmp_path / "ledger.jsonl"),
        timeline=Timeline(),
        baseline={"t-2": workload.baseline[input_key("b")]},
    )
    result = same_as_fault_free(history)
    assert result.verdict is Verdict.UNKNOWN
    assert "fault-free run did not finish" in result.evidence[0]
