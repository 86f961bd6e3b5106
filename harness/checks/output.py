"""output: every instance that COMPLETED ended with the output expected for its input
(an expected value, or a callable of the input, given to the workload). Instances that
did not complete are the ``completed`` and ``nothing-lost`` checks' business."""

from __future__ import annotations

import json
from typing import Any

from harness.checks.result import CheckResult, Verdict
from harness.record.history import History

NAME = "output"


def _show(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 200 else text[:199] + "…"


def output(history: History) -> CheckResult:
    """FAIL naming each instance whose output differs, with both values; VACUOUS when no
    output was expected or no instance with an expectation completed."""
    if not history.expected_outputs:
        return CheckResult(
            NAME,
            Verdict.VACUOUS,
            "no expected output was given (expect_output= of the workload, or outputs in "
            "the scenario's workload)",
        )
    wrong: list[str] = []
    judged = 0
    for instance_id, expected in sorted(history.expected_outputs.items()):
        status = history.statuses.get(instance_id)
        if status is None or status.runtime_status != "COMPLETED":
            continue
        judged += 1
        if status.output != expected:
            attempt = history.attempts.get(instance_id)
            given = _show(attempt.input) if attempt is not None else "?"
            wrong.append(
                f"instance {instance_id} (input {given}): output {_show(status.output)}, "
                f"expected {_show(expected)}"
            )
    if wrong:
        return CheckResult(
            NAME, Verdict.FAIL, f"{len(wrong)} of {judged} completed instance(s) wrong", wrong
        )
    if not judged:
        return CheckResult(NAME, Verdict.VACUOUS, "no instance with an expected output completed")
    return CheckResult(NAME, Verdict.PASS, f"all {judged} completed instance(s) output as expected")
