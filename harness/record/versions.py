"""What a workflow history says about the code that ran it: the version name and patches
each turn reported (daprd copies the worker's answer onto the turn's ``workflowStarted``
event), and the stalls daprd recorded (``executionStalled``: the history no longer
matched the code that took it).

Pure reading of protobuf ``HistoryEvent``s; times are epoch seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# StalledReason in the pinned protos.
STALL_REASONS = {0: "patch mismatch", 1: "version not available", 2: "payload size exceeded"}


@dataclass(frozen=True)
class Stall:
    """One ``executionStalled`` event: why, daprd's own words, and when."""

    reason: str
    description: str
    at: float

    def describe(self) -> str:
        return f"{self.reason}: {self.description.strip()}"


@dataclass(frozen=True)
class CodePath:
    """The code an instance ran: ``version`` (the name of its first versioned turn, ""
    when the workflow is not versioned) and ``patches`` (every patch its turns reported,
    in order, each once). ``first_turn``: when its first turn started (None: no turn)."""

    version: str
    patches: tuple[str, ...]
    first_turn: float | None
    versions: tuple[str, ...] = ()  # every version name its turns reported, in order

    @property
    def marked(self) -> bool:
        """Whether the history tells this path apart at all (a version or a patch)."""
        return bool(self.version or self.patches)

    def describe(self) -> str:
        parts = [f"version {self.version}" if self.version else "unversioned"]
        parts.append(f"patches {', '.join(self.patches)}" if self.patches else "no patch")
        return ", ".join(parts)


def _seconds(event: Any) -> float:
    return float(event.timestamp.seconds) + float(event.timestamp.nanos) / 1e9


def code_path(events: Sequence[Any]) -> CodePath:
    """The :class:`CodePath` of a history."""
    names: list[str] = []
    patches: list[str] = []
    first: float | None = None
    for event in events:
        if event.WhichOneof("eventType") != "workflowStarted":
            continue
        if first is None:
            first = _seconds(event)
        started = event.workflowStarted
        if started.HasField("version"):
            if started.version.name and str(started.version.name) not in names:
                names.append(str(started.version.name))
            for patch in started.version.patches:
                if patch not in patches:
                    patches.append(str(patch))
    return CodePath(names[0] if names else "", tuple(patches), first, tuple(names))


def stalls(events: Sequence[Any]) -> list[Stall]:
    """Every ``executionStalled`` event of a history, oldest first."""
    found = []
    for event in events:
        if event.WhichOneof("eventType") == "executionStalled":
            stalled = event.executionStalled
            reason = STALL_REASONS.get(int(stalled.reason), f"reason {stalled.reason}")
            found.append(Stall(reason, str(stalled.description), _seconds(event)))
    return found
