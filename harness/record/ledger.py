"""Read the ledger the app writes (see :mod:`harness.app`): effects and invocations.

The ledger is append-only JSON lines. A torn last line (impossible with single-write
records, but cheap to tolerate) is skipped and counted in ``torn``. Effect records that
carry an ``application`` id are counted once per (kind, subject, application): the app may
record an application again (after a crash between commit and record); only a new
application is a new effect.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.app._records import Effect, FailpointHit, Invocation, InvocationEnd

__all__ = ["Effect", "FailpointFollower", "FailpointHit", "Invocation", "Ledger"]


def _matches(rec: dict[str, Any], prefix: str) -> bool:
    wf = rec.get("workflow_id") or ""
    return not prefix or wf.startswith(prefix) or str(rec.get("subject", "")).startswith(prefix)


class FailpointFollower:
    """Failpoint hits appended to the ledger since this follower was made.

    Polled every few milliseconds while a test waits for a hit: it reads only the bytes
    added since the last call, not the whole (session-long) ledger again.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size if path.exists() else 0
        self._hits: list[tuple[FailpointHit, dict[str, Any]]] = []

    def hits(self, prefix: str = "") -> list[FailpointHit]:
        self._read_new()
        return [hit for hit, rec in self._hits if _matches(rec, prefix)]

    def _read_new(self) -> None:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                data = handle.read()
        except FileNotFoundError:
            return
        complete = data[: data.rfind(b"\n") + 1]  # a line still being written waits
        self.offset += len(complete)
        for line in complete.splitlines():
            if b'"failpoint"' not in line:
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if rec.get("type") == "failpoint":
                self._hits.append((FailpointHit.from_json(rec), rec))


@dataclass
class Ledger:
    """A parsed ledger, optionally restricted to instance ids starting with ``prefix``."""

    effects: list[Effect]
    invocations: list[Invocation]
    torn: int = 0
    failpoints: list[FailpointHit] = field(default_factory=list)
    # (workflow id, activity, task_execution_id, pid) → invocations that returned or raised
    ended: Counter[tuple[str, str, str, int]] = field(default_factory=Counter)
    # effect records dropped as repeats of an application already recorded
    rerecorded: int = 0
    # (workflow id, activity, task_execution_id, pid) → when its invocations ended
    # (epoch seconds, in ledger order), for what was in flight when
    end_times: dict[tuple[str, str, str, int], list[float]] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path, *, prefix: str = "") -> Ledger:
        effects: list[Effect] = []
        invocations: list[Invocation] = []
        failpoints: list[FailpointHit] = []
        ended: Counter[tuple[str, str, str, int]] = Counter()
        end_times: dict[tuple[str, str, str, int], list[float]] = {}
        seen: set[tuple[str, str, str]] = set()
        rerecorded = 0
        torn = 0
        if not path.exists():
            return cls([], [], 0)
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                try:
                    rec = json.loads(line)
                except ValueError:
                    torn += 1
                    continue
                if not _matches(rec, prefix):
                    continue
                kind = rec.get("type")
                if kind == Effect.TYPE:
                    effect = Effect.from_json(rec)
                    if effect.application is not None:
                        identity = (effect.kind, effect.subject, effect.application)
                        if identity in seen:
                            rerecorded += 1  # the same application, recorded again
                            continue
                        seen.add(identity)
                    effects.append(effect)
                elif kind == Invocation.TYPE:
                    invocations.append(Invocation.from_json(rec))
                elif kind == InvocationEnd.TYPE:
                    end = InvocationEnd.from_json(rec)
                    ended[end.call] += 1
                    end_times.setdefault(end.call, []).append(end.ts)
                elif kind == FailpointHit.TYPE:
                    failpoints.append(FailpointHit.from_json(rec))
        return cls(effects, invocations, torn, failpoints, ended, rerecorded, end_times)

    def effect_counts(self) -> Counter[tuple[str, str]]:
        """How many times each (kind, subject) was applied."""
        return Counter((e.kind, e.subject) for e in self.effects)

    def reexecutions(self) -> Counter[tuple[str, str]]:
        """(workflow id, activity) → extra executions of the same scheduled call."""
        per_call = Counter(
            (i.workflow_id, i.activity, i.task_execution_id) for i in self.invocations
        )
        extra: Counter[tuple[str, str]] = Counter()
        for (wf, activity, _texec), n in per_call.items():
            if n > 1:
                extra[(wf, activity)] += n - 1
        return extra

    def unfinished(self) -> list[Invocation]:
        """Invocations with no end record: the process died inside the activity, so their
        effects may or may not have happened (Jepsen's "info")."""
        budget = Counter(self.ended)
        open_calls = []
        for inv in self.invocations:
            key = (inv.workflow_id, inv.activity, inv.task_execution_id, inv.pid)
            if budget[key] > 0:
                budget[key] -= 1
            else:
                open_calls.append(inv)
        return open_calls

    def intervals(self) -> list[tuple[Invocation, float | None]]:
        """Each invocation with the time it ended (epoch seconds), or None when it never
        did: its process died inside it, and it was in flight until then (the ledger
        cannot say exactly when)."""
        pending = {key: sorted(times) for key, times in self.end_times.items()}
        spans: list[tuple[Invocation, float | None]] = []
        for inv in sorted(self.invocations, key=lambda i: i.ts):
            key = (inv.workflow_id, inv.activity, inv.task_execution_id, inv.pid)
            times = pending.get(key) or []
            # The first end at or after its start that no earlier invocation claimed.
            end = next((t for t in times if t >= inv.ts), None)
            if end is not None:
                times.remove(end)
            spans.append((inv, end))
        return spans

    def fired(self, name: str | None = None) -> list[FailpointHit]:
        """Failpoint hits whose action ran (of ``name``, or all)."""
        return [f for f in self.failpoints if f.fired and (name is None or f.name == name)]
