"""The app's workflow worker must reconnect after faults.

The Python SDK's worker can stop for good when its stream to daprd ends the wrong way
(python-sdk #900 family). The heal phase waits for daprd to report a connected worker;
if none came back in time, that is this check's finding (reported on its own, and the
harness restarts the app only when asked to)."""

from __future__ import annotations

from harness.checks.result import CheckResult, Verdict
from harness.record.history import History


def worker_health(history: History) -> CheckResult:
    """FAIL when a worker stayed lost; known upstream races the harness recovered from
    are listed as evidence of a PASS (the app was not at fault, and the run went on)."""
    if history.worker_findings:
        return CheckResult(
            "worker-health",
            Verdict.FAIL,
            "the app's workflow worker did not reconnect after a fault",
            list(history.worker_findings) + list(history.known_findings),
        )
    if history.known_findings:
        return CheckResult(
            "worker-health",
            Verdict.PASS,
            f"the harness recovered from {len(history.known_findings)} known upstream "
            "defect(s) (each listed: how it was recognised and recovered from)",
            list(history.known_findings),
        )
    if not history.worker_probed:
        return CheckResult(
            "worker-health",
            Verdict.VACUOUS,
            "no heal waited for the app's workflow worker (verify(heal=False), or no app): "
            "nothing to judge",
        )
    return CheckResult(
        "worker-health",
        Verdict.PASS,
        "the workflow worker stayed connected or reconnected after every fault",
    )
