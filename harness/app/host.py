"""Host a user's workflow code as the app, instrumented, with no change to its code:
``python -m harness.app.host MODULE[:ATTR]``.

``MODULE[:ATTR]`` (a dotted module or a ``.py`` path) names a ``WorkflowRuntime`` the
module registers its workflows and activities on, a module holding exactly one, or a
function that registers them on the runtime it is given (``register(runtime)``). The
host installs the instrumentation first (every activity gets an invocation record and the
failpoints ``<activity>.before`` / ``<activity>.after``), imports the code, writes what
it registered for the harness, starts the runtime and runs until SIGTERM or SIGINT.

It reads what ``dapr run`` (or dapr-chaos) provides: ``DAPR_GRPC_ENDPOINT`` /
``DAPR_GRPC_PORT`` and ``DAPR_API_TOKEN``. Exit status 2 with one line for code that
does not import or holds no runtime. ``--check``: import and register only, print the
registered names as JSON and exit (the harness runs it before starting a stack).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import types
from collections.abc import Sequence
from typing import Any

from harness.app._instrument import install, registered, write_registry
from harness.app._targets import import_target
from harness.errors import ConfigError


def _runtimes(module: types.ModuleType) -> dict[str, Any]:
    from dapr.ext.workflow import WorkflowRuntime

    return {n: v for n, v in vars(module).items() if isinstance(v, WorkflowRuntime)}


def resolve_runtime(spec: str) -> Any:
    """The WorkflowRuntime ``spec`` names (see the module docstring); ConfigError when
    it names none."""
    from dapr.ext.workflow import WorkflowRuntime

    target = import_target(spec)
    if isinstance(target, WorkflowRuntime):
        return target
    if isinstance(target, types.ModuleType):
        found = _runtimes(target)
        if len(found) == 1:
            return next(iter(found.values()))
        if found:
            raise ConfigError(
                f"module {target.__name__} has several WorkflowRuntimes "
                f"({', '.join(sorted(found))}); name one as MODULE:ATTR"
            )
        raise ConfigError(
            f"module {target.__name__} holds no WorkflowRuntime; name the runtime as "
            "MODULE:ATTR, or a function that registers the workflows on a runtime"
        )
    if callable(target):
        host, port = _address()
        runtime = WorkflowRuntime(host=host, port=port)
        try:
            target(runtime)
        except Exception as exc:  # the user's function: any failure is bad input
            raise ConfigError(
                f"{spec} is not a WorkflowRuntime, and calling it with one to register the "
                f"workflows failed: {type(exc).__name__}: {exc}"
            ) from exc
        return runtime
    raise ConfigError(
        f"{spec} is a {type(target).__name__}, not a WorkflowRuntime, a module or a "
        "function that registers workflows"
    )


def _address() -> tuple[str, str]:
    endpoint = os.environ.get("DAPR_GRPC_ENDPOINT") or (
        f"127.0.0.1:{os.environ.get('DAPR_GRPC_PORT', '50001')}"
    )
    host, _, port = endpoint.rpartition(":")
    return host or "127.0.0.1", port


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    check = bool(args) and args[0] == "--check"
    if check:
        args = args[1:]
    if len(args) != 1:
        print("usage: python -m harness.app.host [--check] MODULE[:ATTR]", file=sys.stderr)
        return 2
    install()  # before the app's code registers anything
    try:
        runtime = resolve_runtime(args[0])
    except ConfigError as exc:
        print(f"dapr-chaos host: error: {exc}", file=sys.stderr)
        return 2
    names = registered()
    if not names["workflows"]:
        print(f"dapr-chaos host: error: {args[0]} registers no workflow", file=sys.stderr)
        return 2
    if check:  # a dry run before any stack starts: it imports and registers, that is all
        print(json.dumps(names))
        return 0
    write_registry()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    runtime.start()
    print(
        f"dapr-chaos host: {args[0]}: workflows {', '.join(names['workflows'])}; "
        f"activities {', '.join(names['activities']) or 'none'}",
        flush=True,
    )
    try:
        stop.wait()
    finally:
        runtime.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
