"""The ONE module that touches the Dapr SDK's private workflow API.

The strict replayer needs what the SDK keeps private: the workflow registry inside a
``WorkflowRuntime``, the orchestration executor that replays a history into the user's
workflow function, and the shape of the actions it returns. Those moved between SDK
releases before, so the SDK is pinned (pyproject.toml) and ``tests/unit/test_replay_canary.py``
fails loudly, naming what moved, when they change. Everything else in
:mod:`harness.replay` works on :class:`~harness.replay.steps.Step` and plain events.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from dapr.ext.workflow import WorkflowRuntime
from dapr.ext.workflow._durabletask import worker as _worker
from dapr.ext.workflow._durabletask.internal import history_events_pb2 as _events
from dapr.ext.workflow._durabletask.internal import orchestration_pb2 as _orchestration

from harness.errors import ConfigError, HarnessError
from harness.replay.steps import ACTIVITY, CHILD, COMPLETE, EVENT, TIMER, VERSION_MISSING, Step

# The dapr-ext-workflow release whose private API this module was written against.
SDK_VERSION = "1.18.3"

# History events that record what the workflow code decided in a turn (its actions).
# Everything else in a turn is an input the sidecar handed to the code.
DECISIONS = frozenset(
    {
        "taskScheduled",
        "timerCreated",
        "childWorkflowInstanceCreated",
        "eventSent",
        "executionCompleted",
        "detachedWorkflowInstanceCreated",
    }
)
TURN_START = "workflowStarted"

# The executor logs every turn at INFO; replaying thousands of histories must stay quiet.
_sdk_log = logging.getLogger("harness.replay.sdk")
_sdk_log.setLevel(logging.WARNING)
_sdk_log.propagate = False
_sdk_log.addHandler(logging.NullHandler())


def check_sdk_version() -> None:
    """HarnessError unless the installed dapr-ext-workflow is the pinned one."""
    try:
        installed = importlib.metadata.version("dapr-ext-workflow")
    except importlib.metadata.PackageNotFoundError:
        raise HarnessError(
            "dapr-ext-workflow is not installed; the replayer needs version " + SDK_VERSION
        ) from None
    if installed != SDK_VERSION:
        raise HarnessError(
            f"dapr-ext-workflow {installed} is installed but the replayer is built on the "
            f"private executor API of {SDK_VERSION}; install dapr-ext-workflow=={SDK_VERSION}"
        )


def _registry_of(runtime: WorkflowRuntime) -> Any:
    worker = getattr(runtime, "_WorkflowRuntime__worker", None)
    registry = getattr(worker, "_registry", None)
    if registry is None:
        raise HarnessError(
            "cannot reach the workflow registry inside WorkflowRuntime: the Dapr SDK's "
            f"internals moved (built for dapr-ext-workflow {SDK_VERSION})"
        )
    return registry


class Workflows:
    """The workflow code to replay against: a registry of workflows by name.

    Built from a ``WorkflowRuntime`` the user's module registered its workflows on, or
    from plain workflow functions (looked up by the name histories carry).
    """

    def __init__(self, runtime: WorkflowRuntime, lookup: Callable[[str], Any] | None = None):
        check_sdk_version()
        self._runtime = runtime
        self._registry = _registry_of(runtime)
        self._lookup = lookup

    @classmethod
    def from_runtime(cls, runtime: WorkflowRuntime) -> Workflows:
        return cls(runtime)

    @classmethod
    def from_functions(cls, functions: Iterable[Callable[..., Any]]) -> Workflows:
        """Workflows from functions, each under its registered name (``name=`` of
        ``@workflow``/``register_workflow``) or its ``__name__``."""
        by_name = {_workflow_name(fn): fn for fn in functions}
        return cls(WorkflowRuntime(), by_name.get)

    @classmethod
    def from_namespace(cls, namespace: object) -> Workflows:
        """Workflow functions found as attributes of ``namespace`` (a module), by name."""

        def lookup(name: str) -> Any:
            for value in vars(namespace).values():
                if callable(value) and _workflow_name(value) == name:
                    return value
            return None

        return cls(WorkflowRuntime(), lookup)

    def names(self) -> set[str]:
        return set(self._registry.orchestrators) | set(self._registry.versioned_orchestrators)

    def has(self, name: str) -> bool:
        """Whether ``name`` is registered (functions are registered on first use)."""
        if name in self.names():
            return True
        fn = self._lookup(name) if self._lookup else None
        if fn is None:
            return False
        self._runtime.register_workflow(_fresh(fn), name=name)
        return True

    def turn(self, instance_id: str, replayed: Sequence[Any], turn: Sequence[Any]) -> list[Step]:
        """What the code schedules in ``turn`` (the inputs of one turn), after replaying
        ``replayed`` (every earlier event, decisions included, without
        ``executionCompleted``). The turn is processed as a replay, as every later turn
        of the sidecar processes it: that is what the code must reproduce."""
        executor = _worker._OrchestrationExecutor(self._registry, _sdk_log)
        # The executor insists on at least one "new" event; a bare turn start changes
        # nothing once the code has run, and keeps the real inputs in replay mode.
        marker = _events.HistoryEvent(eventId=-1, workflowStarted=_events.WorkflowStartedEvent())
        marker.timestamp.CopyFrom(turn[0].timestamp if turn else replayed[-1].timestamp)
        result = executor.execute(instance_id, [*replayed, *turn], [marker])
        return [action_step(action) for action in result.actions]

    def pending_at(
        self, instance_id: str, events: Sequence[Any], cuts: Iterable[int]
    ) -> dict[int, list[Step]]:
        """One executor pass over ``events`` (a whole history without
        ``executionCompleted``), in replay mode as the sidecar's last turn replays it.

        For each index in ``cuts`` below ``len(events)``: the steps the code had asked for
        and the history had not yet matched, just before the executor processed event
        ``index``. Cut at a turn's first decision, that is what the code schedules in
        the turn, without replaying the history once per turn. For ``len(events)``: the
        actions after the whole history (what the last turn produced, completion
        included). A cut the executor never reached (it failed the workflow earlier) is
        absent."""
        executor = _CuttingExecutor(self._registry, _sdk_log)
        executor.cuts = {id(events[i]): i for i in set(cuts) if i < len(events)}
        marker = _events.HistoryEvent(eventId=-1, workflowStarted=_events.WorkflowStartedEvent())
        if events:
            marker.timestamp.CopyFrom(events[-1].timestamp)
        result = executor.execute(instance_id, list(events), [marker])
        seen = executor.seen
        seen[len(events)] = [action_step(action) for action in result.actions]
        return seen


class _CuttingExecutor(_worker._OrchestrationExecutor):
    """The SDK's executor, noting the code's pending actions before chosen events."""

    def __init__(self, registry: Any, logger: logging.Logger) -> None:
        super().__init__(registry, logger)
        self.cuts: dict[int, int] = {}  # id() of an event -> its index in the history
        self.seen: dict[int, list[Step]] = {}

    def process_event(self, ctx: Any, event: Any) -> None:
        index = self.cuts.get(id(event))
        if index is not None:
            self.seen[index] = [action_step(a) for a in ctx._pending_actions.values()]
        super().process_event(ctx, event)


def _workflow_name(fn: Any) -> str:
    alternate = getattr(fn, "_dapr_alternate_name", None)
    return str(alternate or getattr(fn, "__name__", ""))


def _fresh(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A stand-in for ``fn`` that the SDK can register even when ``fn`` was already
    registered on another runtime (the SDK marks functions it registered)."""

    def workflow(*args: Any) -> Any:
        return fn(*args)

    workflow.__signature__ = inspect.signature(fn)  # type: ignore[attr-defined]
    workflow.__name__ = getattr(fn, "__name__", "workflow")
    return workflow


