"""Canary for the Dapr SDK internals the replayer stands on (harness/replay/adapter.py).

These are private API of dapr-ext-workflow. If a test here fails after an SDK upgrade,
the replayer must be ported before the pin in pyproject.toml moves: each assertion names
the internal it needs.
"""

from __future__ import annotations

import importlib.metadata
import inspect
from typing import Any

import dapr.ext.workflow as wf
from dapr.ext.workflow._durabletask import worker
from dapr.ext.workflow._durabletask.internal import history_events_pb2 as events
from dapr.ext.workflow._durabletask.internal import orchestrator_actions_pb2 as actions
from google.protobuf import timestamp_pb2

from harness.replay import adapter
from harness.replay.steps import ACTIVITY, COMPLETE


def test_the_installed_sdk_is_the_pinned_one() -> None:
    assert importlib.metadata.version("dapr-ext-workflow") == adapter.SDK_VERSION
    assert importlib.metadata.version("dapr") == adapter.SDK_VERSION
    adapter.check_sdk_version()


def test_the_executor_keeps_its_signature() -> None:
    params = list(inspect.signature(worker._OrchestrationExecutor.__init__).parameters)
    assert params[:3] == ["self", "registry", "logger"], "_OrchestrationExecutor(registry, logger)"
    params = list(inspect.signature(worker._OrchestrationExecutor.execute).parameters)
    assert params[:4] == ["self", "instance_id", "old_events", "new_events"]
    assert hasattr(worker.ExecutionResults, "__init__")


def test_the_runtime_keeps_its_registry_where_the_adapter_looks() -> None:
    runtime = wf.WorkflowRuntime()
    registry = runtime._WorkflowRuntime__worker._registry  # type: ignore[attr-defined]
    assert isinstance(registry.orchestrators, dict)
    assert isinstance(registry.versioned_orchestrators, dict)


def test_history_events_and_actions_keep_their_shape() -> None:
    kinds = {f.name for f in events.HistoryEvent.DESCRIPTOR.oneofs_by_name["eventType"].fields}
    assert adapter.DECISIONS | {adapter.TURN_START, "executionStarted", "taskCompleted"} <= kinds
    action_kinds = {
        f.name
        for f in actions.WorkflowAction.DESCRIPTOR.oneofs_by_name["workflowActionType"].fields
    }
    assert {
        "scheduleTask",
        "createTimer",
        "createChildWorkflow",
        "sendEvent",
        "completeWorkflow",
        "workflowVersionNotAvailable",
    } <= action_kinds
    assert "origin" in actions.CreateTimerAction.DESCRIPTOR.oneofs_by_name


def _event(seconds: int, **body: Any) -> Any:
    event = events.HistoryEvent(eventId=body.pop("eventId", -1), **body)
    event.timestamp.CopyFrom(timestamp_pb2.Timestamp(seconds=seconds))
    return event


def greet(ctx: Any, name: str) -> Any:
    text = yield ctx.call_activity("greet", input=name)
    return text


def test_the_executor_replays_a_turn_the_way_the_adapter_expects() -> None:
    """Replaying turn 0 yields the scheduled activity; replaying turn 1 (with turn 0's
    decision as history) yields the completion: the behaviour strict replay is built on."""
    code = adapter.Workflows.from_functions([greet])
    assert code.has("greet") and not code.has("nope")
    started = [
        _event(1, workflowStarted=events.WorkflowStartedEvent()),
        _event(1, executionStarted=events.ExecutionStartedEvent(name="greet")),
    ]
    started[1].executionStarted.input.value = '"ann"'
    (step,) = code.turn("i-1", [], started)
    assert (step.kind, step.id, step.name, step.input) == (ACTIVITY, 1, "greet", '"ann"')

    scheduled = _event(1, eventId=1, taskScheduled=events.TaskScheduledEvent(name="greet"))
    scheduled.taskScheduled.input.value = '"ann"'
    second = [
        _event(2, workflowStarted=events.WorkflowStartedEvent()),
        _event(2, taskCompleted=events.TaskCompletedEvent(taskScheduledId=1)),
    ]
    second[1].taskCompleted.result.value = '"hi ann"'
    (done,) = code.turn("i-1", [*started, scheduled], second)
    assert (done.kind, done.status, done.output) == (COMPLETE, "COMPLETED", '"hi ann"')


def test_one_pass_sees_what_the_code_has_pending_before_each_decision() -> None:
    """Strict replay makes one executor pass and reads the context's pending actions
    (``_RuntimeOrchestrationContext._pending_actions``) before the chosen events, through
    an override of ``_OrchestrationExecutor.process_event``."""
    assert "process_event" in vars(worker._OrchestrationExecutor)
    assert isinstance(worker._RuntimeOrchestrationContext("x")._pending_actions, dict)
    code = adapter.Workflows.from_functions([greet])
    assert code.has("greet")
    history = [
        _event(1, workflowStarted=events.WorkflowStartedEvent()),
        _event(1, executionStarted=events.ExecutionStartedEvent(name="greet")),
        _event(1, eventId=1, taskScheduled=events.TaskScheduledEvent(name="greet")),
        _event(2, workflowStarted=events.WorkflowStartedEvent()),
        _event(2, taskCompleted=events.TaskCompletedEvent(taskScheduledId=1)),
    ]
    history[1].executionStarted.input.value = '"ann"'
    history[2].taskScheduled.input.value = '"ann"'
    history[4].taskCompleted.result.value = '"hi ann"'
    seen = code.pending_at("i-2", history, [2, 5])
    (step,) = seen[2]  # before the recorded taskScheduled: the code's own request
    assert (step.kind, step.id, step.name, step.input) == (ACTIVITY, 1, "greet", '"ann"')
    (done,) = seen[5]  # after the whole history: the completion
    assert (done.kind, done.status, done.output) == (COMPLETE, "COMPLETED", '"hi ann"')
