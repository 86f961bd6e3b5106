"""The result every check returns: a verdict and the evidence behind it."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Verdict(enum.Enum):
    """The one vocabulary of verdicts: of a check, a scenario run, an explore example.

    A check says PASS, FAIL, UNKNOWN (the history cannot tell, e.g. an outcome lost in
    a crash) or VACUOUS (it had nothing to judge: no instance took the path it guards, the
    app records no effects; the summary says why). A scenario also says ERROR (the
    harness could not carry it out: a fault that hit nothing, a stack that would not
    start). An explore example also says SKIPPED (past the shrink budget, not run); a
    FAIL there is a violation.
    """

    PASS = "pass"
    FAIL = "fail"
    UNKNOWN = "unknown"
    VACUOUS = "vacuous"
    ERROR = "error"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class CheckResult:
    """``evidence`` lists one line per finding (an order, an effect, a count)."""

    name: str
    verdict: Verdict
    summary: str
    evidence: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.verdict is Verdict.PASS

    def __str__(self) -> str:
        lines = [f"{self.name}: {self.verdict.value.upper()}: {self.summary}"]
        lines += [f"  - {line}" for line in self.evidence[:20]]
        if len(self.evidence) > 20:
            lines.append(f"  ... and {len(self.evidence) - 20} more")
        return "\n".join(lines)
