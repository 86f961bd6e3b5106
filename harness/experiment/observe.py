"""Observe the end of a run: wait until every instance the workload started is terminal,
then collect everything the checks read into one :class:`~harness.record.history.History`.

Instances are read through the workload (the app's own API for orders); their workflow
histories, last events and daprd's metadata straight from daprd on its own port, never
through a proxy the run may have faulted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from harness.errors import AnswerMismatch, WorkloadError
from harness.experiment.strands import note_released, release, stranded
from harness.record.history import History, InstanceStatus, Outcome, attempts_by_id
from harness.record.instances import InstanceReader
from harness.record.ledger import Ledger
from harness.record.order_shape import REFERENCE
from harness.record.recorder import record_histories
from harness.record.timeline import Timeline
from harness.record.unloadable import unloadable
from harness.stack.stack import Stack
from harness.stack.supervisor import Supervisor
from harness.workload.protocol import NO_EXPECTATION, Workload, input_key

LOST_AFTER_S = 15.0  # how long only unknown instances may stay pending, nothing changing
STALLED_FOR_S = 5.0  # how long "no worker" must hold before the waiting stops
RELEASED_WAIT_S = 30.0  # the least time released strands get to finish


def _wait_terminal(
    workload: Workload,
    ids: list[str],
    uncertain: set[str],
    deadline: float,
    lost_after: float = LOST_AFTER_S,
    worker_lost: Callable[[], bool] | None = None,
    stalled_for: float = STALLED_FOR_S,
) -> tuple[dict[str, InstanceStatus | None], list[str], dict[str, str]]:
    """Poll until every instance is terminal (an unanswered start that does not exist
    counts as done) or ``deadline`` seconds pass. Returns the last statuses, the ids
    still pending, and why the last read of an instance failed (it is not lost: unknown).

    When every instance still pending is one that Dapr does not know (read as absent, not
    unreadable) and nothing has changed for ``lost_after`` seconds (no instance appeared,
    moved or finished), waiting stops early: an app that schedules later would have shown
    progress by then, and the rest of the deadline would only delay the verdict (lost).
    Likewise when ``worker_lost()`` (no workflow worker, as the heal found) holds for
    ``stalled_for`` seconds in a row: no instance can move without a worker."""
    statuses: dict[str, InstanceStatus | None] = {}
    unreadable: dict[str, str] = {}
    now = time.monotonic()
    end = now + deadline
    changed_at = now
    stalled_since: float | None = None
    pending = list(ids)
    while pending:
        still = []
        for instance_id in pending:
            try:
                status = workload.status(instance_id)
                unreadable.pop(instance_id, None)
            except AnswerMismatch:
                raise  # no later answer would be readable either: not worth waiting out
            except WorkloadError as exc:
                status = None
                unreadable[instance_id] = str(exc)
            if instance_id not in statuses or _state(statuses[instance_id]) != _state(status):
                changed_at = time.monotonic()
            statuses[instance_id] = status
            known_missing = status is None and instance_id in uncertain
            if not known_missing and (status is None or not status.terminal):
                still.append(instance_id)
        if len(still) != len(pending):
            changed_at = time.monotonic()
        pending = still
        now = time.monotonic()
        if not pending or now >= end:
            break
        only_unknown = all(statuses[i] is None and i not in unreadable for i in pending)
        if only_unknown and now - changed_at >= lost_after:
            break
        # A stalled instance waits for other code: nothing the run still does deploys it.
        # One daprd cannot load (the known defect) waits for nothing at all.
        settled = all(_stalled(statuses[i]) or unloadable(unreadable.get(i)) for i in pending)
        if settled and now - changed_at >= stalled_for:
            break
        if worker_lost is not None and worker_lost():
            stalled_since = now if stalled_since is None else stalled_since
            if now - stalled_since >= stalled_for:
                break
        else:
            stalled_since = None
        time.sleep(0.1)
    return statuses, pending, unreadable


def _stalled(status: InstanceStatus | None) -> bool:
    return status is not None and status.stalled


def _state(status: InstanceStatus | None) -> tuple[str, ...] | None:
    """What counts as progress of an instance: its runtime status, custom status and last
    update."""
    if status is None:
        return None
    return (status.runtime_status, repr(status.custom_status), repr(status.updated_at))


def _record(stack: Stack, timeline: Timeline, reader: InstanceReader, ids: list[str]) -> list[Path]:
    """Write the workflow history of each instance into ``<run dir>/histories``."""
    if stack.run_dir is None:
        return []
    try:
        return record_histories(reader, stack.run_dir / "histories", ids)
    except WorkloadError as exc:
        timeline.mark("finding", f"recording workflow histories failed: {exc}")
        return []


def observe(
    stack: Stack,
    workload: Workload,
    *,
    timeline: Timeline,
    supervisor: Supervisor,
    workflows: str | None,
    deadline: float = 60.0,
) -> History:
    """Wait (up to ``deadline`` seconds) until every accepted or unanswered instance of
    ``workload`` is terminal, then build the run's history. When only instances stranded
    by the known overlap defect are left, the worker is cycled once to release them
    (:mod:`harness.experiment.strands`); they get at least ``RELEASED_WAIT_S`` more.
    ``workflows`` ("MODULE[:ATTR]") is the code the replay check replays the recorded
    histories against."""
    timeline.mark("phase", "verify")
    attempts = attempts_by_id(workload.attempts())
    ids = [i for i, a in attempts.items() if a.outcome is not Outcome.FAIL]
    uncertain = {i for i, a in attempts.items() if a.outcome is Outcome.INFO}
    began = time.monotonic()
    statuses, pending, unreadable = _wait_terminal(
        workload, ids, uncertain, deadline, worker_lost=supervisor.worker_lost
    )
    waiting = [i for i in pending if not unloadable(unreadable.get(i))]
    strands = stranded(stack, timeline, waiting, statuses)
    if strands and release(stack, timeline, strands, supervisor):
        left = max(RELEASED_WAIT_S, deadline - (time.monotonic() - began))
        statuses, pending, unreadable = _wait_terminal(
            workload, ids, uncertain, left, worker_lost=supervisor.worker_lost
        )
        note_released(supervisor, strands, statuses)
    ledger = Ledger.read(stack.ledger_path, prefix=workload.prefix)
    # Child workflows run as instances of their own, known from the activities they ran.
    children = sorted({i.workflow_id for i in ledger.invocations} - set(attempts))
    reader = InstanceReader(stack.ports["daprd_grpc"], stack.api_token)
    try:
        last_events = {instance_id: reader.last_event(instance_id) for instance_id in pending}
        recorded = [i for i in ids if statuses.get(i)] + children
        histories = _record(stack, timeline, reader, recorded)
    finally:
        reader.close()
    metadata = stack.daprd.metadata()
    supervisor.note_stuck(len(pending))
    findings = supervisor.findings
    expected = {i: workload.expected_output(attempts[i].input) for i in ids}
    baseline = workload.baseline
    return History(
        attempts=attempts,
        statuses=statuses,
        ledger=ledger,
        timeline=timeline,
        business_state=workload.business_state(),
        metadata=metadata,
        last_events=last_events,
        worker_findings=list(findings.worker),
        known_findings=list(findings.known),
        histories=histories,
        workflows=workflows,
        kind=workload.kind,
        order_api=getattr(workload, "order_api", None) or REFERENCE,
        unreadable=unreadable,
        worker_probed=supervisor.worker_probed,
        expected_outputs={i: v for i, v in expected.items() if v is not NO_EXPECTATION},
        baseline={i: baseline.get(input_key(attempts[i].input)) for i in ids} if baseline else {},
        raised=workload.raised_events(),
    )
