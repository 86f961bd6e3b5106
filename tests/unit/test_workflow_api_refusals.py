"""Which daprd answers mean "nothing was created or delivered" (NotDelivered: safe to send
again) and which leave the outcome unknown (WorkloadError), from the error texts daprd
1.18.3 gave here (no daprd: a stub raises them)."""

from __future__ import annotations

from types import SimpleNamespace

import grpc
import pytest

from harness.errors import NotDelivered, WorkloadError
from harness.workload.workflow_api import WorkflowAPI


class Refusal(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


def api_answering(error: Refusal) -> WorkflowAPI:
    def fail(*_args: object, **_kwargs: object) -> None:
        raise error

    api = WorkflowAPI(1, "token")  # the channel connects lazily: nothing is dialled
    api._stub = SimpleNamespace(RaiseEvent=fail)  # type: ignore[assignment]
    return api


NOT_DELIVERED = [
    (grpc.StatusCode.UNAVAILABLE, "failed to connect to all addresses; connection refused"),
    (
        grpc.StatusCode.FAILED_PRECONDITION,
        "failed to lookup actor: api error: code = FailedPrecondition desc = did not find "
        "address for actor",
    ),
    (
        grpc.StatusCode.UNKNOWN,
        "failed to create actor: actor type dapr.internal.default.app.workflow not registered",
    ),
]
UNKNOWN = [
    (grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded"),
    (grpc.StatusCode.UNKNOWN, "failed to create actor: context canceled"),
    (grpc.StatusCode.INTERNAL, "error saving state"),
]


@pytest.mark.parametrize(("code", "details"), NOT_DELIVERED)
def test_a_raise_no_worker_could_take_is_not_delivered(code: grpc.StatusCode, details: str) -> None:
    api = api_answering(Refusal(code, details))
    try:
        with pytest.raises(NotDelivered):
            api.raise_event("i-1", "go")
    finally:
        api.close()


@pytest.mark.parametrize(("code", "details"), UNKNOWN)
def test_other_failures_leave_the_outcome_unknown(code: grpc.StatusCode, details: str) -> None:
    api = api_answering(Refusal(code, details))
    try:
        with pytest.raises(WorkloadError) as raised:
            api.raise_event("i-1", "go")
        assert not isinstance(raised.value, NotDelivered)
    finally:
        api.close()
