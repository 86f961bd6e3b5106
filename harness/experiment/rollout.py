"""Is this change safe to deploy with instances in flight? Start instances on the old
code, stop the app at one activity boundary (the host's automatic failpoints
``<activity>.before`` / ``.after`` crash it there), deploy the new code in its place,
and see what became of every instance: finished, stalled (daprd's reason) or failed.
Each boundary in turn, on one stack.

The offline guard answers the same question without a stack: the histories recorded at
the crash are replayed against the new code. Where the two disagree the report says
which saw what (daprd, not the SDK, detects a patch mismatch: only the online run sees
it).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.errors import ConfigError, WorkloadError
from harness.experiment.chaos import Chaos
from harness.record.instances import InstanceReader
from harness.record.recorder import RecordedHistory
from harness.record.versions import stalls
from harness.stack.app_check import check_hosted_code
from harness.stack.config import AppSpec, StackConfig, hosted_app
from harness.stack.stack import Stack
from harness.workload.workflow_api import WorkflowAPI
from harness.workload.workflows import Workflows

HIT_TIMEOUT_S = 20.0  # how long the instances may take to reach a boundary
HOLD_S = 300.0  # an activity held at the boundary waits this long at most (the deploy ends it)
PROBE_S = 20.0  # how long the instance that orders the boundaries may take
SETTLE_S = 60.0  # how long they may take to finish after the deploy
STALL_QUIET_S = 5.0  # a stall that held this long (nothing moving) is the outcome


@dataclass(frozen=True)
class Outcome:
    """What became of one instance after the deploy: ``kind`` finished, stalled,
    failed or stuck; ``detail`` daprd's stall reason, the failure, or the status."""

    instance_id: str
    kind: str
    detail: str = ""

    def describe(self) -> str:
        return f"{self.instance_id}: {self.kind}" + (f" ({self.detail})" if self.detail else "")


@dataclass
class Boundary:
    """One boundary's run. ``reached``: an instance hit the failpoint (else nothing was
    judged there). ``offline``: instance id → None (its history at the crash replays
    against the new code) or the first mismatch."""

    failpoint: str
    reached: bool = False
    outcomes: list[Outcome] = field(default_factory=list)
    offline: dict[str, str | None] = field(default_factory=dict)

    @property
    def safe(self) -> bool:
        return self.reached and all(o.kind == "finished" for o in self.outcomes)

    def verdict(self) -> str:
        if not self.reached:
            return "not reached"
        return "safe" if self.safe else "UNSAFE"

    def disagreements(self) -> list[str]:
        """Where the online outcome and the offline replay differ, instance by instance."""
        lines = []
        for outcome in self.outcomes:
            if outcome.instance_id not in self.offline:
                continue
            mismatch = self.offline[outcome.instance_id]
            online_ok = outcome.kind == "finished"
            if online_ok and mismatch is not None:
                lines.append(
                    f"{outcome.instance_id}: finished online, but its history does not "
                    f"replay offline: {mismatch}"
                )
            elif not online_ok and mismatch is None:
                lines.append(
                    f"{outcome.instance_id}: {outcome.kind} online ({outcome.detail}), but "
                    "its history replays offline (daprd checks what the replay cannot)"
                )
        return lines


@dataclass
class RolloutReport:
    old: str
    new: str
    workflow: str
    boundaries: list[Boundary] = field(default_factory=list)
    order: str = ""  # how the boundaries were ordered (the probe's run), "" when named

    @property
    def judged(self) -> list[Boundary]:
        return [b for b in self.boundaries if b.reached]

    @property
    def safe(self) -> bool:
        return bool(self.judged) and all(b.safe for b in self.judged)

    def render(self) -> str:
        lines = [f"rollout {self.old} -> {self.new} (workflow {self.workflow})"]
        if self.order:
            lines.append(f"  {self.order}")
        for boundary in self.boundaries:
            lines.append(f"  at {boundary.failpoint}: {boundary.verdict()}")
            lines += [f"    {o.describe()}" for o in boundary.outcomes]
            lines += [f"    offline vs online: {d}" for d in boundary.disagreements()]
        unsafe = [b.failpoint for b in self.judged if not b.safe]
        missed = [b.failpoint for b in self.boundaries if not b.reached]
        if missed:
            lines.append(f"  not reached by these inputs: {', '.join(missed)}")
        if unsafe:
            lines.append(f"UNSAFE: instances in flight at {', '.join(unsafe)} do not survive")
        else:
            lines.append(
                f"SAFE: every instance in flight at {len(self.judged)} boundary(ies) finished"
            )
        return "\n".join(lines)

    def as_data(self) -> dict[str, Any]:
        return {
            "old": self.old,
            "new": self.new,
            "workflow": self.workflow,
            "safe": self.safe,
            "order": self.order,
            "boundaries": [
                {
                    "failpoint": b.failpoint,
                    "verdict": b.verdict(),
                    "outcomes": [vars(o) for o in b.outcomes],
                    "offline": b.offline,
                    "disagreements": b.disagreements(),
                }
                for b in self.boundaries
            ],
        }