_SEQUENCE = re.compile(r"sequence number (\d+)")
NONDETERMINISM = "NonDeterminismError"


def nondeterminism_at(failure: str | None) -> int | None:
    """The sequence id the SDK's own replay check names in a NonDeterminismError
    failure ("... sequence number 3 ..."), or None when ``failure`` is not one."""
    if not failure or not failure.startswith(NONDETERMINISM):
        return None
    found = _SEQUENCE.search(failure)
    return int(found.group(1)) if found else -1


def event_type(event: Any) -> str:
    kind = event.WhichOneof("eventType")
    return str(kind) if kind else "unknown"


def _text(wrapper: Any) -> str | None:
    """A StringValue's text, or None when the field is unset."""
    return str(wrapper.value) if wrapper.ByteSize() else None


def _status(code: int) -> str:
    return str(_orchestration.OrchestrationStatus.Name(code)).replace("ORCHESTRATION_STATUS_", "")


def _failure(details: Any) -> str | None:
    if not details.errorType and not details.errorMessage:
        return None
    return f"{details.errorType}: {details.errorMessage}"


def action_step(action: Any) -> Step:
    """The step an SDK ``WorkflowAction`` asks for."""
    kind = action.WhichOneof("workflowActionType")
    if kind == "scheduleTask":
        a = action.scheduleTask
        return Step(ACTIVITY, action.id, a.name, _text(a.input))
    if kind == "createTimer":
        a = action.createTimer
        return Step(
            TIMER, action.id, a.name, fire_at=a.fireAt.ToJsonString(), origin=a.WhichOneof("origin")
        )
    if kind == "createChildWorkflow":
        a = action.createChildWorkflow
        return Step(CHILD, action.id, a.name, _text(a.input), target=a.instanceId)
    if kind == "sendEvent":
        a = action.sendEvent
        return Step(EVENT, action.id, a.name, _text(a.data), target=a.instance.instanceId)
    if kind == "completeWorkflow":
        a = action.completeWorkflow
        return Step(
            COMPLETE,
            action.id,
            status=_status(a.workflowStatus),
            output=_text(a.result),
            failure=_failure(a.failureDetails),
        )
    if kind == "workflowVersionNotAvailable":
        return Step(VERSION_MISSING, action.id)
    return Step(str(kind), action.id)


