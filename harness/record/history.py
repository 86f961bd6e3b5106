"""The history of one chaos run: the single input of every checker.

The unit is a workflow instance. Every attempt to start one is an operation with a
Jepsen-style outcome (:class:`Outcome`): ``ok`` (the start was accepted), ``fail`` (it was
refused and certainly never started), ``info`` (no answer: it may or may not exist). At
the end of a run each instance the workload touched is read back (:class:`InstanceStatus`).
Beside them the history holds what the app recorded (the ledger), what the harness did
(the timeline), the business state, daprd's metadata, the recorded workflow histories and
the findings of the heal phase. Workloads (the order HTTP API, workflows over gRPC) are
views onto this; checks read only this.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from harness.record.ledger import Ledger
from harness.record.order_shape import REFERENCE, OrderShape
from harness.record.timeline import Timeline

# Runtime statuses as daprd's workflow API names them (upper case, no prefix).
TERMINAL = frozenset({"COMPLETED", "FAILED", "TERMINATED"})
RUNTIME_STATUSES = (
    "RUNNING",
    "COMPLETED",
    "CONTINUED_AS_NEW",
    "FAILED",
    "CANCELED",
    "TERMINATED",
    "PENDING",
    "SUSPENDED",
    "STALLED",
)
# The .NET SDKs' OrchestrationRuntimeStatus serialized as a bare number (System.Text.Json
# without a JsonStringEnumConverter): the enum's implicit values, in declaration order, as
# microsoft/durabletask-dotnet declares it (src/Client/Core/OrchestrationRuntimeStatus.cs,
# commit 22ce6185: Running, Completed, ContinuedAsNew, Failed, Canceled, Terminated,
# Pending, Suspended), which the Dapr .NET SDK's workflow client passes through.
DOTNET_RUNTIME_STATUS = {
    0: "RUNNING",
    1: "COMPLETED",
    2: "CONTINUED_AS_NEW",
    3: "FAILED",
    4: "CANCELED",
    5: "TERMINATED",
    6: "PENDING",
    7: "SUSPENDED",
}
_BY_SPELLING = {name.replace("_", ""): name for name in RUNTIME_STATUSES}


def runtime_status_name(value: Any) -> str | None:
    """A runtime status as an app's API may spell it, in daprd's spelling (``COMPLETED``,
    ``CONTINUED_AS_NEW``, ...): any case, with or without underscores or the protobuf
    ``ORCHESTRATION_STATUS_`` prefix (``"Completed"``, ``"ContinuedAsNew"``), or the
    .NET enum's number (``1``, ``"1"``; see :data:`DOTNET_RUNTIME_STATUS`). None: not a
    runtime status."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int):
        return DOTNET_RUNTIME_STATUS.get(value)
    if not isinstance(value, str):
        return None
    key = value.strip().upper().replace("_", "").replace("-", "")
    key = key.removeprefix("ORCHESTRATIONSTATUS").removeprefix("WORKFLOWSTATUS")
    return _BY_SPELLING.get(key)


class Outcome(enum.Enum):
    """What an attempt to start an instance came to (Jepsen's ok / fail / info)."""

    OK = "ok"  # accepted: the instance exists
    FAIL = "fail"  # refused: it never started
    INFO = "info"  # no answer: unknown whether it started


@dataclass(frozen=True)
class Attempt:
    """One attempt to start workflow instance ``instance_id``.

    ``input`` is what the workflow was (to be) given, as JSON-able data; ``workflow`` its
    registered name when the workload knows it; ``detail`` why it was refused or what
    left it without an answer; ``at`` when it was first sent (epoch seconds; None:
    not known).
    """

    instance_id: str
    outcome: Outcome
    input: Any = None
    workflow: str | None = None
    detail: str = ""
    at: float | None = None


@dataclass(frozen=True)
class RaisedEvent:
    """One attempt to raise external event ``name`` on instance ``instance_id``, with
    the outcome of the raise call (ok: daprd took it; fail: it never reached daprd, or
    daprd refused it; info: no answer). ``at``: epoch seconds it was first sent."""

    instance_id: str
    name: str
    outcome: Outcome
    at: float
    detail: str = ""


