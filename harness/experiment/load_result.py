"""What one load run measured: throughput, latency, failures, the per-second series, the
fault windows, baseline / dip / recovery, and the post-load verification.

Times are seconds since the load began (the first Locust user started), latencies
milliseconds, throughputs per second.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from harness.checks.verification import Verification
from harness.record.series import (
    NO_FAULT,
    Dip,
    Latency,
    Recovery,
    Second,
    Window,
    per_second,
    recovery_of,
)
from harness.record.timeline import FaultWindow
from harness.stack.supervisor import RACE_HEAL
from harness.workload.load_config import LoadProfile
from harness.workload.operations import Operations


@dataclass
class LoadResult:
    """One load run. ``recovery`` says how ``recovery_s`` came out: ``no-fault``,
    ``recovered``, ``not-recovered`` (healed, never back to 90% before the load ended),
    ``fault-outlasted-load`` or ``no-baseline``; ``recovery_s`` is None unless
    ``recovered``. ``final_statuses`` counts the accepted orders by their state after the
    load (``NOT TERMINAL`` for any still running: see ``unaccounted``)."""

    profile: LoadProfile
    prefix: str
    duration_s: float
    submitted: int
    accepted_ids: list[str]
    refused: dict[str, str]
    uncertain: dict[str, str]
    completed: int
    workflows_per_s: float
    requests_per_s: float
    latency_ms: Latency
    failures: dict[str, int]
    series: list[Second]
    fault_windows: list[Window]
    baseline_wps: float | None
    dip: Dip | None
    recovery_s: float | None
    recovery: str
    final_statuses: dict[str, int] = field(default_factory=dict)
    unaccounted: list[str] = field(default_factory=list)
    verification: Verification | None = None
    http: dict[str, dict[str, float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    started_at: float = 0.0  # epoch seconds of t = 0 in ``series`` and ``fault_windows``
    # Seconds the runtime was unavailable because of a recognised upstream defect, and the
    # recovery measured from the end of the last fault of the run itself (``recovery_s``
    # is the app's own: from the end of the last fault or upstream unavailability).
    upstream_s: float = 0.0
    recovery_total_s: float | None = None
    recovery_total: str = ""

    @property
    def passed(self) -> bool:
        """At least one start was accepted, every accepted one ended terminal, and the
        verification (if any) passed."""
        if not self.accepted_ids:
            return False  # nothing was accepted: the load proved nothing
        return not self.unaccounted and (self.verification is None or self.verification.passed)

    def summary(self) -> str:
        """Readable lines: the numbers a user asks for first."""
        lat = self.latency_ms

        def ms(value: float | None) -> str:
            return "-" if value is None else f"{value:.0f} ms"

        lines = [
            f"load: {self.profile.users} users for {self.duration_s:g}s"
            + (f" on {self.profile.workers} Locust workers" if self.profile.workers else ""),
            f"  workflows completed  {self.completed} ({self.workflows_per_s:.1f}/s)",
            f"  HTTP requests        {self.requests_per_s:.1f}/s",
            f"  end-to-end latency   p50 {ms(lat.p50)}, p95 {ms(lat.p95)}, p99 {ms(lat.p99)}",
            f"  orders               {self.submitted} submitted, {len(self.accepted_ids)} "
            f"accepted, {len(self.refused)} refused, {len(self.uncertain)} without answer",
            "  after the load       "
            + ", ".join(f"{n} {s}" for s, n in sorted(self.final_statuses.items())),
        ]
        if self.failures:
            lines.append(
                "  failures             "
                + ", ".join(
                    f"{n}x {kind}" for kind, n in sorted(self.failures.items(), key=lambda x: -x[1])
                )
            )
        if self.fault_windows:
            lines.append(
                "  faults               "
                + "; ".join(
                    f"{w.kind} {w.target} {w.start:.1f}s-"
                    + ("end" if w.end is None else f"{w.end:.1f}s")
                    for w in self.fault_windows
                )
            )
            base = "-" if self.baseline_wps is None else f"{self.baseline_wps:.1f}/s"
            dip = "-" if self.dip is None else f"{self.dip.wps:.0f}/s"
            if self.dip is not None and self.dip.ratio is not None:
                dip += f" ({self.dip.ratio:.0%} of baseline)"
            rec = f"{self.recovery_s:.1f}s" if self.recovery_s is not None else self.recovery
            lines.append(f"  baseline {base}, dip {dip}, recovery {rec}")
            if self.upstream_s:
                lines.append(
                    f"  runtime unavailable {self.upstream_s:.1f}s because of a known upstream "
                    "defect (not counted as the app's recovery)"
                )
        lines += [f"  note: {n}" for n in self.notes]
        if self.verification is not None:
            lines.append(self.verification.report())
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able data: every field; the verification as verdict + checks."""
        verification = None
        if self.verification is not None:
            verification = {
                "verdict": self.verification.verdict.value,
                "checks": [
                    {
                        "name": r.name,
                        "verdict": r.verdict.value,
                        "summary": r.summary,
                        "evidence": r.evidence,
                    }
                    for r in self.verification.results
                ],
            }
        return {
            "profile": asdict(self.profile),
            "prefix": self.prefix,
            "duration_s": self.duration_s,
            "submitted": self.submitted,
            "accepted": len(self.accepted_ids),
            "accepted_ids": list(self.accepted_ids),
            "refused": dict(self.refused),
            "uncertain": dict(self.uncertain),
            "completed": self.completed,
            "workflows_per_s": self.workflows_per_s,
            "requests_per_s": self.requests_per_s,
            "latency_ms": asdict(self.latency_ms),
            "failures": dict(self.failures),
            "series": [asdict(s) for s in self.series],
            "fault_windows": [asdict(w) for w in self.fault_windows],
            "baseline_wps": self.baseline_wps,
            "dip": None if self.dip is None else asdict(self.dip),
            "recovery_s": self.recovery_s,
            "recovery": self.recovery,
            "final_statuses": dict(self.final_statuses),
            "unaccounted": list(self.unaccounted),
            "verification": verification,
            "http": self.http,
            "notes": list(self.notes),
            "started_at": self.started_at,
            "upstream_s": self.upstream_s,
            "recovery_total_s": self.recovery_total_s,
            "recovery_total": self.recovery_total,
        }