@dataclass(frozen=True)
class RolloutPlan:
    """What :func:`rollout` runs, validated before any stack starts (ConfigError)."""

    old: AppSpec
    new: AppSpec
    workflow: str
    failpoints: tuple[str, ...]
    named: bool = False  # the boundaries were named (--at): run them in that order


def plan_rollout(
    old: str,
    new: str,
    *,
    workflow: str | None = None,
    at: Sequence[str] = (),
    app_id: str = "orders",
) -> RolloutPlan:
    """Check both versions (they import, they register ``workflow``) and pick the
    boundaries: every activity of the old version, before and after, or those ``at`` (in
    their order; otherwise :func:`rollout` orders them as a first instance runs them)."""
    old_app, new_app = hosted_app(old), hosted_app(new)
    old_names = check_hosted_code(old_app, app_id)
    new_names = check_hosted_code(new_app, app_id)
    assert old_names is not None and new_names is not None
    if workflow is None:
        both = sorted(set(old_names["workflows"]) & set(new_names["workflows"]))
        if len(both) != 1:
            raise ConfigError(
                f"name the workflow to roll out with --workflow: the versions register "
                f"{', '.join(both) or 'no workflow in common'}"
            )
        workflow = both[0]
    for code, names in ((old, old_names), (new, new_names)):
        if workflow not in names["workflows"]:
            raise ConfigError(
                f"workflow {workflow!r} is not registered in {code} (it registers "
                f"{', '.join(names['workflows'])})"
            )
    boundaries = [f"{a}.{edge}" for a in old_names["activities"] for edge in ("before", "after")]
    for name in at:
        if name not in boundaries:
            raise ConfigError(
                f"--at {name}: not an activity boundary of {old}; choose from "
                + ", ".join(boundaries)
            )
    chosen = tuple(at) or tuple(boundaries)
    if not chosen:
        raise ConfigError(f"{old} registers no activity: there is no boundary to stop at")
    return RolloutPlan(old_app, new_app, workflow, chosen, named=bool(at))


def rollout(
    plan: RolloutPlan,
    inputs: Sequence[Any],
    *,
    instances: int = 2,
    progress: Callable[[str], None] = print,
) -> RolloutReport:
    """Run ``plan`` on a fresh stack: ``instances`` instances per boundary, their inputs
    cycled from ``inputs``. Unless the plan names its boundaries, a first instance runs
    on the old code undisturbed and the boundaries follow the order it scheduled its
    activities in (those it never scheduled last, in name order)."""
    report = RolloutReport(str(plan.old.workflows), str(plan.new.workflows), plan.workflow)
    with Stack(StackConfig(app=plan.old, proxies=False)) as stack:
        chaos = Chaos(stack, app_restart_delay=0)
        api = WorkflowAPI(stack.ports["daprd_grpc"], stack.api_token)
        failpoints = plan.failpoints
        if not plan.named:
            failpoints, report.order = _execution_order(stack, api, plan, inputs)
            progress(f"[rollout] {report.order}")
        for number, failpoint in enumerate(failpoints, 1):
            progress(f"[rollout] {number}/{len(failpoints)}: crash at {failpoint}, deploy")
            boundary = _boundary(chaos, api, plan, failpoint, number, inputs, instances)
            report.boundaries.append(boundary)
            progress(f"[rollout]   {boundary.verdict()}")
    return report


def _execution_order(
    stack: Stack, api: WorkflowAPI, plan: RolloutPlan, inputs: Sequence[Any]
) -> tuple[tuple[str, ...], str]:
    """The plan's boundaries in the order one instance on the old code (input
    ``inputs[0]``) schedules its activities, and a line that says so. The registry only
    knows names; the order comes from the instance's history (``taskScheduled`` events)."""
    work = Workflows(api, "r0-", workflow=plan.workflow, inputs=list(inputs) or [None])
    probe = work.start(plan.workflow, work.inputs[0])
    unfinished = ""
    try:
        work.wait_terminal([probe], timeout=PROBE_S)
    except WorkloadError:  # waiting for an event, say: what it scheduled so far is the order
        unfinished = f" (it had not finished after {PROBE_S:.0f}s)"
    ran: list[str] = []
    for event in _histories(stack, [probe])[0].events:
        if event.WhichOneof("eventType") == "taskScheduled":
            name = str(event.taskScheduled.name)
            if name not in ran:
                ran.append(name)
    ordered, never = order_boundaries(plan.failpoints, ran)
    line = (
        f"boundaries in the order instance {probe} ran its activities: "
        + (", ".join(ran) if ran else "it scheduled none")
        + unfinished
    )
    if never:
        line += f"; never scheduled with this input: {', '.join(never)}"
    return ordered, line


