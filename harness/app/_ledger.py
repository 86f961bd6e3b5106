"""Ledger writer used inside the app process.

Each record is one JSON line written with a single ``write(2)`` on an ``O_APPEND`` file
descriptor: records from threads and from successive app processes (restarts) never
interleave, and a record whose write returned survives a SIGKILL of the app (it is in the
kernel's page cache). The records (invocation, invocation end, effect, failpoint hit) are
defined once in :mod:`harness.app._records`, shared with the harness's reader; ``ts`` is
wall-clock seconds (float) so records line up with the harness's timeline.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from harness.app._records import Effect, Invocation, InvocationEnd

LEDGER_ENV = "DAPR_CHAOS_LEDGER"

_fd_lock = threading.Lock()
_fd: int | None = None
_fd_path: str | None = None


@dataclass(frozen=True)
class ActivityScope:
    """The activity execution an effect belongs to."""

    activity: str
    workflow_id: str
    task_execution_id: str
    task_id: int


_scope: contextvars.ContextVar[ActivityScope | None] = contextvars.ContextVar(
    "dapr_chaos_activity_scope", default=None
)


def current_scope() -> ActivityScope | None:
    """The activity being executed on this thread, if it is wrapped by recorded_activity."""
    return _scope.get()


def idempotency_key(step: str | None = None) -> str:
    """``<workflow instance id>:<step>`` for the current activity; ``step`` defaults to the
    activity's name (right when a workflow calls each activity once; pass a step name the
    workflow hands over in the input when it calls one activity several times).

    Why not the activity's ``task_execution_id``: it survives RetryPolicy retries and
    crash re-dispatch, but not a daprd crash mid-turn. The replayed turn schedules the
    activity again under a new task_execution_id while the first dispatch still runs
    (seen with dapr 1.18.3 / durabletask-go 0.12.1), so a key built on it lets both
    executions apply the effect. The instance id plus a deterministic step does not.
    """
    scope = _scope.get()
    if scope is None:
        raise RuntimeError(
            "idempotency_key() called outside an activity wrapped by @recorded_activity"
        )
    return f"{scope.workflow_id}:{step or scope.activity}"


def task_execution_key() -> str:
    """``<workflow instance id>:<task_execution_id>``: the key the Dapr runtime notes
    recommend. Kept to show what the harness finds with it; prefer :func:`idempotency_key`.
    """
    scope = _scope.get()
    if scope is None:
        raise RuntimeError(
            "task_execution_key() called outside an activity wrapped by @recorded_activity"
        )
    return f"{scope.workflow_id}:{scope.task_execution_id}"


def _ledger_fd() -> int | None:
    global _fd, _fd_path
    path = os.environ.get(LEDGER_ENV)
    if not path:
        return None
    if _fd is not None and _fd_path == path:
        return _fd
    with _fd_lock:
        if _fd is None or _fd_path != path:
            _fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            _fd_path = path
        return _fd


class _Record(Protocol):
    def to_json(self) -> dict[str, Any]: ...


def recording() -> bool:
    """Whether this process writes a ledger (it runs under dapr-chaos)."""
    return _ledger_fd() is not None


def append_record(record: _Record) -> None:
    """Append one record (one of :mod:`harness.app._records`) to the ledger; a no-op
    outside the harness."""
    fd = _ledger_fd()
    if fd is None:
        return
    line = (json.dumps(record.to_json(), separators=(",", ":"), default=str) + "\n").encode()
    written = os.write(fd, line)
    if written != len(line):  # regular files do not short-write; be loud if one does
        raise OSError(f"short write to the dapr-chaos ledger ({written}/{len(line)} bytes)")


def effect(kind: str, subject: str, *, application: str | None = None, **details: Any) -> None:
    """Record that one business effect was applied, e.g. ``effect("payment.charged",
    order_id, amount=12.5)``, right after it is committed.

    Without ``application``, every call counts as one application: a second call for the
    same (kind, subject) is what exactly-once checks flag as a duplicate. With it (an id
    of this application, e.g. ``f"{idempotency_key()}#{n}"`` from your store), calls with
    the same id are one application recorded again. Use that to record on every
    execution, so a crash between commit and record cannot lose the record.
    """
    if not recording():
        return
    scope = _scope.get()
    append_record(
        Effect(
            kind,
            subject,
            time.time(),
            os.getpid(),
            scope.activity if scope else None,
            scope.workflow_id if scope else None,
            scope.task_execution_id if scope else None,
            details,
            application,
        )
    )


F = TypeVar("F", bound=Callable[..., Any])

# Set on functions wrapped by recorded_activity: instrumentation must not record twice.
RECORDED = "_dapr_chaos_recorded"


def scope_of(ctx: Any, activity: str) -> ActivityScope:
    """The scope of one execution of ``activity``, from its WorkflowActivityContext."""
    inner = ctx.get_inner_context() if hasattr(ctx, "get_inner_context") else ctx
    return ActivityScope(
        activity=activity,
        workflow_id=str(ctx.workflow_id),
        task_execution_id=str(getattr(inner, "task_execution_id", "") or ""),
        task_id=int(getattr(ctx, "task_id", -1)),
    )


@contextlib.contextmanager
def scoped(scope: ActivityScope) -> Iterator[None]:
    """Bind ``scope`` (what :func:`effect` and :func:`idempotency_key` use), no records."""
    token = _scope.set(scope)
    try:
        yield
    finally:
        _scope.reset(token)


@contextlib.contextmanager
def invocation(scope: ActivityScope) -> Iterator[None]:
    """One recorded execution: an invocation record, the scope bound, and an end record
    ("ok" or "error") when the body returns or raises."""
    record = recording()
    if record:
        append_record(
            Invocation(
                scope.activity,
                scope.workflow_id,
                scope.task_execution_id,
                scope.task_id,
                time.time(),
                os.getpid(),
            )
        )
    outcome = "error"
    try:
        with scoped(scope):
            yield
        outcome = "ok"
    finally:
        # A crash never gets here: an invocation without an end record is "info"
        # (outcome unknown), which is how checks tell a crash from a clean return.
        if record:
            append_record(
                InvocationEnd(
                    scope.activity,
                    scope.workflow_id,
                    scope.task_execution_id,
                    outcome,
                    time.time(),
                    os.getpid(),
                )
            )


def recorded_activity(fn: F) -> F:
    """Wrap an activity ``fn(ctx, input)``: record each invocation and bind the scope that
    :func:`effect` and :func:`idempotency_key` use. Put it under ``@wfr.activity``."""
    name = getattr(fn, "__name__", "activity")

    @functools.wraps(fn)
    def wrapper(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        with invocation(scope_of(ctx, name)):
            return fn(ctx, *args, **kwargs)

    setattr(wrapper, RECORDED, True)
    return wrapper  # type: ignore[return-value]
