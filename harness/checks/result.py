"""The result every check returns: a verdict and the evidence behind it."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field


class Verdict(enum.Enum):
    """The one vocabulary of verdicts: of a check, a scenario run, an explore example.

    A check says PASS, FAIL, UNKNOWN (the history cannot tell, e.g. an outcome lost in
    a crash) or VACUOUS (it had nothing to judge: no instance took the path it guards, the
    app records no effects; the summary says why). A scenario also says ERROR (the
    harness could not carry it out: a fault that hit nothing, a stack that would not
    start). An explore example also says SKIPPED (past the shrink budget, not run); a
    FAIL there is a violation. KNOWN_UPSTREAM: the only failing evidence matches a
    recognised defect of Dapr itself, by its signature (not the app's fault; reported
    apart, with the evidence).
    """

    PASS = "pass"
    FAIL = "fail"
    UNKNOWN = "unknown"
    VACUOUS = "vacuous"
    KNOWN_UPSTREAM = "known-upstream"
    ERROR = "error"
    SKIPPED = "skipped"


# Strongest first: the verdict of several is the first of these that any of them has;
# VACUOUS only when every one had nothing to judge.
_PRECEDENCE = (
    Verdict.ERROR,
    Verdict.FAIL,
    Verdict.UNKNOWN,
    Verdict.KNOWN_UPSTREAM,
    Verdict.PASS,
    Verdict.SKIPPED,
    Verdict.VACUOUS,
)


def combine(verdicts: Iterable[Verdict]) -> Verdict:
    """The verdict of several results: ERROR, then FAIL, then UNKNOWN, then
    KNOWN_UPSTREAM win; then PASS (a vacuous result among passing ones is shown, not
    counted); VACUOUS when nothing was judged (no result at all included)."""
    present = set(verdicts)
    for verdict in _PRECEDENCE:
        if verdict in present:
            return verdict
    return Verdict.VACUOUS


@dataclass(frozen=True)
class CheckResult:
    """``evidence`` lists one line per finding (an order, an effect, a count)."""

    name: str
    verdict: Verdict
    summary: str
    evidence: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """PASS, or a recognised upstream defect only (not the app's failure)."""
        return self.verdict in (Verdict.PASS, Verdict.KNOWN_UPSTREAM)

    def __str__(self) -> str:
        lines = [f"{self.name}: {self.verdict.value.upper()}: {self.summary}"]
        lines += [f"  - {line}" for line in self.evidence[:20]]
        if len(self.evidence) > 20:
            lines.append(f"  ... and {len(self.evidence) - 20} more")
        return "\n".join(lines)
