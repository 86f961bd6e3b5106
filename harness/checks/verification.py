"""The outcome of running checks over one history."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from harness.checks.conservation import conservation_of
from harness.checks.exactly_once import exactly_once
from harness.checks.nothing_lost import completed, nothing_lost
from harness.checks.replay import replay
from harness.checks.result import CheckResult, Verdict
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
}
# replay needs the app's workflow code (Chaos(workflows=...)): asked for by name.
DEFAULT_CHECKS = ("exactly-once", "nothing-lost", "completed", "conservation", "worker-health")


@dataclass
class Verification:
    results: list[CheckResult]
    history: History

    @property
    def verdict(self) -> Verdict:
        verdicts = {r.verdict for r in self.results}
        if Verdict.FAIL in verdicts:
            return Verdict.FAIL
        return Verdict.UNKNOWN if Verdict.UNKNOWN in verdicts else Verdict.PASS

    @property
    def passed(self) -> bool:
        return self.verdict is Verdict.PASS

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


def run_checks(history: History, names: Sequence[str] = DEFAULT_CHECKS) -> Verification:
    unknown = [n for n in names if n not in CHECKS]
    if unknown:
        from harness.errors import ConfigError

        raise ConfigError(f"unknown check(s) {unknown}; choose from {', '.join(CHECKS)}")
    return Verification([CHECKS[name](history) for name in names], history)
