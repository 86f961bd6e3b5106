"""Read workflow instances straight from daprd's gRPC API (``GetInstanceHistory``).

The harness dials daprd's own port, never a proxied one: what it observes must not be
bent by the faults it injects.
"""

from __future__ import annotations

import time
from typing import Any

import grpc
from dapr.ext.workflow._durabletask.internal import orchestrator_service_pb2 as pb
from dapr.ext.workflow._durabletask.internal import orchestrator_service_pb2_grpc as stubs

from harness.errors import WorkloadError


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


def _text(value: Any, limit: int = 160) -> str:
    text = value.value if hasattr(value, "value") else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def history_rows(events: list[Any]) -> list[dict[str, str]]:
    """The history as table rows for people: ``index``, ``time`` (UTC, ms), ``event``
    (type), ``name`` (activity, timer or event name), ``ref`` (the event id, or for a
    completion the id of the step it completes) and ``detail`` (input, result, failure,
    status or timer deadline, shortened)."""
    rows = []
    for index, event in enumerate(events):
        kind = event_kind(event)
        body = getattr(event, kind, None)
        name = getattr(body, "name", "") if body is not None else ""
        ref = str(event.eventId)
        details: list[str] = []
        if body is not None:
            if hasattr(body, "taskScheduledId"):
                ref = f"→{body.taskScheduledId}"
            for field_name in ("input", "result"):
                if hasattr(body, field_name) and body.HasField(field_name):
                    details.append(f"{field_name}={_text(getattr(body, field_name))}")
            if hasattr(body, "failureDetails") and body.HasField("failureDetails"):
                fd = body.failureDetails
                details.append(f"failure={fd.errorType}: {_text(fd.errorMessage)}")
            if hasattr(body, "fireAt") and body.HasField("fireAt"):
                details.append(
                    "fireAt=" + body.fireAt.ToDatetime().isoformat(timespec="milliseconds")
                )
            if kind == "executionCompleted":
                status = body.DESCRIPTOR.fields_by_name["workflowStatus"].enum_type
                label = status.values_by_number.get(body.workflowStatus)
                details.insert(0, f"status={label.name if label else body.workflowStatus}")
        rows.append(
            {
                "index": str(index),
                "time": event.timestamp.ToDatetime().strftime("%H:%M:%S.%f")[:-3],
                "event": kind,
                "name": str(name),
                "ref": ref,
                "detail": "; ".join(details),
            }
        )
    return rows
