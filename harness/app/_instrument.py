"""Automatic instrumentation of a Python workflow app, with no change to its code.

:func:`install` patches the Dapr SDK's ``WorkflowRuntime`` registration methods (public
API) so that every activity registered from then on is wrapped: an invocation record per
execution (unless the app already wraps it with ``recorded_activity``), its scope bound
for :func:`~harness.app.effect` and :func:`~harness.app.idempotency_key`, and two
failpoints named after the activity's registered name: ``<activity>.before`` (the
activity starts) and ``<activity>.after`` (it returned, the result not yet handed back to
daprd). Registered workflow and activity names are kept, so the harness can tell an
unknown workflow name from a typo (see :func:`registered`).

The host (``python -m harness.app.host MODULE:ATTR``) installs it before importing the
app; an app that starts itself gets it from ``DAPR_CHAOS_INSTRUMENT=1`` (the harness puts
``harness/app/_autoinstrument`` on its ``PYTHONPATH``, whose ``sitecustomize`` calls it).
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import threading
from pathlib import Path
from typing import Any

from harness.app._failpoints import failpoint
from harness.app._ledger import RECORDED, invocation, scope_of, scoped

REGISTRY_FILE = "app-registry.json"  # in DAPR_CHAOS_RUN_DIR: what the app registered
# The directory whose sitecustomize instruments an app that starts itself.
AUTOINSTRUMENT_DIR = Path(__file__).resolve().parent / "_autoinstrument"

_lock = threading.Lock()
_installed = False
_workflows: set[str] = set()
_activities: set[str] = set()


def instrument_activity(fn: Any, name: str) -> Any:
    """``fn`` wrapped with the invocation record and the two failpoints of ``name``."""
    recorded = bool(getattr(fn, RECORDED, False))

    def bind(ctx: Any) -> Any:
        scope = scope_of(ctx, name)
        return scoped(scope) if recorded else invocation(scope)

    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def wrapper_async(ctx: Any, *args: Any, **kwargs: Any) -> Any:
            with bind(ctx):
                failpoint(f"{name}.before")
                result = await fn(ctx, *args, **kwargs)
                failpoint(f"{name}.after")
                return result

        return wrapper_async

    @functools.wraps(fn)
    def wrapper(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        with bind(ctx):
            failpoint(f"{name}.before")
            result = fn(ctx, *args, **kwargs)
            failpoint(f"{name}.after")
            return result

    return wrapper


def _name(fn: Any, name: str | None) -> str:
    return name or getattr(fn, "_dapr_alternate_name", None) or fn.__name__


def install() -> None:
    """Patch ``WorkflowRuntime`` (once per process) so registrations are instrumented and
    remembered. Safe to call more than once."""
    global _installed
    with _lock:
        if _installed:
            return
        from dapr.ext.workflow import WorkflowRuntime

        register_activity = WorkflowRuntime.register_activity
        register_workflow = WorkflowRuntime.register_workflow
        register_versioned = WorkflowRuntime.register_versioned_workflow

        def activity(self: Any, fn: Any, *, name: str | None = None) -> Any:
            effective = _name(fn, name)
            _activities.add(effective)
            wrapped = instrument_activity(fn, effective)
            # The SDK marks the function it registered: mark the original too, so a second
            # registration of it fails as it would without the harness.
            result = register_activity(self, wrapped, name=name)
            for attr in ("_dapr_alternate_name", "_activity_registered"):
                if attr in wrapped.__dict__:
                    fn.__dict__[attr] = wrapped.__dict__[attr]
            return result

        def workflow(self: Any, fn: Any, *, name: str | None = None) -> Any:
            _workflows.add(_name(fn, name))
            return register_workflow(self, fn, name=name)

        def versioned(self: Any, fn: Any, **kwargs: Any) -> Any:
            _workflows.add(str(kwargs.get("name") or fn.__name__))
            return register_versioned(self, fn, **kwargs)

        WorkflowRuntime.register_activity = activity  # type: ignore[method-assign]
        WorkflowRuntime.register_workflow = workflow  # type: ignore[method-assign]
        WorkflowRuntime.register_versioned_workflow = versioned  # type: ignore[method-assign]
        _installed = True


def registered() -> dict[str, list[str]]:
    """The workflow and activity names registered since :func:`install`."""
    return {"workflows": sorted(_workflows), "activities": sorted(_activities)}


def write_registry() -> Path | None:
    """Write :func:`registered` to ``$DAPR_CHAOS_RUN_DIR/app-registry.json`` (atomically),
    for the harness to read; None outside the harness."""
    run_dir = os.environ.get("DAPR_CHAOS_RUN_DIR")
    if not run_dir:
        return None
    path = Path(run_dir) / REGISTRY_FILE
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(registered()))
    tmp.replace(path)
    return path


def install_for_self_started_app() -> None:
    """:func:`install`, and write the registry when the app starts its runtime (by then
    it has registered everything)."""
    install()
    from dapr.ext.workflow import WorkflowRuntime

    start = WorkflowRuntime.start

    def start_and_tell(self: Any) -> Any:
        write_registry()
        return start(self)  # type: ignore[no-untyped-call]

    WorkflowRuntime.start = start_and_tell  # type: ignore[method-assign]
