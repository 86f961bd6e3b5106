"""Throughput over time under load: per-second buckets, the baseline before the first
fault, the dip, and the time until throughput is back.

Pure functions over seconds relative to the load's start (bucket ``t`` holds what
happened in ``[t, t+1)``), so they are unit-tested without a stack. Resolution: 1 s.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# Throughput counts as recovered once a rolling mean over this many seconds is back to
# this fraction of the baseline.
RECOVERY_WINDOW_S = 3
RECOVERY_FRACTION = 0.9

NO_FAULT = "no-fault"
RECOVERED = "recovered"
NOT_RECOVERED = "not-recovered"  # healed during the load, never back before it ended
OUTLASTED = "fault-outlasted-load"  # a fault was still active when the load ended
NO_BASELINE = "no-baseline"  # the first fault came before any steady second


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0..100) by linear interpolation; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Second:
    """One second of the load: workflows completed in it, the p50/p99 end-to-end latency
    (ms) of those, and failed HTTP requests."""

    t: int
    completions: int
    p50_ms: float | None
    p99_ms: float | None
    http_errors: int


def per_second(
    completions: Sequence[tuple[float, float]], errors: Sequence[float], seconds: int
) -> list[Second]:
    """Bucket ``(t, latency_ms)`` completions and error times ``t`` (seconds since the
    load began) into ``seconds`` buckets; anything outside ``[0, seconds)`` is dropped."""
    latencies: list[list[float]] = [[] for _ in range(seconds)]
    failed = [0] * seconds
    for t, latency in completions:
        if 0 <= t < seconds:
            latencies[int(t)].append(latency)
    for t in errors:
        if 0 <= t < seconds:
            failed[int(t)] += 1
    return [
        Second(i, len(lat), percentile(lat, 50), percentile(lat, 99), failed[i])
        for i, lat in enumerate(latencies)
    ]


@dataclass(frozen=True)
class Window:
    """A fault, active from ``start`` to ``end`` seconds since the load began (end None:
    still active when the load ended)."""

    kind: str
    target: str
    start: float
    end: float | None
    detail: str = ""


@dataclass(frozen=True)
class Recovery:
    """``baseline_wps``: mean workflows/s over the steady seconds before the first fault
    (after ramp-up), or over the whole steady load without faults. ``dip_wps``: the
    lowest one-second throughput from the first fault until recovery (or the end).
    ``recovery_s``: from the end of the last fault until the first
    ``RECOVERY_WINDOW_S``-second window whose mean is >= ``RECOVERY_FRACTION`` x baseline;
    None unless ``status`` is ``recovered``."""

    status: str
    baseline_wps: float | None
    dip_wps: float | None = None
    recovery_s: float | None = None
    note: str = ""

    @property
    def dip_ratio(self) -> float | None:
        if self.dip_wps is None or not self.baseline_wps:
            return None
        return self.dip_wps / self.baseline_wps


def _mean(values: Sequence[int]) -> float:
    return sum(values) / len(values)


def recovery_of(series: Sequence[Second], windows: Sequence[Window], ramp_s: int) -> Recovery:
    """Baseline, dip and recovery of ``series`` around fault ``windows``. The first
    ``ramp_s`` seconds (users still spawning) are not part of the baseline."""
    counts = [s.completions for s in series]
    n = len(counts)
    if not windows:
        steady = counts[ramp_s:] or counts
        return Recovery(NO_FAULT, _mean(steady) if steady else None)
    first = min(w.start for w in windows)
    before = counts[min(ramp_s, max(0, math.floor(first))) : max(0, math.floor(first))]
    if not before:
        return Recovery(NO_BASELINE, None, note=f"the first fault came {first:.1f}s into the load")
    baseline = _mean(before)
    ends = [w.end for w in windows]
    if any(e is None for e in ends) or max(e for e in ends if e is not None) >= n:
        dip = min(counts[math.floor(first) :], default=None)
        return Recovery(
            OUTLASTED, baseline, dip, note="a fault was still active when the load ended"
        )
    healed = max(e for e in ends if e is not None)
    start = math.floor(first)
    for k in range(math.floor(healed), n - RECOVERY_WINDOW_S + 1):
        if _mean(counts[k : k + RECOVERY_WINDOW_S]) >= RECOVERY_FRACTION * baseline:
            dip = min(counts[start : max(k, start + 1)])
            return Recovery(RECOVERED, baseline, dip, max(0.0, k - healed))
    dip = min(counts[start:])
    return Recovery(
        NOT_RECOVERED,
        baseline,
        dip,
        note=(
            f"throughput stayed below {RECOVERY_FRACTION:.0%} of the baseline for the "
            f"{n - healed:.1f}s between the end of the last fault and the end of the load"
        ),
    )


@dataclass(frozen=True)
class Latency:
    """End-to-end workflow latency percentiles in milliseconds (None: nothing finished)."""

    p50: float | None
    p95: float | None
    p99: float | None
    mean: float | None = None
    max: float | None = None

    @classmethod
    def of(cls, values: Sequence[float]) -> Latency:
        if not values:
            return cls(None, None, None)
        return cls(
            percentile(values, 50),
            percentile(values, 95),
            percentile(values, 99),
            sum(values) / len(values),
            max(values),
        )


@dataclass(frozen=True)
class Dip:
    """The lowest one-second throughput during or after the faults, and its ratio to
    the baseline."""

    wps: float
    ratio: float | None
