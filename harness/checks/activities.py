"""activities: what ran against what the history recorded, per instance and activity.

Activities are at-least-once: an execution the app recorded (an invocation record) for a
call the history scheduled once is a re-execution, counted and allowed. Two results for
one scheduled call in a history (two ``taskCompleted``/``taskFailed`` events answering
the same ``taskScheduled``) is a FAIL: the workflow saw the activity complete twice. An
execution of an activity the instance's history never scheduled is a FAIL too: the app
ran work nobody asked for.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from harness.checks.result import CheckResult, Verdict
from harness.record.history import History
from harness.record.instances import event_kind
from harness.record.recorder import read_histories

NAME = "activities"


def activities(history: History) -> CheckResult:
    """FAIL on a result recorded twice or an execution never scheduled; VACUOUS when the
    app records no invocations (not instrumented) or no history was recorded."""
    invocations = history.ledger.invocations
    if not invocations:
        return CheckResult(
            NAME,
            Verdict.VACUOUS,
            "the app recorded no activity invocations (host it with MODULE:ATTR, set "
            "instrument=True, or wrap activities with harness.app.recorded_activity)",
        )
    read, unreadable = read_histories(history.histories)
    events = {i: list(r.events) for i, r in read.items()}
    if not events:
        why = unreadable[0] if unreadable else "no workflow history was recorded"
        return CheckResult(NAME, Verdict.VACUOUS, f"nothing to compare against: {why}")
    ran: dict[str, Counter[str]] = defaultdict(Counter)
    for inv in invocations:
        ran[inv.workflow_id][inv.activity] += 1
    problems: list[str] = []
    reexecuted: list[str] = []
    for instance_id, instance_events in sorted(events.items()):
        scheduled: dict[int, str] = {}
        answers: Counter[int] = Counter()
        for event in instance_events:
            kind = event_kind(event)
            if kind == "taskScheduled":
                scheduled[int(event.eventId)] = str(event.taskScheduled.name)
            elif kind in ("taskCompleted", "taskFailed"):
                body = getattr(event, kind)
                answers[int(body.taskScheduledId)] += 1
        for task_id, n in sorted(answers.items()):
            if n > 1:
                name = scheduled.get(task_id, "?")
                problems.append(
                    f"instance {instance_id}: the result of activity {name} (task #{task_id}) "
                    f"is recorded {n} times in its history"
                )
        per_name = Counter(scheduled.values())
        for activity, executions in sorted(ran.get(instance_id, Counter()).items()):
            calls = per_name.get(activity, 0)
            if calls == 0:
                problems.append(
                    f"instance {instance_id}: activity {activity} ran {executions} time(s) but "
                    "its history never scheduled it"
                )
            elif executions > calls:
                reexecuted.append(
                    f"instance {instance_id}: {activity} ran {executions} time(s) for {calls} "
                    "scheduled call(s) (re-executions, allowed)"
                )
    total = sum(len(c) for c in ran.values())
    summary = (
        f"{len(invocations)} executions of {total} (instance, activity) pairs against "
        f"{len(events)} histories; {len(reexecuted)} with re-executions (allowed)"
    )
    if problems:
        return CheckResult(NAME, Verdict.FAIL, f"{len(problems)} violation(s); {summary}", problems)
    return CheckResult(NAME, Verdict.PASS, summary, reexecuted + unreadable)
