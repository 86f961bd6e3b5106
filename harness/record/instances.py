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

    def instance_ids(self, *, page_size: int = 500) -> list[str]:
        """Every workflow instance id daprd knows (``ListInstanceIDs``, all pages)."""
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
