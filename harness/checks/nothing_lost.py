"""Nothing accepted is lost: every order that got a 202 reaches a terminal state after the
heal phase. Stuck orders are listed with their last history event and what daprd's
metadata said at that time. Orders whose submission got no answer ("uncertain") must be
terminal if they exist at all."""

from __future__ import annotations

from harness.checks.result import CheckResult, Verdict
from harness.record.history import History
from harness.record.unloadable import UNLOADABLE_STATE, unloadable


def _metadata_line(history: History) -> str:
    meta = history.metadata or {}
    actors = meta.get("actorRuntime") or {}
    workers = (meta.get("workflows") or {}).get("connectedWorkers", 0)
    return (
        f"daprd: actor runtime {actors.get('runtimeStatus', '?')}, "
        f"{actors.get('placement', 'placement ?')}, {workers} connected worker(s)"
    )


def _noun(history: History) -> str:
    return history.noun


def _existing_uncertain(history: History) -> list[str]:
    """Unanswered starts whose instance turned out to exist: judged like accepted ones."""
    return [i for i in sorted(history.uncertain) if history.statuses.get(i) is not None]


def nothing_lost(history: History) -> CheckResult:
    """FAIL naming each accepted instance that Dapr does not know or that is stuck (with
    its last history event and daprd's metadata); VACUOUS when nothing was accepted."""
    noun = _noun(history)
    accepted_how = "accepted (202)" if history.kind == "orders" else "accepted"
    problems: list[str] = []
    unknown: list[str] = []
    known: list[str] = []
    for order_id in sorted(history.accepted):
        status = history.statuses.get(order_id)
        if status is None and unloadable(history.unreadable.get(order_id)):
            known.append(f"{noun} {order_id}: {history.unreadable[order_id]}")
        elif status is None and order_id in history.unreadable:
            unknown.append(
                f"{noun} {order_id}: its state could not be read ({history.unreadable[order_id]})"
            )
        elif status is None:
            problems.append(f"{noun} {order_id} was {accepted_how} but Dapr does not know it: lost")
        elif not status.terminal:
            last = history.last_events.get(order_id, "history not read")
            problems.append(
                f"{noun} {order_id} stuck {status.runtime_status}; last event "
                f"{last}; {_metadata_line(history)}"
            )
    for order_id in _existing_uncertain(history):
        status = history.statuses.get(order_id)
        if status is not None and not status.terminal:
            problems.append(
                f"{noun} {order_id} (submission unanswered) exists but is stuck "
                f"{status.runtime_status}; {_metadata_line(history)}"
            )
    n = len(history.accepted)
    # The known defect is listed apart: it is daprd's, whatever else the run found.
    apart = [f"known upstream, apart: {line}" for line in known]
    if problems:
        return CheckResult(
            "nothing-lost",
            Verdict.FAIL,
            f"{len(problems)} of {n} accepted {noun}(s) lost or stuck",
            problems + unknown + apart,
        )
    if unknown:
        return CheckResult(
            "nothing-lost",
            Verdict.UNKNOWN,
            f"{len(unknown)} of {n} accepted {noun}(s) could not be read back",
            unknown + apart,
        )
    if known:
        return CheckResult(
            "nothing-lost",
            Verdict.KNOWN_UPSTREAM,
            f"{len(known)} of {n} accepted {noun}(s) cannot be loaded by daprd: the known "
            "upstream unloadable-state defect, not the app; the rest reached a terminal state",
            [UNLOADABLE_STATE, *known],
        )
    if not n and not _existing_uncertain(history):
        return CheckResult(
            "nothing-lost",
            Verdict.VACUOUS,
            f"no {noun} was accepted ({len(history.refused)} refused, "
            f"{len(history.uncertain)} unanswered): nothing to lose",
        )
    return CheckResult(
        "nothing-lost",
        Verdict.PASS,
        f"all {n} accepted {noun}s terminal ({len(history.refused)} refused, "
        f"{len(history.uncertain)} unanswered)",
    )


def completed(history: History) -> CheckResult:
    """Stricter than nothing-lost: every accepted instance (and every unanswered one that
    exists) COMPLETED, none FAILED or TERMINATED. For apps whose workflows must succeed
    despite faults. VACUOUS when none was accepted and terminal."""
    noun = _noun(history)
    judged = [
        (oid, s)
        for oid, s in sorted(history.statuses.items())
        if (oid in history.accepted or oid in history.uncertain) and s is not None and s.terminal
    ]
    bad = [
        f"{noun} {oid}: {s.runtime_status}" + (f" ({s.failure})" if s.failure else "")
        for oid, s in judged
        if s.runtime_status != "COMPLETED"
    ]
    if bad:
        return CheckResult("completed", Verdict.FAIL, f"{len(bad)} {noun}(s) did not complete", bad)
    if not judged:
        return CheckResult(
            "completed", Verdict.VACUOUS, f"no accepted {noun} became terminal: none to judge"
        )
    return CheckResult("completed", Verdict.PASS, f"every terminal accepted {noun} COMPLETED")
