"""The app's workflow worker must reconnect after faults.

The Python SDK's worker can stop for good when its stream to daprd ends the wrong way
(python-sdk #900 family). The heal phase waits for daprd to report a connected worker;
if none came back in time, that is this check's finding (reported on its own, and the
harness restarts the app only when asked to)."""

from __future__ import annotations

from harness.checks.result import CheckResult, Verdict
from harness.record.history import History


def worker_health(history: History) -> CheckResult:
    if history.worker_findings:
        return CheckResult("worker-health", Verdict.FAIL,
                           "the app's workflow worker did not reconnect after a fault",
                           list(history.worker_findings))
    return CheckResult("worker-health", Verdict.PASS, "the workflow worker stayed connected "
                       "or reconnected after every fault")
