"""The ledger's records, defined once for the app that writes them and the harness that
reads them.

A record is one JSON object on one line of the ledger (see ``PROTOCOL.md`` beside this
module for the wire format any language can write). ``to_json`` gives exactly the object
the app appends; ``from_json`` reads one back, tolerating the optional fields an older or
foreign writer leaves out. ``ts`` is wall-clock seconds (float), ``pid`` the writing
process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class Invocation:
    """One execution of an activity (at-least-once: several per scheduled call is
    allowed). Written when the activity starts."""

    activity: str
    workflow_id: str
    task_execution_id: str
    task_id: int
    ts: float
    pid: int

    TYPE: ClassVar[str] = "invocation"

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.TYPE,
            "ts": self.ts,
            "pid": self.pid,
            "activity": self.activity,
            "workflow_id": self.workflow_id,
            "task_execution_id": self.task_execution_id,
            "task_id": self.task_id,
        }

    @classmethod
    def from_json(cls, rec: dict[str, Any]) -> Invocation:
        return cls(
            rec["activity"],
            rec.get("workflow_id") or "",
            rec["task_execution_id"],
            rec.get("task_id", -1),
            rec["ts"],
            rec["pid"],
        )


@dataclass(frozen=True)
class InvocationEnd:
    """The end of one execution: it returned (``outcome`` "ok") or raised ("error"). A
    process that dies inside the activity writes none: the invocation's effect is then
    unknown (Jepsen's "info")."""

    activity: str
    workflow_id: str
    task_execution_id: str
    outcome: str
    ts: float
    pid: int

    TYPE: ClassVar[str] = "invocation_end"

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.TYPE,
            "ts": self.ts,
            "pid": self.pid,
            "activity": self.activity,
            "workflow_id": self.workflow_id,
            "task_execution_id": self.task_execution_id,
            "outcome": self.outcome,
        }

    @classmethod
    def from_json(cls, rec: dict[str, Any]) -> InvocationEnd:
        return cls(
            rec["activity"],
            rec.get("workflow_id") or "",
            rec["task_execution_id"],
            rec.get("outcome", "ok"),
            rec["ts"],
            rec["pid"],
        )

    @property
    def call(self) -> tuple[str, str, str, int]:
        """(workflow id, activity, task_execution_id, pid): the invocation it ends."""
        return (self.workflow_id, self.activity, self.task_execution_id, self.pid)


@dataclass(frozen=True)
class Effect:
    """One applied business effect (``kind`` on ``subject``). With ``application`` (an id
    of one application, e.g. ``<idempotency key>#<n>``) records of the same application
    are one effect recorded again; without it every record is a new application."""

    kind: str
    subject: str
    ts: float
    pid: int
    activity: str | None
    workflow_id: str | None
    task_execution_id: str | None
    details: dict[str, Any] = field(default_factory=dict)
    application: str | None = None

    TYPE: ClassVar[str] = "effect"

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.TYPE,
            "ts": self.ts,
            "pid": self.pid,
            "kind": self.kind,
            "subject": self.subject,
            "application": self.application,
            "activity": self.activity,
            "workflow_id": self.workflow_id,
            "task_execution_id": self.task_execution_id,
            "details": self.details,
        }

    @classmethod
    def from_json(cls, rec: dict[str, Any]) -> Effect:
        return cls(
            rec["kind"],
            rec["subject"],
            rec["ts"],
            rec["pid"],
            rec.get("activity"),
            rec.get("workflow_id"),
            rec.get("task_execution_id"),
            rec.get("details") or {},
            rec.get("application"),
        )


@dataclass(frozen=True)
class FailpointHit:
    """One hit of an armed failpoint; ``fired`` says whether its action ran. Written
    before the action, so a crash is on record."""

    name: str
    hit: int
    fired: bool
    action: str | None
    ts: float
    pid: int
    workflow_id: str | None
    activity: str | None
    task_execution_id: str | None = None

    TYPE: ClassVar[str] = "failpoint"

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.TYPE,
            "ts": self.ts,
            "pid": self.pid,
            "name": self.name,
            "hit": self.hit,
            "fired": self.fired,
            "action": self.action,
            "workflow_id": self.workflow_id,
            "activity": self.activity,
            "task_execution_id": self.task_execution_id,
        }

    @classmethod
    def from_json(cls, rec: dict[str, Any]) -> FailpointHit:
        return cls(
            rec["name"],
            rec["hit"],
            bool(rec["fired"]),
            rec.get("action"),
            rec["ts"],
            rec["pid"],
            rec.get("workflow_id"),
            rec.get("activity"),
            rec.get("task_execution_id"),
        )