def order_boundaries(
    failpoints: Sequence[str], ran: Sequence[str]
) -> tuple[tuple[str, ...], list[str]]:
    """``failpoints`` (``<activity>.before|after``) in the order of ``ran`` (activity
    names as an instance scheduled them), before ahead of after; the activities never
    scheduled come last, in name order, and are returned too."""
    rank = {name: n for n, name in enumerate(ran)}

    def key(failpoint: str) -> tuple[int, str, int]:
        activity, _, edge = failpoint.rpartition(".")
        return (rank.get(activity, len(ran)), activity, 0 if edge == "before" else 1)

    never = sorted({f.rpartition(".")[0] for f in failpoints} - set(ran))
    return tuple(sorted(failpoints, key=key)), never


def _boundary(
    chaos: Chaos,
    api: WorkflowAPI,
    plan: RolloutPlan,
    failpoint: str,
    number: int,
    inputs: Sequence[Any],
    instances: int,
) -> Boundary:
    stack = chaos.stack
    if stack.config.app != plan.old:
        chaos.deploy(plan.old, seconds=0)
    boundary = Boundary(failpoint)
    work = Workflows(api, f"r{number}-", workflow=plan.workflow, inputs=list(inputs) or [None])
    # Held, not crashed: each instance's activity waits at the boundary (the app stays
    # up, so every start is answered) until the deploy stops the old app under it.
    chaos.arm(failpoint, "delay", seconds=HOLD_S, count=None)
    ids = [work.start(plan.workflow, work.inputs[n]) for n in range(instances)]
    held = _hold(chaos, work, failpoint, ids)
    chaos.disarm(failpoint)  # the new version's activities run freely
    if not held:
        work.wait_terminal(ids, timeout=SETTLE_S)
        return boundary
    boundary.reached = True
    recorded = _histories(stack, ids)
    chaos.deploy(plan.new, seconds=0)
    boundary.outcomes = _settle(stack, work, ids)
    boundary.offline = _replay_offline(plan.new, recorded)
    return boundary


def _hold(chaos: Chaos, work: Workflows, failpoint: str, ids: Sequence[str]) -> set[str]:
    """Wait until every instance is held at ``failpoint`` or finished without reaching
    it (at most :data:`HIT_TIMEOUT_S`); the ids held."""
    deadline = time.monotonic() + HIT_TIMEOUT_S
    while True:
        held = {
            str(h.workflow_id)
            for h in chaos.hits.hits(work.prefix)
            if h.name == failpoint and h.fired and h.workflow_id
        }
        done = {i for i in ids if (s := work.status(i)) is not None and s.terminal}
        if len(held | done) >= len(ids) or time.monotonic() >= deadline:
            return held
        time.sleep(0.1)


def _histories(stack: Stack, ids: Sequence[str]) -> list[RecordedHistory]:
    reader = InstanceReader(stack.ports["daprd_grpc"], stack.api_token)
    try:
        return [RecordedHistory(i, reader.events(i)) for i in ids]
    finally:
        reader.close()


def _settle(stack: Stack, work: Workflows, ids: Sequence[str]) -> list[Outcome]:
    """Wait until every instance finished, failed, or stalled with nothing moving for
    :data:`STALL_QUIET_S`; then each one's outcome."""
    deadline = time.monotonic() + SETTLE_S
    quiet_since: float | None = None
    last: dict[str, Any] = {}
    while True:
        last = {i: work.status(i) for i in ids}
        open_ = [s for s in last.values() if s is None or not s.terminal]
        if not open_:
            break
        if all(s is not None and s.stalled for s in open_):
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= STALL_QUIET_S:
                break
        else:
            quiet_since = None
        if time.monotonic() >= deadline:
            break
        time.sleep(0.2)
    reader = InstanceReader(stack.ports["daprd_grpc"], stack.api_token)
    try:
        return [_outcome(i, last[i], reader) for i in ids]
    finally:
        reader.close()


def _outcome(instance_id: str, status: Any, reader: InstanceReader) -> Outcome:
    if status is None:
        return Outcome(instance_id, "stuck", "Dapr does not know it")
    if status.runtime_status == "COMPLETED":
        return Outcome(instance_id, "finished")
    if status.stalled:
        found = stalls(reader.events(instance_id))
        return Outcome(instance_id, "stalled", found[-1].describe() if found else "no reason")
    if status.terminal:
        failure = status.failure
        message = failure.get("message") if isinstance(failure, dict) else failure
        return Outcome(instance_id, "failed", f"{status.runtime_status}: {message}")
    return Outcome(instance_id, "stuck", f"{status.runtime_status} after {SETTLE_S:.0f}s")


def _replay_offline(new: AppSpec, recorded: Sequence[RecordedHistory]) -> dict[str, str | None]:
    from harness.replay.api import replay_histories  # the SDK executor, only when used

    assert new.workflows is not None
    result: dict[str, str | None] = {}
    for history in recorded:
        try:
            report = replay_histories(new.workflows, [history])
        except ConfigError as exc:
            result[history.instance_id] = f"cannot replay: {exc}"
            continue
        result[history.instance_id] = str(report.mismatches[0]) if report.mismatches else None
    return result
