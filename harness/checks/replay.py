"""replay: every recorded workflow history of the run replays exactly against the app's
workflow code (see :mod:`harness.replay`). Needs ``Chaos(..., workflows="MODULE[:ATTR]")``;
without it, or without recorded histories, the verdict is unknown."""

from __future__ import annotations

from harness.checks.result import CheckResult, Verdict
from harness.errors import ConfigError
from harness.record.history import History

NAME = "replay"


def replay(history: History) -> CheckResult:
    from harness.replay.api import replay_histories  # the SDK executor, only when used

    if history.workflows is None:
        return CheckResult(
            NAME, Verdict.UNKNOWN, "no workflow code given: pass Chaos(workflows='MODULE[:ATTR]')"
        )
    files = history.histories
    if not files:
        return CheckResult(NAME, Verdict.VACUOUS, "no workflow history was recorded")
    try:
        report = replay_histories(history.workflows, files)
    except ConfigError as exc:
        return CheckResult(NAME, Verdict.UNKNOWN, f"cannot replay: {exc}")
    if report.clean:
        return CheckResult(
            NAME, Verdict.PASS, f"{report.histories} histories replay exactly against the code"
        )
    return CheckResult(
        NAME,
        Verdict.FAIL,
        f"{len(report.failed_instances)} of {report.histories} histories do not replay",
        [str(m) for m in report.mismatches],
    )
