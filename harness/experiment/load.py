"""Load a running stack with Locust, optionally under a fault schedule, and measure it.

``run_load(stack, LoadProfile(users=20, spawn_rate=5, duration=60), prefix="load-")``
starts Locust (:mod:`harness.workload.locustfile`) as child processes against the
stack's order API, follows its operation log while it runs (progress lines, schedule
triggers), and returns a :class:`LoadResult`. With ``chaos`` (and a ``schedule``), the
schedule's faults are injected while the load runs (``At`` counts from the load's start,
``OnCompleted`` counts workflows this load saw complete, ``OnFailpoint`` hits of this
load's orders); the load's duration is the chaos phase (the schedule's
``chaos_timeout`` does not apply, its ``verify_deadline`` does). Afterwards the stack is
healed, every accepted order must become terminal and the chaos checks run. Locust and
every fault are stopped whatever happens.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.checks.verification import CHECKS, Verification
from harness.errors import ConfigError, HarnessError, WorkloadError
from harness.experiment.chaos import Chaos
from harness.experiment.load_result import (
    LoadResult,
    analyse,
    failures_by_kind,
    http_rows,
    is_upstream,
    recovery_fields,
    relative_windows,
    upstream_seconds,
)
from harness.experiment.triggers import PendingEvents, Triggers
from harness.faults.schedule import Schedule
from harness.record.history import InstanceStatus, Outcome
from harness.record.series import Dip, Latency
from harness.stack.stack import Stack
from harness.workload.load_config import (
    WORKFLOW_REQUEST,
    LoadProfile,
    WorkloadConfig,
    validate_prefix,
)
from harness.workload.locust_process import (
    LOCUSTFILE,
    STARTUP_GRACE,
    WORKFLOW_LOCUSTFILE,
    LocustCommand,
    LocustRun,
    run_time_s,
)
from harness.workload.operations import Operations, read_operations
from harness.workload.order_api import OrderAPIClient
from harness.workload.orders import Orders
from harness.workload.protocol import Workload
from harness.workload.workflow_api import WorkflowAPI
from harness.workload.workflows import Workflows

__all__ = ["Dip", "Latency", "LoadProfile", "LoadResult", "run_load"]

log = logging.getLogger("harness.load")

PROGRESS_EVERY_S = 5.0
# Seconds accepted orders get to become terminal after a load without chaos.
DRAIN_DEADLINE_S = 60.0


class _Follower:
    """Follows the operation log while Locust runs: load start and completions so far."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.ops = Operations()
        self.completed = 0

    def poll(self) -> None:
        records, self.offset = read_operations(self.path, self.offset)
        self.ops.add(records)
        self.completed = sum(1 for r in records if r["op"] == "done") + self.completed


def _validate(
    prefix: str, chaos: Chaos | None, schedule: Schedule | None, checks: Sequence[str] | None
) -> None:
    validate_prefix(prefix)
    if schedule is not None and chaos is None:
        raise ConfigError("a fault schedule needs chaos: pass chaos=Chaos(stack)")
    unknown = [c for c in checks or () if c not in CHECKS]
    if unknown:
        raise ConfigError(f"unknown check(s) {unknown}; choose from {', '.join(CHECKS)}")


