"""The outcome of running checks over one history."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from harness.checks.activities import activities
from harness.checks.conservation import conservation_of
from harness.checks.coverage import coverage
from harness.checks.differential import same_as_fault_free
from harness.checks.durable import events_delivered, timers_fired
from harness.checks.exactly_once import exactly_once
from harness.checks.nothing_lost import completed, nothing_lost
from harness.checks.output import output
from harness.checks.replay import replay
from harness.checks.result import CheckResult, Verdict, combine
from harness.checks.rollout import paths, stalled, stalls_resumed
from harness.checks.worker_health import worker_health
from harness.record.history import History

Check = Callable[[History], CheckResult]

CHECKS: dict[str, Check] = {
    "exactly-once": exactly_once,
    "nothing-lost": nothing_lost,
    "completed": completed,
    "conservation": conservation_of,
    "worker-health": worker_health,
    "replay": replay,
    "output": output,
    "same-as-fault-free": same_as_fault_free,
    "activities": activities,
    "coverage": coverage,
    "stalled": stalled,
    "stalls-resumed": stalls_resumed,
    "paths": paths,
    "events-delivered": events_delivered,
    "timers-fired": timers_fired,
}
# The checks a verification runs when none are named, by the kind of workload: the order
# API (conservation is the order app's own) and any workflow. replay (it needs the app's
# workflow code), output (an expectation) and same-as-fault-free (a baseline) are asked
# for by name.
# coverage comes last: what the run exercised, so a gap shows beside the verdicts it
# leaves unproven.
DEFAULT_CHECKS = (
    "exactly-once",
    "nothing-lost",
    "completed",
    "conservation",
    "worker-health",
    "coverage",
)
WORKFLOW_CHECKS = (
    "nothing-lost",
    "completed",
    "activities",
    "exactly-once",
    "worker-health",
    "coverage",
)


def default_checks(kind: str) -> tuple[str, ...]:
    """The default checks of a workload kind ("orders" or "workflows")."""
    return DEFAULT_CHECKS if kind == "orders" else WORKFLOW_CHECKS


@dataclass
class Verification:
    results: list[CheckResult]
    history: History

    @property
    def verdict(self) -> Verdict:
        """The checks' verdicts combined (:func:`~harness.checks.result.combine`); a run
        in which no instance exists at all is VACUOUS, never a pass: it proves nothing."""
        verdict = combine(r.verdict for r in self.results)
        nothing = not self.history.accepted and not self.history.existing
        if nothing and verdict in (Verdict.PASS, Verdict.KNOWN_UPSTREAM):
            return Verdict.VACUOUS
        return verdict

    @property
    def passed(self) -> bool:
        """PASS, or KNOWN_UPSTREAM (only a recognised Dapr defect failed: not the app)."""
        return self.verdict in (Verdict.PASS, Verdict.KNOWN_UPSTREAM)

    def result(self, name: str) -> CheckResult:
        for r in self.results:
            if r.name == name:
                return r
        raise KeyError(f"no check {name!r} ran; ran: {[r.name for r in self.results]}")

    def report(self) -> str:
        """Readable lines: the verdict, each check with its evidence, and the faults."""
        lines = [f"verification {self.verdict.value.upper()}"]
        lines += [str(r) for r in self.results]
        if self.history.timeline.windows:
            lines.append("faults:")
            lines += [f"  - {w.describe()}" for w in self.history.timeline.windows]
        fired = self.history.ledger.fired()
        if fired:
            lines.append("failpoints fired:")
            lines += [f"  - {f.name} ({f.action}, hit {f.hit}) in {f.workflow_id}" for f in fired]
        return "\n".join(lines)


def run_checks(history: History, names: Sequence[str] | None = None) -> Verification:
    """Run the named checks (default: those of the history's kind of workload)."""
    names = default_checks(history.kind) if names is None else names
    unknown = [n for n in names if n not in CHECKS]
    if unknown:
        from harness.errors import ConfigError

        raise ConfigError(f"unknown check(s) {unknown}; choose from {', '.join(CHECKS)}")
    return Verification([CHECKS[name](history) for name in names], history)
