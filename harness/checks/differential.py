"""same-as-fault-free: a differential oracle. Each input also ran once with no faults
(the baseline, before the chaos phase); every instance of the run must end like the
baseline of its input: the same runtime status and the same output. Whatever the faults
did, the answer must not change."""

from __future__ import annotations

import json
from typing import Any

from harness.checks.result import CheckResult, Verdict
from harness.record.history import History, InstanceStatus

NAME = "same-as-fault-free"


def _shape(status: InstanceStatus) -> str:
    data: dict[str, Any] = {"status": status.runtime_status, "output": status.output}
    text = json.dumps(data, sort_keys=True, default=str)
    return text if len(text) <= 200 else text[:199] + "…"


def same_as_fault_free(history: History) -> CheckResult:
    """FAIL naming each instance that ended otherwise than its input's fault-free run;
    UNKNOWN when a baseline did not finish; VACUOUS without a baseline."""
    if not history.baseline:
        return CheckResult(NAME, Verdict.VACUOUS, "no fault-free baseline was run")
    differ: list[str] = []
    unknown: list[str] = []
    judged = 0
    for instance_id, base in sorted(history.baseline.items()):
        status = history.statuses.get(instance_id)
        if status is None or not status.terminal:
            continue  # nothing-lost judges it
        if base is None or not base.terminal:
            unknown.append(f"instance {instance_id}: its input's fault-free run did not finish")
            continue
        judged += 1
        if _shape(status) != _shape(base):
            differ.append(
                f"instance {instance_id} ended {_shape(status)}; without faults "
                f"({base.instance_id}): {_shape(base)}"
            )
    if differ:
        return CheckResult(
            NAME,
            Verdict.FAIL,
            f"{len(differ)} of {judged} instance(s) ended otherwise than without faults",
            differ + unknown,
        )
    if unknown:
        return CheckResult(NAME, Verdict.UNKNOWN, "a fault-free run did not finish", unknown)
    if not judged:
        return CheckResult(NAME, Verdict.VACUOUS, "no instance with a baseline finished")
    return CheckResult(
        NAME, Verdict.PASS, f"{judged} instance(s) ended as their fault-free runs did"
    )
