"""What a run exercised, and the ``coverage`` check that says what it did not.

A run proves things only about the work it did: a compensation path no order took, a
fault that hit no activity in flight, an activity that never ran. :func:`coverage_of`
reads them from a history (the ledger's invocations and effects, the final statuses,
the timeline's fault windows); :func:`coverage` turns every gap into a VACUOUS verdict
with the reason, never a pass. Times are epoch seconds.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from harness.checks.result import CheckResult, Verdict
from harness.record.history import History
from harness.record.timeline import FaultWindow

# The reference order app's paths: what an order did, read from its effects.
APPROVED = "approved"
REJECTED = "rejected at the check"
REFUNDED = "charged, then refunded"
ORDER_PATHS = (APPROVED, REJECTED, REFUNDED)
OTHER = "other"  # not terminal, failed, or an end the paths above do not name

# Windows the harness opens for its own work (recovering from a known upstream race,
# the time the runtime was unavailable because of it) are not faults of the run.
_HARNESS_WINDOWS = ("upstream",)


@dataclass(frozen=True)
class FaultOverlap:
    """One fault window and the work in flight while it was active: ``instances`` in the
    middle of their run (past their first activity's start, before their last one's
    end), and ``executions`` of activities running (by ``activities`` name)."""

    fault: str
    kind: str
    target: str
    start: float
    end: float | None
    executions: int
    instances: int
    activities: dict[str, int] = field(default_factory=dict)

    @property
    def hit_work(self) -> bool:
        return self.instances > 0 or self.executions > 0


@dataclass(frozen=True)
class Coverage:
    """``executions``: activity → executions (re-executions included); ``reexecuted``:
    activity → executions beyond the first of a scheduled call; ``paths``: path →
    instances that took it (``expected_paths``: the paths the app has, when known);
    ``failpoints``: name → {"hits", "fired"}; ``faults``: each fault's overlap with work."""

    executions: dict[str, int]
    reexecuted: dict[str, int]
    paths: dict[str, int]
    expected_paths: tuple[str, ...]
    failpoints: dict[str, dict[str, int]]
    faults: list[FaultOverlap]
    instances: int

    def missed(self) -> list[str]:
        """Why a check may have had nothing to judge, one line per gap."""
        gaps = []
        if not self.instances:
            gaps.append("no instance ran: nothing was exercised")
        for path in self.expected_paths:
            if not self.paths.get(path):
                gaps.append(f"no instance took the path {path!r}")
        for overlap in self.faults:
            if not overlap.hit_work:
                gaps.append(f"{overlap.fault}: no instance was in flight while it was active")
        return gaps

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["missed"] = self.missed()
        return data


def order_path(history: History, instance_id: str, kinds: set[str]) -> str:
    """The path order ``instance_id`` took, from its effects' kinds and its status."""
    status = history.statuses.get(instance_id)
    if "payment.refunded" in kinds and "payment.charged" in kinds:
        return REFUNDED
    if {"payment.charged", "stock.reserved", "customer.notified"} <= kinds:
        return APPROVED
    rejected = status is not None and status.terminal and history.order_api.is_rejected(status)
    if "payment.charged" not in kinds and rejected:
        return REJECTED
    return OTHER


def _paths(history: History) -> dict[str, int]:
    kinds: dict[str, set[str]] = defaultdict(set)
    for effect in history.ledger.effects:
        kinds[effect.workflow_id or effect.subject].add(effect.kind)
    taken: Counter[str] = Counter()
    for instance_id, status in history.existing.items():
        if history.kind == "orders":
            taken[order_path(history, instance_id, kinds[instance_id])] += 1
        else:
            taken[status.runtime_status.lower() if status.terminal else "not terminal"] += 1
    return dict(taken)


def _in_flight(history: History) -> list[Flight]:
    """(instance id, activity, start, end) of every execution. One that never ended ran
    until the next execution of the same activity of its instance (its redelivery), or,
    with none, until the end of the run."""
    spans = history.ledger.intervals()
    later: dict[tuple[str, str], list[float]] = defaultdict(list)
    for inv, _end in spans:
        later[(inv.workflow_id, inv.activity)].append(inv.ts)
    flights = []
    for inv, end in spans:
        if end is None:
            after = [t for t in later[(inv.workflow_id, inv.activity)] if t > inv.ts]
            end = min(after) if after else math.inf
        flights.append((inv.workflow_id, inv.activity, inv.ts, end))
    return flights


Flight = tuple[str, str, float, float]  # instance id, activity, start, end


