"""Conformance driver for the Python reference (``harness.app``); see ../README.md.

The activity scope comes from ``recorded_activity``, as in a real app: each
``invocation`` operation calls a recorded function that runs the following operations
until its ``end``.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

from harness.app import FailpointError, effect, failpoint, recorded_activity


class EndWithError(Exception):
    """``end`` with outcome ``error``: the activity raises, as a failed one would."""


def say(line: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


def hit(name: str) -> None:
    started = time.monotonic()
    error: str | None = None
    try:
        failpoint(name)
    except FailpointError as exc:
        error = str(exc)
    say({"name": name, "error": error, "elapsed": time.monotonic() - started})


def run(ops: Iterator[dict[str, Any]], *, inside: bool) -> None:
    """Execute operations; inside an invocation, return at its ``end``."""
    for op in ops:
        kind = op["op"]
        if kind == "invocation":
            invoke(op, ops)
        elif kind == "end":
            if not inside:
                raise SystemExit("driver: 'end' without an open invocation")
            if op["outcome"] == "error":
                raise EndWithError
            return
        elif kind == "effect":
            effect(op["kind"], op["subject"], application=op.get("application"), **op["details"])
        elif kind == "failpoint":
            hit(op["name"])
        else:
            raise SystemExit(f"driver: unknown operation {kind!r}")
    if inside:
        raise SystemExit("driver: script ended inside an invocation")


def invoke(op: dict[str, Any], ops: Iterator[dict[str, Any]]) -> None:
    def body(ctx: object, _input: object) -> None:
        run(ops, inside=True)

    body.__name__ = op["activity"]
    inner = SimpleNamespace(task_execution_id=op["task_execution_id"])
    ctx = SimpleNamespace(
        workflow_id=op["workflow_id"], task_id=op["task_id"], get_inner_context=lambda: inner
    )
    with contextlib.suppress(EndWithError):
        recorded_activity(body)(ctx, None)


def main() -> None:
    run((json.loads(line) for line in sys.stdin if line.strip()), inside=False)


if __name__ == "__main__":
    main()