@dataclass(frozen=True)
class InstanceStatus:
    """What the runtime said about one workflow instance. ``runtime_status`` is upper
    case (``COMPLETED``, ``FAILED``, ``TERMINATED``, ``RUNNING``, ``PENDING``, ...);
    ``output``/``input``/``custom_status`` are decoded JSON; ``failure`` the failure
    details; times are epoch seconds (None: unknown)."""

    instance_id: str
    runtime_status: str
    output: Any = None
    failure: Any = None
    workflow: str | None = None
    input: Any = None
    custom_status: Any = None
    created_at: float | None = None
    updated_at: float | None = None

    @property
    def terminal(self) -> bool:
        return self.runtime_status in TERMINAL

    @property
    def stalled(self) -> bool:
        """STALLED: its history no longer matches the deployed code (it waits for code)."""
        return self.runtime_status == "STALLED"


def attempts_by_id(attempts: Iterable[Attempt]) -> dict[str, Attempt]:
    """Attempts keyed by instance id (a later attempt for the same id wins)."""
    return {a.instance_id: a for a in attempts}


@dataclass
class History:
    """``attempts``: every start attempt of the run, by instance id. ``statuses``: what
    the workload read back about each accepted or unanswered instance at the end (None:
    it does not exist, or could not be read). Built once, then read: the views by outcome
    are computed on first use."""

    attempts: dict[str, Attempt]
    statuses: dict[str, InstanceStatus | None]
    ledger: Ledger
    timeline: Timeline
    business_state: dict[str, dict[str, int]] | None = None
    metadata: dict[str, Any] | None = None
    last_events: dict[str, str] = field(default_factory=dict)
    worker_findings: list[str] = field(default_factory=list)
    # Upstream misbehaviour the harness recognised and recovered from (reported, not blamed
    # on the app).
    known_findings: list[str] = field(default_factory=list)
    # Workflow history files (<run dir>/histories/<id>.pb, with a readable .json beside)
    # of this run's instances, recorded at verify time, and the workflow code
    # ("MODULE[:ATTR]") the replay check replays them against.
    histories: list[Path] = field(default_factory=list)
    workflows: str | None = None
    # "orders" (the order API: the order checks apply) or "workflows".
    kind: str = "orders"
    # How the order app marks an order approved or rejected in its output (orders only).
    order_api: OrderShape = REFERENCE
    # Instance id -> the output it must end with (only where the workload expects one).
    expected_outputs: dict[str, Any] = field(default_factory=dict)
    # Instance id -> the final status of a fault-free run of the same input.
    baseline: dict[str, InstanceStatus | None] = field(default_factory=dict)
    # Instance id -> why its status could not be read (not the same as "does not exist").
    unreadable: dict[str, str] = field(default_factory=dict)
    # Whether a heal waited for the app's workflow worker (worker-health judges that).
    worker_probed: bool = False
    # External events the workload raised on its instances (events-delivered judges them).
    raised: list[RaisedEvent] = field(default_factory=list)

    @cached_property
    def existing(self) -> dict[str, InstanceStatus]:
        """Every instance that exists: accepted ones and unanswered starts that did
        create one, with their final status."""
        return {
            i: s
            for i, s in self.statuses.items()
            if s is not None and (i in self.accepted or i in self.uncertain)
        }

    @property
    def noun(self) -> str:
        """What one started thing is called in evidence: "order" for the order API, else
        "instance" (a workflow instance)."""
        return "order" if self.kind == "orders" else "instance"

    @cached_property
    def accepted(self) -> dict[str, Attempt]:
        """Attempts that were accepted (ok)."""
        return {i: a for i, a in self.attempts.items() if a.outcome is Outcome.OK}

    @cached_property
    def refused(self) -> dict[str, str]:
        """Refused attempts (fail): instance id → why."""
        return {i: a.detail for i, a in self.attempts.items() if a.outcome is Outcome.FAIL}

    @cached_property
    def uncertain(self) -> dict[str, Attempt]:
        """Attempts without an answer (info): the instance may or may not exist."""
        return {i: a for i, a in self.attempts.items() if a.outcome is Outcome.INFO}