def event_step(event: Any, index: int) -> Step:
    """The step a recorded decision event (one of :data:`DECISIONS`) stands for."""
    kind = event_type(event)
    if kind == "taskScheduled":
        e = event.taskScheduled
        return Step(ACTIVITY, event.eventId, e.name, _text(e.input), index=index)
    if kind == "timerCreated":
        e = event.timerCreated
        return Step(
            TIMER,
            event.eventId,
            e.name,
            fire_at=e.fireAt.ToJsonString(),
            origin=e.WhichOneof("origin"),
            index=index,
        )
    if kind == "childWorkflowInstanceCreated":
        e = event.childWorkflowInstanceCreated
        return Step(CHILD, event.eventId, e.name, _text(e.input), target=e.instanceId, index=index)
    if kind == "eventSent":
        e = event.eventSent
        return Step(EVENT, event.eventId, e.name, _text(e.input), target=e.instanceId, index=index)
    if kind == "executionCompleted":
        e = event.executionCompleted
        return Step(
            COMPLETE,
            event.eventId,
            status=_status(e.workflowStatus),
            output=_text(e.result),
            failure=_failure(e.failureDetails),
            index=index,
        )
    return Step(kind, event.eventId, index=index)


def require_known(workflows: Workflows, names: Iterable[str], where: str) -> None:
    """ConfigError naming the workflows a history needs that the code does not have."""
    missing = sorted(n for n in set(names) if not workflows.has(n))
    if missing:
        known = ", ".join(sorted(workflows.names())) or "none"
        raise ConfigError(
            f"{where}: workflow {', '.join(map(repr, missing))} is not registered in the "
            f"given code (registered: {known}); point --workflows at the module that "
            "registers it"
        )