def run_load(
    stack: Stack,
    profile: LoadProfile,
    *,
    prefix: str,
    seed: int | None = None,
    chaos: Chaos | None = None,
    schedule: Schedule | None = None,
    checks: Sequence[str] | None = None,
    workflow: str | None = None,
    inputs: Sequence[Any] | None = None,
) -> LoadResult:
    """Run ``profile`` against ``stack``'s order API (orders ``<prefix>w<worker>-<n>``),
    or, with ``workflow``, start instances of that workflow through daprd's gRPC API,
    each given the next of ``inputs`` (cycled).

    Raises ConfigError for bad arguments before anything starts, WorkloadError when
    Locust fails, FaultError when a scheduled fault never triggered during the load.
    """
    _validate(prefix, chaos, schedule, checks)
    if stack.run_dir is None:
        raise ConfigError("the stack is not started; start it before run_load")
    if workflow is not None:
        registry = stack.app_registry()
        if registry is not None and workflow not in registry["workflows"]:
            names = ", ".join(registry["workflows"]) or "none"
            raise ConfigError(
                f"workflow {workflow!r} is not registered by the app; it registers: {names}"
            )
    out = Path(tempfile.mkdtemp(prefix="load-", dir=stack.run_dir))
    config = WorkloadConfig(
        prefix=prefix,
        url=stack.app_url,
        ops_path=out / "ops.jsonl",
        seed=seed,
        workflow=workflow,
        inputs=tuple(inputs) if inputs else (None,),
        grpc_port=stack.ports["daprd_grpc"] if workflow is not None else None,
        token=stack.api_token if workflow is not None else "",
        result_field=stack.config.app.order_api.field if stack.config.app else "result",
    )
    assert config.ops_path is not None
    config.ops_path.touch(mode=0o600)
    command = LocustCommand(
        locustfile=LOCUSTFILE if workflow is None else WORKFLOW_LOCUSTFILE,
        host=stack.app_url,
        users=profile.users,
        spawn_rate=profile.spawn_rate,
        run_time_s=run_time_s(profile.duration),
        stats_base=out / "stats",
        workers=profile.workers,
        master_port=stack.ports["locust_master"],
    )
    follower = _Follower(config.ops_path)
    # A workflow load's client in this process: it sends the schedule's raise-events
    # while Locust runs, and judges the load's starts afterwards.
    workflows = None
    if workflow is not None:
        api = WorkflowAPI(stack.ports["daprd_grpc"], stack.api_token)
        workflows = Workflows(api, prefix, workflow=workflow)
    pending: PendingEvents | None = None
    if chaos is not None:
        # ``At`` counts from the load's start (the first Locust user), which the
        # operation log tells; no trigger fires before it.
        def since_start() -> float:
            t0 = follower.ops.start
            return -1.0 if t0 is None else time.time() - t0

        triggers = Triggers(
            chaos, prefix=prefix, elapsed=since_start, completed=lambda: follower.completed
        )
        pending = PendingEvents(
            chaos,
            schedule.events if schedule else (),
            triggers,
            sender=workflows,
            accepted=lambda: list(follower.ops.accepted),
        )
        chaos.timeline.mark("phase", "load")
    launched = time.time()
    # Locust gets the workload's settings, not the app's (no daprd token, no ledger path).
    env = {**os.environ, **config.to_env(), "PYTHONUNBUFFERED": "1"}
    log.info(
        "load: starting Locust (%d users at %g/s for %ds%s) against %s",
        profile.users,
        profile.spawn_rate,
        command.run_time_s,
        f", {profile.workers} workers" if profile.workers else "",
        stack.app_url,
    )
    with contextlib.ExitStack() as closing:
        if workflows is not None:
            closing.callback(workflows.close)
        locust = LocustRun.start(stack, command, env)
        try:
            _drive(locust, follower, profile, pending)
            locust.wait(STARTUP_GRACE)
            stats = locust.stats()
        except KeyboardInterrupt:
            # Ctrl-C: stop at once; healing (waiting for workers) would keep the user waiting.
            locust.stop()
            raise
        except BaseException:
            locust.stop()
            if chaos is not None:
                with contextlib.suppress(HarnessError):  # the first error is the one to see
                    chaos.heal()
            raise
        locust.stop()
        if chaos is not None:
            chaos.heal()
        if pending is not None:
            never = pending.never_fired(f"during the {command.run_time_s}s load")
            if never is not None:
                raise never
            pending.finish(timeout=DRAIN_DEADLINE_S)
        follower.poll()
        ops = follower.ops
        if ops.start is None:
            raise WorkloadError(
                f"Locust ran but recorded no load start:\n{locust.master.log_tail()}"
            )
        workload = _workload_of(stack, prefix, ops, workflows)
        if workload is not workflows:
            closing.callback(workload.close)
        return _result(workload, profile, ops, stats, chaos, schedule, checks, launched)


def _drive(
    locust: LocustRun,
    follower: _Follower,
    profile: LoadProfile,
    pending: PendingEvents | None,
) -> None:
    """Until Locust exits: follow the log, fire due faults, print progress."""
    launched = time.monotonic()
    last_progress = launched
    while not locust.finished():
        follower.poll()
        t0 = follower.ops.start
        if t0 is None and time.monotonic() - launched > STARTUP_GRACE:
            raise WorkloadError(
                f"Locust did not start the load within {STARTUP_GRACE:.0f}s:\n"
                f"{locust.master.log_tail(20)}"
            )
        locust.check_alive()
        if t0 is not None and pending is not None:
            pending.fire_due()
        now = time.monotonic()
        if t0 is not None and now - last_progress >= PROGRESS_EVERY_S:
            last_progress = now
            elapsed = time.time() - t0
            users = min(profile.users, int(profile.spawn_rate * elapsed) or 1)
            log.info(
                "load: %3.0fs/%ds  %d users  %d workflows done (%.1f/s)  %d HTTP errors",
                elapsed,
                run_time_s(profile.duration),
                users,
                follower.completed,
                follower.completed / max(elapsed, 1e-9),
                len(follower.ops.http_errors),
            )
        time.sleep(0.05)