def failures_by_kind(ops: Operations) -> dict[str, int]:
    """HTTP failures by request and kind, and workflows that did not complete."""
    kinds: Counter[str] = Counter(f"{request} {kind}" for _, request, kind in ops.http_errors)
    for done in ops.done.values():
        if done.status != "COMPLETED":
            kinds[f"workflow {done.status}"] += 1
    if ops.gave_up:
        kinds["workflow not terminal in time (user moved on)"] += len(ops.gave_up)
    return dict(kinds)


def http_rows(stats: Sequence[dict[str, Any]], duration_s: float) -> dict[str, dict[str, float]]:
    """Locust's rows by ``"METHOD name"``: requests, failures, requests/s, mean ms."""
    rows = {}
    for entry in stats:
        n = int(entry.get("num_requests", 0))
        rows[f"{entry['method']} {entry['name']}"] = {
            "requests": n,
            "failures": int(entry.get("num_failures", 0)),
            "per_s": n / duration_s,
            "mean_ms": float(entry.get("total_response_time", 0.0)) / n if n else 0.0,
        }
    return rows


def relative_windows(windows: Sequence[FaultWindow], t0: float, since: float) -> list[Window]:
    """Fault windows opened at or after ``since`` (wall clock), in seconds since ``t0``."""
    return [
        Window(w.kind, w.target, w.start - t0, None if w.end is None else w.end - t0, w.detail)
        for w in windows
        if w.start >= since
    ]


def analyse(
    ops: Operations,
    profile: LoadProfile,
    t0: float,
    windows: list[Window],
) -> tuple[list[Second], Recovery, list[float]]:
    """The per-second series, baseline/dip/recovery, and the latencies (ms) of workflows
    that completed during the load."""
    seconds = math.ceil(profile.duration)
    done = [(c.t - t0, c.latency_ms) for c in ops.done.values() if c.status == "COMPLETED"]
    done = [(t, lat) for t, lat in done if 0 <= t < seconds]
    errors = [t - t0 for t, _, _ in ops.http_errors]
    series = per_second(done, errors, seconds)
    # Faults after the load's end do not shape its throughput.
    during = [w for w in windows if w.start < seconds]
    return series, recovery_of(series, during, profile.ramp_s), [lat for _, lat in done]


UPSTREAM = "upstream"  # a timeline window's kind: the runtime unavailable, a Dapr defect


def is_upstream(window: Window) -> bool:
    """Whether ``window`` is time the runtime was unavailable because of a recognised
    upstream defect (or the harness's recovery from one), not a fault of the run."""
    return window.kind == UPSTREAM or window.detail.startswith(RACE_HEAL)


def upstream_seconds(windows: Sequence[Window], duration_s: float) -> float:
    """Seconds of the load (0..``duration_s``) inside upstream windows (overlaps merged)."""
    spans = sorted(
        (max(0.0, w.start), min(duration_s, w.end if w.end is not None else duration_s))
        for w in windows
        if is_upstream(w)
    )
    total, reach = 0.0, 0.0
    for start, end in spans:
        start = max(start, reach)
        if end > start:
            total += end - start
            reach = end
    return total


def recovery_fields(rec: Recovery) -> tuple[Dip | None, float | None, str]:
    dip = None if rec.dip_wps is None else Dip(rec.dip_wps, rec.dip_ratio)
    return dip, rec.recovery_s, rec.status if rec.status else NO_FAULT
