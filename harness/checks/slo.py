"""Service-level objectives over a load run: minimum throughput, maximum p99 latency,
maximum recovery time. Each objective set gives one CheckResult whose evidence states
the measured value against the required one; a failed objective fails the scenario.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from harness.checks.result import CheckResult, Verdict
from harness.errors import ConfigError
from harness.record.series import Latency


class LoadMeasure(Protocol):
    """What the objectives are judged on (a :class:`~harness.LoadResult` is one):
    completed workflows/s over ``duration_s`` seconds, end-to-end latency percentiles in
    ms, and the recovery (``recovery_s`` seconds, or why none: ``recovery``, ``notes``)."""

    @property
    def workflows_per_s(self) -> float: ...
    @property
    def completed(self) -> int: ...
    @property
    def duration_s(self) -> float: ...
    @property
    def latency_ms(self) -> Latency: ...
    @property
    def recovery_s(self) -> float | None: ...
    @property
    def recovery(self) -> str: ...
    @property
    def baseline_wps(self) -> float | None: ...
    @property
    def notes(self) -> list[str]: ...
    @property
    def upstream_s(self) -> float: ...
    @property
    def recovery_total_s(self) -> float | None: ...
    @property
    def recovery_total(self) -> str: ...


@dataclass(frozen=True)
class SLO:
    """``min_throughput`` completed workflows per second over the whole load;
    ``max_p99_ms`` end-to-end workflow latency in milliseconds; ``max_recovery_s``
    seconds from the end of the last fault until throughput is back to 90% of the
    baseline. None: not checked."""

    min_throughput: float | None = None
    max_p99_ms: float | None = None
    max_recovery_s: float | None = None

    def __post_init__(self) -> None:
        for name in ("min_throughput", "max_p99_ms", "max_recovery_s"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"SLO {name} must be a number, got {value!r}")
            if not math.isfinite(value) or value < 0:
                raise ConfigError(f"SLO {name} must be a finite number >= 0, got {value}")


def _throughput(result: LoadMeasure, required: float) -> CheckResult:
    measured = result.workflows_per_s
    ok = measured >= required
    return CheckResult(
        "slo-throughput",
        Verdict.PASS if ok else Verdict.FAIL,
        f"{measured:.1f} workflows/s {'>=' if ok else '<'} {required:g} required",
        [
            f"measured {measured:.2f} workflows/s ({result.completed} completed in "
            f"{result.duration_s:g}s), required >= {required:g}"
        ],
    )


def _p99(result: LoadMeasure, required: float) -> CheckResult:
    measured = result.latency_ms.p99
    if measured is None:
        return CheckResult(
            "slo-p99-latency",
            Verdict.FAIL,
            "no workflow completed, so there is no latency to meet the objective",
            [f"measured: no completed workflow, required p99 <= {required:g} ms"],
        )
    ok = measured <= required
    return CheckResult(
        "slo-p99-latency",
        Verdict.PASS if ok else Verdict.FAIL,
        f"p99 {measured:.0f} ms {'<=' if ok else '>'} {required:g} ms required",
        [f"measured p99 {measured:.1f} ms end to end, required <= {required:g} ms"],
    )


def _recovery(result: LoadMeasure, required: float) -> CheckResult:
    """The app's own recovery time against ``required`` seconds. Time the runtime was
    unavailable because of a recognised upstream defect is reported apart: a recovery
    that meets the objective once that time is set aside is KNOWN_UPSTREAM, not FAIL."""
    name = "slo-recovery"
    measured = result.recovery_s
    upstream = result.upstream_s
    baseline = f"90% of the {result.baseline_wps or 0:.1f}/s baseline"
    if result.recovery == "no-fault":
        # Nothing was broken, so nothing can be said about recovering: not a pass.
        return CheckResult(
            name,
            Verdict.UNKNOWN,
            "no fault during the load, so no recovery time to compare",
            [f"measured: no fault, required recovery <= {required:g}s"],
        )
    if result.recovery == "no-baseline":
        return CheckResult(
            name,
            Verdict.UNKNOWN,
            "no steady second before the first fault: no baseline to recover to",
            [f"measured: {'; '.join(result.notes) or 'no baseline'}, required <= {required:g}s"],
        )
    if not upstream:
        if measured is not None:
            ok = measured <= required
            return CheckResult(
                name,
                Verdict.PASS if ok else Verdict.FAIL,
                f"recovered in {measured:.1f}s {'<=' if ok else '>'} {required:g}s required",
                [
                    f"measured {measured:.1f}s from the end of the last fault until throughput "
                    f"was back to {baseline}, required <= {required:g}s"
                ],
            )
        why = "; ".join(result.notes) or result.recovery
        return CheckResult(
            name,
            Verdict.FAIL,
            f"throughput never recovered during the load ({result.recovery})",
            [f"measured: not recovered ({why}), required recovery <= {required:g}s"],
        )
    total = result.recovery_total_s
    apart = (
        f"the runtime was unavailable {upstream:.1f}s because of a known upstream defect "
        "(Dapr's workflow actor types left unregistered when the worker reconnected; "
        "recognised by daprd's 'not registered' errors and connectedWorkers 0)"
    )
    if total is not None and total <= required:
        return CheckResult(
            name,
            Verdict.PASS,
            f"recovered in {total:.1f}s <= {required:g}s required, known upstream time included",
            [f"measured {total:.1f}s from the end of the last fault; {apart}"],
        )
    if measured is not None and measured > required:
        return CheckResult(
            name,
            Verdict.FAIL,
            f"the app recovered in {measured:.1f}s > {required:g}s even after the runtime "
            "came back",
            [f"measured {measured:.1f}s after the runtime came back, to {baseline}; {apart}"],
        )
    own = (
        f"the app's own recovery after that: {measured:.1f}s <= {required:g}s"
        if measured is not None
        else "too little of the load was left after it to judge the app's own recovery"
    )
    return CheckResult(
        name,
        Verdict.KNOWN_UPSTREAM,
        f"{apart.split(' (')[0]}; {own}",
        [f"{apart}; {own}; measured from the end of the last fault: {result.recovery_total}"],
    )


def check_slos(result: LoadMeasure, slo: SLO) -> list[CheckResult]:
    """One CheckResult per objective set in ``slo``, in the order throughput, p99,
    recovery."""
    checks = []
    if slo.min_throughput is not None:
        checks.append(_throughput(result, slo.min_throughput))
    if slo.max_p99_ms is not None:
        checks.append(_p99(result, slo.max_p99_ms))
    if slo.max_recovery_s is not None:
        checks.append(_recovery(result, slo.max_recovery_s))
    return checks