def _workload_of(
    stack: Stack, prefix: str, ops: Operations, workflows: Workflows | None
) -> Workload:
    """The load's starts as the chaos checks expect them (accepted / refused / unknown),
    read back through the order API, or through daprd's workflow API by ``workflows``
    (the load's client, with the events it raised)."""
    if workflows is None:
        orders = Orders(OrderAPIClient.on(stack), prefix=prefix)
        orders.accepted = {oid: ops.orders[oid] for oid in ops.accepted}
        orders.submitted = list(ops.accepted)
        orders.refused = dict(ops.refused)
        orders.uncertain = {oid: ops.orders[oid] for oid in ops.uncertain}
        return orders
    workflows.adopt(ops.attempts())
    return workflows


def _accepted(workload: Workload) -> list[str]:
    return [a.instance_id for a in workload.attempts() if a.outcome is Outcome.OK]


def _drain(workload: Workload, deadline: float) -> dict[str, InstanceStatus | None]:
    """Each accepted instance's state once all are terminal, or at the deadline."""
    statuses: dict[str, InstanceStatus | None] = {}
    pending = _accepted(workload)
    end = time.monotonic() + deadline
    while pending:
        still = []
        for order_id in pending:
            try:
                statuses[order_id] = workload.status(order_id)
            except WorkloadError:
                statuses[order_id] = None
            status = statuses[order_id]
            if status is None or not status.terminal:
                still.append(order_id)
        pending = still
        if not pending or time.monotonic() >= end:
            break
        time.sleep(0.2)
    return statuses


def _result(
    workload: Workload,
    profile: LoadProfile,
    ops: Operations,
    stats: list[dict[str, Any]],
    chaos: Chaos | None,
    schedule: Schedule | None,
    checks: Sequence[str] | None,
    launched: float,
) -> LoadResult:
    assert ops.start is not None
    t0 = ops.start
    duration = float(run_time_s(profile.duration))
    accepted = _accepted(workload)
    verification: Verification | None = None
    if chaos is not None:
        deadline = schedule.verify_deadline if schedule else DRAIN_DEADLINE_S
        # Healed already (run_load's finally); verify also judges armed failpoints that
        # never fired.
        verification = chaos.verify(workload, deadline=deadline, checks=checks, heal=False)
        statuses = {oid: verification.history.statuses.get(oid) for oid in accepted}
    else:
        statuses = _drain(workload, DRAIN_DEADLINE_S)
    final: dict[str, int] = {}
    unaccounted = []
    for oid in accepted:
        status = statuses.get(oid)
        key = status.runtime_status if status is not None else "NOT FOUND"
        if status is None or not status.terminal:
            unaccounted.append(oid)
            key = "NOT TERMINAL" if status is not None else key
        final[key] = final.get(key, 0) + 1
    windows = relative_windows(chaos.timeline.windows, t0, launched) if chaos else []
    # The app's own recovery counts from the end of the last fault or the end of the
    # runtime's unavailability through a known upstream defect, whichever is later.
    series, recovery, latencies = analyse(ops, profile, t0, windows)
    dip, recovery_s, recovery_status = recovery_fields(recovery)
    real = [w for w in windows if not is_upstream(w)]
    total = analyse(ops, profile, t0, real)[1] if len(real) < len(windows) else recovery
    http = http_rows(stats, duration)
    requests = sum(
        row["requests"] for name, row in http.items() if not name.startswith(WORKFLOW_REQUEST)
    )
    return LoadResult(
        profile=profile,
        prefix=workload.prefix,
        duration_s=duration,
        submitted=len(ops.inputs),
        accepted_ids=accepted,
        refused=dict(ops.refused),
        uncertain=ops.uncertain,
        completed=len(latencies),
        workflows_per_s=len(latencies) / duration,
        requests_per_s=requests / duration,
        latency_ms=Latency.of(latencies),
        failures=failures_by_kind(ops),
        series=series,
        fault_windows=windows,
        baseline_wps=recovery.baseline_wps,
        dip=dip,
        recovery_s=recovery_s,
        recovery=recovery_status,
        final_statuses=final,
        unaccounted=unaccounted,
        verification=verification,
        http=http,
        notes=[recovery.note] if recovery.note else [],
        upstream_s=upstream_seconds(windows, duration),
        recovery_total_s=total.recovery_s,
        recovery_total=total.status or recovery_status,
        started_at=t0,
    )
