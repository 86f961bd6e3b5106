"""daprd's workflow API over gRPC (``TaskHubSidecarService`` on daprd's gRPC port), with
the run's API token: start an instance, read it, raise an event, terminate it.

Inputs and outputs travel as JSON text, as every Dapr SDK serializes them. A call that
could not reach daprd (connection refused: the start never left), or that daprd refused
before creating anything (no workflow worker is registered: "failed to create workflow
instance"), raises :class:`~harness.errors.NotDelivered`; any other failure
:class:`~harness.errors.WorkloadError` (for a start: its outcome is unknown). Timeouts
are seconds.
"""

from __future__ import annotations

import json
from typing import Any

import grpc
from dapr.ext.workflow._durabletask.internal import orchestration_pb2 as orchestration
from dapr.ext.workflow._durabletask.internal import orchestrator_service_pb2 as pb
from dapr.ext.workflow._durabletask.internal import orchestrator_service_pb2_grpc as stubs
from google.protobuf.wrappers_pb2 import StringValue

from harness.errors import NotDelivered, WorkloadError
from harness.record.history import InstanceStatus
from harness.record.instances import epoch_seconds

_STATUS_PREFIX = "ORCHESTRATION_STATUS_"


def _json_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _wrapped(message: Any, field: str) -> Any:
    """A StringValue field, decoded from JSON (None when unset)."""
    return _json_value(getattr(message, field).value) if message.HasField(field) else None


def encode(value: Any, what: str) -> StringValue | None:
    """``value`` as the JSON a workflow receives (None: no input); WorkloadError naming
    ``what`` when it does not serialize."""
    if value is None:
        return None
    try:
        return StringValue(value=json.dumps(value))
    except (TypeError, ValueError) as exc:
        raise WorkloadError(f"{what} does not serialize to JSON: {exc}") from None


def status_of(state: Any) -> InstanceStatus:
    """An :class:`InstanceStatus` from daprd's ``WorkflowState``."""
    name = orchestration.OrchestrationStatus.Name(state.workflowStatus)
    failure = None
    if state.HasField("failureDetails"):
        details = state.failureDetails
        failure = {"type": details.errorType, "message": details.errorMessage}
    return InstanceStatus(
        instance_id=state.instanceId,
        runtime_status=name.removeprefix(_STATUS_PREFIX),
        output=_wrapped(state, "output"),
        failure=failure,
        workflow=state.name or None,
        input=_wrapped(state, "input"),
        custom_status=_wrapped(state, "customStatus"),
        created_at=epoch_seconds(state.createdTimestamp),
        updated_at=epoch_seconds(state.lastUpdatedTimestamp),
    )


class WorkflowAPI:
    """The workflow API of daprd on 127.0.0.1:``port`` (thread-safe; close when done)."""

    def __init__(self, port: int, token: str, *, timeout: float = 10.0) -> None:
        self.port = port
        self._channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self._stub = stubs.TaskHubSidecarServiceStub(self._channel)  # type: ignore[no-untyped-call]
        self._metadata = (("dapr-api-token", token),)
        self.timeout = timeout

    def close(self) -> None:
        self._channel.close()

    def _call(self, method: str, request: Any, what: str) -> Any:
        try:
            return getattr(self._stub, method)(
                request, metadata=self._metadata, timeout=self.timeout
            )
        except grpc.RpcError as exc:
            code = exc.code()
            message = f"{what} on daprd 127.0.0.1:{self.port} failed: {code.name}: {exc.details()}"
            details = str(exc.details()).lower()
            # UNAVAILABLE because no connection could be made: the call never left.
            unreachable = code is grpc.StatusCode.UNAVAILABLE and (
                "connection refused" in details or "failed to connect" in details
            )
            # daprd refuses to create an instance, or to raise an event on one, while no
            # worker hosts the workflow actor types (the app is down or restarting):
            # nothing was created or delivered. Measured on daprd 1.18.3: a raise while
            # the app is down answers FAILED_PRECONDITION "failed to lookup actor ... did
            # not find address for actor" after 5-15 s, or UNKNOWN "failed to create
            # actor: actor type ... not registered".
            not_created = (
                "failed to create workflow instance" in details
                or "did not find address for actor" in details
                or ("failed to create actor" in details and "not registered" in details)
            )
            if unreachable or not_created:
                raise NotDelivered(message) from exc
            raise WorkloadError(message) from exc

    def start(self, workflow: str, instance_id: str, input: Any = None) -> str:
        """Schedule a new instance of ``workflow`` named ``instance_id``; returns its id."""
        data = encode(input, f"the input of {instance_id}")
        request = pb.CreateInstanceRequest(instanceId=instance_id, name=workflow, input=data)
        response = self._call("StartInstance", request, f"starting {workflow} {instance_id}")
        return str(response.instanceId or instance_id)

    def status(self, instance_id: str) -> InstanceStatus | None:
        """The instance's state with its input and output, or None when it does not exist."""
        request = pb.GetInstanceRequest(instanceId=instance_id, getInputsAndOutputs=True)
        response = self._call("GetInstance", request, f"reading {instance_id}")
        if not response.exists:
            return None
        return status_of(response.workflowState)

    def raise_event(self, instance_id: str, name: str, data: Any = None) -> None:
        """Deliver external event ``name`` (with JSON ``data``) to the instance."""
        request = pb.RaiseEventRequest(
            instanceId=instance_id, name=name, input=encode(data, f"the data of event {name}")
        )
        self._call("RaiseEvent", request, f"raising {name} on {instance_id}")

    def terminate(self, instance_id: str, output: Any = None, *, recursive: bool = True) -> None:
        """Terminate the instance (and its children when ``recursive``)."""
        request = pb.TerminateRequest(
            instanceId=instance_id,
            output=encode(output, "the termination output"),
            recursive=recursive,
        )
        self._call("TerminateInstance", request, f"terminating {instance_id}")
