"""Nothing accepted is lost: every order that got a 202 reaches a terminal state after the
heal phase. Stuck orders are listed with their last history event and what daprd's
metadata said at that time. Orders whose submission got no answer ("uncertain") must be
terminal if they exist at all."""

from __future__ import annotations

from harness.checks.result import CheckResult, Verdict
from harness.record.history import History


def _metadata_line(history: History) -> str:
    meta = history.metadata or {}
    actors = meta.get("actorRuntime") or {}
    workers = (meta.get("workflows") or {}).get("connectedWorkers", 0)
    return (
        f"daprd: actor runtime {actors.get('runtimeStatus', '?')}, "
        f"{actors.get('placement', 'placement ?')}, {workers} connected worker(s)"
    )


def nothing_lost(history: History) -> CheckResult:
    problems: list[str] = []
    noun = history.noun
    # "accepted (202)" is the order API's answer; a workflow start is accepted by daprd.
    accepted = "accepted (202)" if noun == "order" else "accepted"
    for order_id in sorted(history.accepted):
        status = history.statuses.get(order_id)
        if status is None:
            problems.append(f"{noun} {order_id} was {accepted} but Dapr does not know it: lost")
        elif not status.terminal:
            last = history.last_events.get(order_id, "history not read")
            problems.append(
                f"{noun} {order_id} stuck {status.runtime_status}; last event "
                f"{last}; {_metadata_line(history)}"
            )
    for order_id in sorted(history.uncertain):
        status = history.statuses.get(order_id)
        if status is not None and not status.terminal:
            problems.append(
                f"{noun} {order_id} (submission unanswered) exists but is stuck "
                f"{status.runtime_status}; {_metadata_line(history)}"
            )
    n = len(history.accepted)
    if problems:
        return CheckResult(
            "nothing-lost",
            Verdict.FAIL,
            f"{len(problems)} of {n} accepted {noun}(s) lost or stuck",
            problems,
        )
    return CheckResult(
        "nothing-lost",
        Verdict.PASS,
        f"all {n} accepted {noun}s terminal ({len(history.refused)} refused, "
        f"{len(history.uncertain)} unanswered)",
    )


def completed(history: History) -> CheckResult:
    """Stricter than nothing-lost: every accepted order (and every unanswered one that
    exists) COMPLETED, none FAILED or TERMINATED. For apps whose workflows must succeed
    despite faults."""
    bad = [
        f"{history.noun} {oid}: {s.runtime_status}" + (f" ({s.failure})" if s.failure else "")
        for oid, s in sorted(history.statuses.items())
        if (oid in history.accepted or oid in history.uncertain)
        and s is not None
        and s.terminal
        and s.runtime_status != "COMPLETED"
    ]
    if bad:
        return CheckResult(
            "completed", Verdict.FAIL, f"{len(bad)} {history.noun}(s) did not complete", bad
        )
    return CheckResult(
        "completed", Verdict.PASS, f"every terminal accepted {history.noun} COMPLETED"
    )