def instance_spans(history: History, flights: Iterable[Flight]) -> dict[str, tuple[float, float]]:
    """Each existing instance's run: from when its start was first sent (or, not known,
    its first activity's start) to its last activity's end (none yet: the end of the
    run; it was in flight all along)."""
    runs: dict[str, tuple[float, float]] = {}
    for instance, _activity, start, stop in flights:
        first, last = runs.get(instance, (start, stop))
        runs[instance] = (min(first, start), max(last, stop))
    spans = {}
    for instance in history.existing:
        sent = history.attempts[instance].at if instance in history.attempts else None
        first, last = runs.get(instance, (sent if sent is not None else math.inf, math.inf))
        spans[instance] = (min(first, sent) if sent is not None else first, last)
    return spans


def overlap_of(
    window: FaultWindow,
    flights: Iterable[Flight],
    spans: Mapping[str, tuple[float, float]] | None = None,
) -> FaultOverlap:
    """The work in flight during ``window`` (an open window counts as active until now):
    activity executions from ``flights``, instances mid-run from ``spans`` (default:
    from the flights alone)."""
    end = window.end if window.end is not None else math.inf
    flights = list(flights)
    # A restart or a soft restart is one instant: what ran across it counts.
    hit = [(i, a) for i, a, s, e in flights if s <= end and e >= window.start]
    if spans is None:
        runs: dict[str, tuple[float, float]] = {}
        for instance, _activity, start, stop in flights:
            first, last = runs.get(instance, (start, stop))
            runs[instance] = (min(first, start), max(last, stop))
        spans = runs
    mid_run = [i for i, (s, e) in spans.items() if s <= end and e >= window.start]
    return FaultOverlap(
        fault=window.describe(),
        kind=window.kind,
        target=window.target,
        start=window.start,
        end=window.end,
        executions=len(hit),
        instances=len(mid_run),
        activities=dict(Counter(a for _, a in hit)),
    )


def coverage_of(history: History) -> Coverage:
    """What ``history``'s run exercised."""
    ledger = history.ledger
    executions = Counter(inv.activity for inv in ledger.invocations)
    reexecuted: Counter[str] = Counter()
    for (_wf, activity), extra in ledger.reexecutions().items():
        reexecuted[activity] += extra
    failpoints: dict[str, dict[str, int]] = {}
    for hit in ledger.failpoints:
        entry = failpoints.setdefault(hit.name, {"hits": 0, "fired": 0})
        entry["hits"] += 1
        entry["fired"] += int(hit.fired)
    flights = _in_flight(history)
    spans = instance_spans(history, flights)
    faults = [
        overlap_of(w, flights, spans)
        for w in history.timeline.windows
        if w.kind not in _HARNESS_WINDOWS and not w.detail.startswith("heal")
    ]
    return Coverage(
        executions=dict(executions),
        reexecuted=dict(reexecuted),
        paths=_paths(history),
        expected_paths=ORDER_PATHS if history.kind == "orders" else (),
        failpoints=failpoints,
        faults=faults,
        instances=len(history.existing),
    )


def coverage(history: History) -> CheckResult:
    """PASS when the run took every path the app has and every fault overlapped work in
    flight; VACUOUS with each gap otherwise (a gap is not a failure of the app, but what
    the other checks said about it is unproven)."""
    cov = coverage_of(history)
    gaps = cov.missed()
    runs = sum(cov.executions.values())
    paths = ", ".join(f"{n} {p}" for p, n in sorted(cov.paths.items())) or "no instance"
    hit = sum(1 for f in cov.faults if f.hit_work)
    summary = (
        f"{runs} activity execution(s); paths: {paths}; "
        f"{hit} of {len(cov.faults)} fault(s) hit work in flight"
    )
    if gaps:
        return CheckResult("coverage", Verdict.VACUOUS, f"{summary}; missed: {gaps[0]}", gaps)
    return CheckResult("coverage", Verdict.PASS, summary)


def merge(coverages: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """A whole run's coverage from its scenarios' (``Coverage.to_dict()`` each): counts
    added up, the paths no scenario took, the faults that hit no work anywhere."""
    total: dict[str, Counter[str]] = {
        "executions": Counter(),
        "reexecuted": Counter(),
        "paths": Counter(),
    }
    failpoints: dict[str, Counter[str]] = defaultdict(Counter)
    expected: set[str] = set()
    faults = hit = instances = 0
    for cov in coverages:
        for key, counter in total.items():
            counter.update(cov.get(key) or {})
        for name, counts in (cov.get("failpoints") or {}).items():
            failpoints[name].update(counts)
        expected.update(cov.get("expected_paths") or ())
        faults += len(cov.get("faults") or [])
        hit += sum(1 for f in cov.get("faults") or [] if f.get("instances") or f.get("executions"))
        instances += int(cov.get("instances") or 0)
    return {
        **{key: dict(counter) for key, counter in total.items()},
        "failpoints": {name: dict(c) for name, c in failpoints.items()},
        "missed_paths": sorted(p for p in expected if not total["paths"].get(p)),
        "faults": faults,
        "faults_hitting_work": hit,
        "instances": instances,
    }
