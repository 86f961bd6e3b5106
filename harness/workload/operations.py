"""The load workload's operation log: what was attempted and what was observed, per order.

One JSON object per line, written with a single ``write(2)`` on an ``O_APPEND`` file
descriptor, so lines from several Locust processes (distributed workers) never
interleave. ``t`` is wall-clock seconds (float), to line up with the fault timeline.

``{"op": "start", "t"}``                        the load began (one per Locust process)
``{"op": "submit", "t", "id", "input", "workflow", "order"?}``  a start is about to be
                                                  sent: the instance's input (for an
                                                  order, ``order`` too: the POST body)
``{"op": "accepted", "t", "id"}``                 202
``{"op": "refused", "t", "id", "why"}``           a definite no (4xx/5xx, connection refused)
``{"op": "unanswered", "t", "id", "why"}``        no answer: the order may or may not exist
``{"op": "done", "t", "id", "latency_ms", "status", "result"}``  seen terminal; latency
                                                  from just before the POST until then
``{"op": "gave_up", "t", "id", "waited_s"}``      not terminal within the user's patience
``{"op": "http_error", "t", "request", "kind"}``  any failed HTTP request

Jepsen's invoke / ok / fail / info: a ``submit`` without an outcome (the user was stopped
mid-request) counts as unanswered.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.record.history import Attempt, Outcome
from harness.workload.order_api import Order


class OperationWriter:
    """Appends operations to ``path``; does nothing when ``path`` is None."""

    def __init__(self, path: Path | None) -> None:
        self._fd: int | None = None
        if path is not None:
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def write(self, op: str, **fields: Any) -> None:
        if self._fd is None:
            return
        record = {"op": op, "t": fields.pop("t", None) or time.time(), **fields}
        os.write(self._fd, (json.dumps(record, separators=(",", ":")) + "\n").encode())

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def read_operations(path: Path, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Complete lines appended after ``offset`` bytes, and the offset after the last one
    (a line still being written is left for the next call)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            data = handle.read()
    except FileNotFoundError:
        return [], offset
    end = data.rfind(b"\n") + 1
    records = [json.loads(line) for line in data[:end].splitlines() if line.strip()]
    return records, offset + end


@dataclass(frozen=True)
class Completion:
    """One order seen terminal: ``t`` wall-clock seconds, ``latency_ms`` end to end."""

    order_id: str
    t: float
    latency_ms: float
    status: str
    result: str | None


@dataclass
class Operations:
    """Everything the workload recorded, by order id."""

    start: float | None = None
    orders: dict[str, Order] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    workflows: dict[str, str] = field(default_factory=dict)
    accepted: dict[str, float] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)
    unanswered: dict[str, str] = field(default_factory=dict)
    done: dict[str, Completion] = field(default_factory=dict)
    gave_up: dict[str, float] = field(default_factory=dict)
    http_errors: list[tuple[float, str, str]] = field(default_factory=list)

    @classmethod
    def read(cls, path: Path) -> Operations:
        ops = cls()
        ops.add(read_operations(path)[0])
        return ops

    def add(self, records: list[dict[str, Any]]) -> None:
        for rec in records:
            op, t = rec["op"], float(rec["t"])
            if op == "start":
                self.start = t if self.start is None else min(self.start, t)
            elif op == "submit":
                o = rec.get("order")
                if o is not None:
                    self.orders[rec["id"]] = Order(
                        rec["id"], o["customerId"], o["productId"], o["quantity"], o["totalAmount"]
                    )
                self.inputs[rec["id"]] = rec.get("input", o)
                if rec.get("workflow"):
                    self.workflows[rec["id"]] = str(rec["workflow"])
            elif op == "accepted":
                self.accepted[rec["id"]] = t
            elif op == "refused":
                self.refused[rec["id"]] = rec.get("why", "")
            elif op == "unanswered":
                self.unanswered[rec["id"]] = rec.get("why", "")
            elif op == "done":
                self.done[rec["id"]] = Completion(
                    rec["id"], t, float(rec["latency_ms"]), rec["status"], rec.get("result")
                )
            elif op == "gave_up":
                self.gave_up[rec["id"]] = t
            elif op == "http_error":
                self.http_errors.append((t, rec["request"], rec["kind"]))

    def attempts(self) -> list[Attempt]:
        """Every start of the log as an attempt with its Jepsen outcome."""
        out = []
        for instance_id, value in self.inputs.items():
            workflow = self.workflows.get(instance_id)
            if instance_id in self.accepted:
                out.append(Attempt(instance_id, Outcome.OK, value, workflow))
            elif instance_id in self.refused:
                why = self.refused[instance_id]
                out.append(Attempt(instance_id, Outcome.FAIL, value, workflow, why))
            else:
                why = self.uncertain.get(instance_id, "no answer")
                out.append(Attempt(instance_id, Outcome.INFO, value, workflow, why))
        return out

    @property
    def uncertain(self) -> dict[str, str]:
        """Orders with no definite answer: unanswered, or the user stopped mid-POST."""
        answered = self.accepted.keys() | self.refused.keys()
        stopped = {
            oid: "the load stopped before the start was answered"
            for oid in self.inputs
            if oid not in answered and oid not in self.unanswered
        }
        return {**self.unanswered, **stopped}
