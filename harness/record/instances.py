"""Read workflow instances straight from daprd's gRPC API (``GetInstanceHistory``).

The harness dials daprd's own port, never a proxied one: what it observes must not be
bent by the faults it injects.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import grpc
from dapr.ext.workflow._durabletask.internal import orchestration_pb2 as orchestration
from dapr.ext.workflow._durabletask.internal import orchestrator_service_pb2 as pb
from dapr.ext.workflow._durabletask.internal import orchestrator_service_pb2_grpc as stubs

from harness.errors import WorkloadError


class ListingUnsupported(WorkloadError):
    """daprd does not implement ``ListInstanceIDs`` (its workflow backend cannot list)."""


@dataclass(frozen=True)
class InstanceState:
    """What daprd's ``GetInstance`` says of one workflow instance. Times are epoch
    seconds (None: daprd did not say); ``input``, ``output``, ``custom_status`` the
    serialized payloads as daprd holds them (None: none); ``failure`` the failure's
    ``type: message`` when the instance failed."""

    instance_id: str
    name: str
    status: str  # RUNNING, COMPLETED, FAILED, TERMINATED, PENDING, SUSPENDED, STALLED, ...
    created: float | None
    last_updated: float | None
    input: str | None = None
    output: str | None = None
    custom_status: str | None = None
    failure: str | None = None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset({"COMPLETED", "FAILED", "TERMINATED", "CANCELED"})


def epoch_seconds(stamp: Any) -> float | None:
    """Epoch seconds of a protobuf ``Timestamp`` daprd sent; None when it is unset.

    Unset is protobuf's default (0) or Go's zero time (year 1), which daprd sends for an
    instance it has no time for yet. Read as arithmetic, not through a naive datetime,
    whose ``timestamp()`` takes the machine's time zone and fails before year 1 in it.
    """
    if stamp.seconds <= 0:
        return None
    return float(stamp.seconds) + float(stamp.nanos) / 1e9


def _text(value: Any, present: bool) -> str | None:
    return str(value.value) if present else None


def instance_state(state: Any) -> InstanceState:
    """An :class:`InstanceState` from a durabletask ``WorkflowState`` message."""
    status = orchestration.OrchestrationStatus.Name(state.workflowStatus).removeprefix(
        "ORCHESTRATION_STATUS_"
    )
    failure = None
    if state.HasField("failureDetails"):
        failure = f"{state.failureDetails.errorType}: {state.failureDetails.errorMessage}"
    return InstanceState(
        instance_id=state.instanceId,
        name=state.name,
        status=status,
        created=epoch_seconds(state.createdTimestamp),
        last_updated=epoch_seconds(state.lastUpdatedTimestamp),
        input=_text(state.input, state.HasField("input")),
        output=_text(state.output, state.HasField("output")),
        custom_status=_text(state.customStatus, state.HasField("customStatus")),
        failure=failure,
    )


def event_kind(event: Any) -> str:
    """The history event's type, e.g. "taskScheduled"."""
    kind = event.WhichOneof("eventType")
    return str(kind) if kind else "unknown"


def describe_event(event: Any, index: int | None = None) -> str:
    """One line: position, type, the activity name when there is one, and the time."""
    kind = event_kind(event)
    body = getattr(event, kind, None)
    name = getattr(body, "name", "") if body is not None else ""
    ts = event.timestamp.ToDatetime().strftime("%H:%M:%S.%f")[:-3]
    where = f"#{index}" if index is not None else f"id {event.eventId}"
    return f"{where} {kind}{' ' + name if name else ''} at {ts}"


class InstanceReader:
    """Reads histories from daprd on 127.0.0.1:``port`` with this run's API token."""

    def __init__(self, port: int, token: str, *, timeout: float = 5.0) -> None:
        self._channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self._stub = stubs.TaskHubSidecarServiceStub(self._channel)  # type: ignore[no-untyped-call]
        self._metadata = (("dapr-api-token", token),)
        self.timeout = timeout

    def close(self) -> None:
        self._channel.close()

    def events(self, instance_id: str) -> list[Any]:
        """Every history event of ``instance_id`` (WorkloadError if daprd refuses)."""
        try:
            resp = self._stub.GetInstanceHistory(
                pb.GetInstanceHistoryRequest(instanceId=instance_id),
                metadata=self._metadata,
                timeout=self.timeout,
            )
        except grpc.RpcError as exc:
            raise WorkloadError(
                f"GetInstanceHistory({instance_id}) failed: {exc.code().name}: {exc.details()}"
            ) from exc
        return list(resp.events)

    def state(self, instance_id: str) -> InstanceState | None:
        """The instance's state with its inputs and outputs (``GetInstance``); None when
        daprd does not know the instance (WorkloadError if daprd refuses)."""
        try:
            resp = self._stub.GetInstance(
                pb.GetInstanceRequest(instanceId=instance_id, getInputsAndOutputs=True),
                metadata=self._metadata,
                timeout=self.timeout,
            )
        except grpc.RpcError as exc:
            if exc.code() is grpc.StatusCode.NOT_FOUND:
                return None
            raise WorkloadError(
                f"GetInstance({instance_id}) failed: {exc.code().name}: {exc.details()}"
            ) from exc
        if not resp.exists:
            return None
        return instance_state(resp.workflowState)

    def instance_ids(self, *, page_size: int = 500) -> list[str]:
        """Every workflow instance id daprd knows (``ListInstanceIDs``, all pages).
        ListingUnsupported when daprd does not implement it; WorkloadError otherwise."""
        ids: list[str] = []
        token = ""
        while True:
            try:
                resp = self._stub.ListInstanceIDs(
                    pb.ListInstanceIDsRequest(pageSize=page_size, continuationToken=token),
                    metadata=self._metadata,
                    timeout=self.timeout,
                )
            except grpc.RpcError as exc:
                if exc.code() is grpc.StatusCode.UNIMPLEMENTED:
                    raise ListingUnsupported(
                        f"daprd does not list instances (ListInstanceIDs: {exc.details()})"
                    ) from exc
                raise WorkloadError(
                    f"ListInstanceIDs failed: {exc.code().name}: {exc.details()}"
                ) from exc
            ids.extend(resp.instanceIds)
            token = resp.continuationToken
            if not token or not resp.instanceIds:
                return ids

    def last_event(self, instance_id: str) -> str:
        """The last history event, described; or why it could not be read."""
        try:
            events = self.events(instance_id)
        except WorkloadError as exc:
            return str(exc)
        if not events:
            return "no history events"
        age = time.time() - events[-1].timestamp.ToDatetime().timestamp()
        last = describe_event(events[-1], len(events) - 1)
        return f"{last} ({len(events)} events, last {age:.0f}s ago)"
